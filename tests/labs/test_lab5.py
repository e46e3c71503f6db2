"""Lab 5's reference fix, the feed cache, on the real stack: what it stores in Redis and for how long,
that a cached feed is the same feed PostgreSQL gives, that the HTML page renders from it, and that
the feed still answers when Redis is down.

The check failing on the broken app and passing after `scalelab solve 5` is tested by
tests/labs/test_checks_fail_then_pass.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
import redis
import requests

from scalelab import stack
from scalelab.course import catalogue
from scalelab.course.checks.lab5 import FEED_QUERY
from scalelab.kit import pg
from scalelab.paths import REPO

LAB = catalogue.find("5")  # the lab the `solved` fixture (conftest.py) solves
FEED_TTL_S = 2  # solutions/05-wall/broken_app/posts.py (not importable: it is not the module that runs)


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
