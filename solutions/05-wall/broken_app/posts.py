"""Posts: publishing them, and the lists of posts that Chirp shows. Fixed in Lab 5 (the wall).

The global feed is cached in Redis (cache-aside): the first request after the entry expires runs
the query and stores the API's answer, its bytes, for FEED_TTL_S seconds; every other reader in that
time, on any worker of any instance, gets those bytes from Redis as they are, without touching
PostgreSQL or turning JSON into objects and back. At launch day one query then serves hundreds of
readers.

The invalidation story, honestly:
- An entry simply expires. A new post appears in the global feed at most FEED_TTL_S later. That is
  the price, and a feed that is seconds old is one no reader notices.
- Publishing does not delete the entry. At launch-day rates (many posts a second) every post would
  empty the cache again and nearly every reader would miss. The author still sees their post at
  once: their home timeline is not cached (read-your-writes where someone is looking for it).
- When the entry expires, the few requests that miss at the same moment each run the query: a
  handful of queries every FEED_TTL_S, not thousands, so no lock against a stampede.
- If Redis fails, the feed is read from PostgreSQL as before: a cache speeds things up, it must
  never take the feed down with it.
Entries are keyed by the limit (chirp:feed:<limit>), since the API lets a client ask for 1 to 100.
"""

import json
import logging
import threading
from datetime import datetime

import redis
from flask import current_app
from sqlalchemy import RowMapping, text

from .db import get_db

# Long enough that one query serves hundreds of readers at launch day, short enough that nobody
# waits noticeably for a new post to show in the global feed.
FEED_TTL_S = 2
FEED_KEY_PREFIX = "chirp:feed:"

log = logging.getLogger(__name__)
_redis: redis.Redis | None = None
_redis_lock = threading.Lock()

# Every list of posts carries the author's name along.
SELECT_POSTS = (
    "SELECT p.id, p.author_id, u.name AS author_name, p.body, p.created_at"
    " FROM posts p JOIN users u ON u.id = p.author_id"
)


def publish(author_id: int, body: str) -> int:
    db = get_db()
    post_id = db.scalar(
        text("INSERT INTO posts (author_id, body) VALUES (:author_id, :body) RETURNING id"),
        {"author_id": author_id, "body": body},
    )
    db.commit()
    return post_id


def global_feed_json(limit: int) -> bytes:
    """GET /api/feed's answer, from the cache when an entry is there (see the top). The entry holds the
    answer's bytes, served as they are: a hit costs one GET and no JSON work at all."""
    key = f"{FEED_KEY_PREFIX}{limit}"
    try:
        cached = _cache().get(key)
    except redis.RedisError as exc:
        log.warning("feed cache unavailable, reading PostgreSQL: %s", exc)
        return _global_feed_json_from_db(limit)
    if cached is not None:
        return cached
    answer = _global_feed_json_from_db(limit)
    try:
        _cache().set(key, answer, ex=FEED_TTL_S)
    except redis.RedisError as exc:
        log.warning("feed cache unavailable, not stored: %s", exc)
    return answer


def global_feed(limit: int) -> list[dict]:
    """The latest posts of everybody, for the HTML page: read back from the cached answer."""
    return [
        {**post, "created_at": datetime.fromisoformat(post["created_at"])}
        for post in json.loads(global_feed_json(limit))["posts"]
    ]


def _global_feed_json_from_db(limit: int) -> bytes:
    """An index scan of posts_created_at_idx, as the API sends it."""
    feed = _posts(f"{SELECT_POSTS} ORDER BY p.created_at DESC LIMIT :limit", limit=limit)
    return json.dumps({"posts": [as_json(post) for post in feed]}).encode()


def _cache() -> redis.Redis:
    """This process's Redis client (its own pool of connections), made on first use."""
    global _redis
    with _redis_lock:
        if _redis is None:
            # A cache that answers slowly is worse than none: give up quickly and read PostgreSQL.
            _redis = redis.Redis.from_url(current_app.config["REDIS_URL"], socket_timeout=0.5, socket_connect_timeout=0.5)
        return _redis


def home_timeline(user_id: int, limit: int) -> list[RowMapping]:
    """The latest posts of the people the user follows, and the user's own.

    Written as IN (... UNION ALL ...) rather than "author_id = :user_id OR author_id IN (...)",
    so that PostgreSQL reads each author's latest posts from posts_author_id_created_at_idx
    instead of walking the whole feed index.
    """
    return _posts(
        f"{SELECT_POSTS} WHERE p.author_id IN"
        " (SELECT followee_id FROM follows WHERE follower_id = :user_id UNION ALL SELECT :user_id)"
        " ORDER BY p.created_at DESC LIMIT :limit",
        user_id=user_id,
        limit=limit,
    )


def by_author(author_id: int, limit: int | None = None) -> list[RowMapping]:
    """The author's latest posts; all of them when limit is None (LIMIT NULL is no limit)."""
    return _posts(
        f"{SELECT_POSTS} WHERE p.author_id = :author_id ORDER BY p.created_at DESC LIMIT :limit",
        author_id=author_id,
        limit=limit,
    )


def as_json(post) -> dict:
    """A post as the JSON API shows it."""
    return {
        "id": post["id"],
        "author_id": post["author_id"],
        "author_name": post["author_name"],
        "body": post["body"],
        "created_at": post["created_at"].isoformat(),
    }


def _posts(sql: str, **params) -> list[RowMapping]:
    return list(get_db().execute(text(sql), params).mappings())
