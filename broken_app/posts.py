"""Posts: publishing them, and the lists of posts that Chirp shows.

Fragile on purpose (Lab 5, the wall): every request for the global feed runs its query in
PostgreSQL, although every reader asks for the same latest posts. At launch day that is thousands
of identical queries a minute, and each one also costs the app a connection, a round trip and the
work of turning rows into objects: past Labs 1 to 4, this is what the CPU spends its time on.
A feed that is two seconds old is one no reader notices; Lab 5 caches it.
"""

import json

from sqlalchemy import RowMapping, text

from .db import get_db

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


def global_feed(limit: int) -> list[RowMapping]:
    """The latest posts of everybody: an index scan of posts_created_at_idx."""
    return _posts(f"{SELECT_POSTS} ORDER BY p.created_at DESC LIMIT :limit", limit=limit)


def global_feed_json(limit: int) -> bytes:
    """GET /api/feed's answer, as sent: {"posts": [...]}."""
    return json.dumps({"posts": [as_json(post) for post in global_feed(limit)]}).encode()


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
