"""Lab 5's reference fix, the feed cache, on the real stack: what it stores in Redis and for how long,
that a cached feed is the same feed PostgreSQL gives, that the HTML page renders from it, and that
the feed still answers when Redis is down.

The check failing on the broken app and passing after `scalelab solve 5` is tested by
tests/labs/test_checks_fail_then_pass.py; its Redis steps failing on a half fix, at the end of this file.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import pytest
import redis
import requests

from scalelab import stack
from scalelab.course import catalogue
from scalelab.course.checks import lab5
from scalelab.course.checks.lab5 import FEED_QUERY
from scalelab.kit import pg
from scalelab.paths import REPO

LAB = catalogue.find("5")  # the lab the `solved` fixture (conftest.py) solves
FEED_TTL_S = 2  # solutions/05-wall/broken_app/posts.py (not importable: it is not the module that runs)
POSTS_PY = "broken_app/posts.py"
def test_check_5_on_the_untouched_app_fails_with_reasons_not_a_traceback(broken):
    """Before the `solved` fixture below applies Labs 1 to 5: sessions still in memory (Lab 2), so the
    check's own post may be a 401, and every feed read still queries PostgreSQL."""
    result = subprocess.run(
        [sys.executable, "-m", "scalelab", "check", "5", "--json"], cwd=REPO, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 1, result.stdout + result.stderr
    reasons = json.loads(result.stdout)["reasons"]
    assert any("global feed's query" in reason for reason in reasons), reasons


@pytest.fixture
def cache(solved):
    client = redis.Redis.from_url(f"redis://{solved.address('redis')}/0")
    client.delete(*client.keys("chirp:feed:*") or ["none"])
    return client


def feed(settings, limit: int, path: str = "/api/feed") -> requests.Response:
    response = requests.get(f"{settings.app_url}{path}?limit={limit}", timeout=30)
    assert response.status_code == 200, response.text[:300]
    return response


def test_a_feed_read_stores_one_entry_per_limit_that_expires(solved, cache):
    feed(solved, 7)
    feed(solved, 8)
    assert sorted(key.decode() for key in cache.keys("chirp:feed:*")) == ["chirp:feed:7", "chirp:feed:8"]
    assert 0 < cache.pttl("chirp:feed:7") <= FEED_TTL_S * 1000
    time.sleep(FEED_TTL_S + 0.5)
    assert cache.keys("chirp:feed:*") == []


def test_a_cached_feed_is_the_feed_postgresql_gives_and_costs_no_query(solved, cache):
    from_db = feed(solved, 20).json()
    calls = pg.statement_calls(FEED_QUERY, solved)
    from_cache = [feed(solved, 20).json() for _ in range(10)]
    # Ten reads take well under the entry's 2 s here; on a slow laptop the entry may expire once
    # meanwhile, and one query then refills it. Without a cache it would be ten.
    assert pg.statement_calls(FEED_QUERY, solved) - calls <= 1
    assert all(body == from_db for body in from_cache)
    assert len(from_db["posts"]) == 20


def test_the_feed_page_renders_from_the_cache(solved, cache):
    pages = [requests.get(f"{solved.app_url}/feed", timeout=30) for _ in range(2)]
    assert [page.status_code for page in pages] == [200, 200]
    assert pages[0].text.count("<time") == pages[1].text.count("<time") > 0
    assert cache.keys("chirp:feed:*")


def test_the_feed_answers_from_postgresql_while_redis_is_down(solved, cache):
    """A cache speeds the feed up; it must not take it down (the public feed needs no session)."""
    expected = feed(solved, 20).json()
    stack.current(solved).kill("redis")
    try:
        calls = pg.statement_calls(FEED_QUERY, solved)
        started = time.monotonic()
        assert feed(solved, 20).json() == expected
        # The client gives up on Redis after 0.5 s (socket_connect_timeout): a slow feed, not a dead one.
        assert time.monotonic() - started < 5
        assert pg.statement_calls(FEED_QUERY, solved) == calls + 1
    finally:
        stack.current(solved).restart(["redis"])


# --- check 5's own steps, each shown to fail on a half fix of posts.py, Labs 1 to 4 solved ------------

# A learner's cache in each process's memory: it passes check 5's query count and freshness, four
# processes each missing once per entry, but no other process can read it.
PROCESS_CACHE = """
class _ProcessCache:
    def __init__(self):
        self.entries = {}

    def get(self, key):
        value, expires = self.entries.get(key, (None, 0.0))
        return value if time.monotonic() < expires else None

    def set(self, key, value, ex):
        self.entries[key] = (value, time.monotonic() + ex)


_PROCESS_CACHE = _ProcessCache()


def _cache():
    return _PROCESS_CACHE


"""


def fixed_posts() -> str:
    return (LAB.solution_dir / POSTS_PY).read_text()


@pytest.mark.wall
def test_a_cache_in_each_process_fails_check_5(half_fixed):
    in_process = re.sub(r"def _cache\(\).*?(?=def home_timeline)", PROCESS_CACHE, fixed_posts(), flags=re.S)
    assert "_ProcessCache()" in in_process
    with half_fixed({POSTS_PY: ("import time\n" + in_process).encode()}) as settings:
        measurements: dict = {}
        reasons: list[str] = []
        lab5._entry_in_redis(settings, measurements, reasons)
    assert measurements["feed_entry_ttl_ms"] == -2, measurements
    assert len(reasons) == 1 and POSTS_PY in reasons[0] and "no entry" in reasons[0], reasons


@pytest.mark.wall
def test_a_cache_that_fails_with_redis_fails_check_5(half_fixed):
    fallback = """    try:
        cached = _cache().get(key)
    except redis.RedisError as exc:
        log.warning("feed cache unavailable, reading PostgreSQL: %s", exc)
        return _global_feed_json_from_db(limit)
"""
    assert fallback in fixed_posts()
    with half_fixed({POSTS_PY: fixed_posts().replace(fallback, "    cached = _cache().get(key)\n").encode()}) as settings:
        measurements: dict = {}
        reasons: list[str] = []
        lab5._feed_without_redis(settings, measurements, reasons)
    assert 200 not in measurements["feed_without_redis"]["statuses"], measurements
    assert len(reasons) == 1 and POSTS_PY in reasons[0] and "Redis down" in reasons[0], reasons
