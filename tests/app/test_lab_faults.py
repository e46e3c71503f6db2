"""The lab's fault switch inside Chirp: `db_latency_ms` makes matching queries slow in PostgreSQL."""

from __future__ import annotations

import time

import psycopg2
import pytest
import requests

from scalelab.kit import faults


@pytest.fixture
def no_faults(running_stack):
    faults.clear()
    yield
    faults.clear()


def feed_seconds(url: str) -> float:
    started = time.perf_counter()
    assert requests.get(f"{url}/api/feed?limit=5", timeout=30).status_code == 200
    return time.perf_counter() - started


def test_db_latency_slows_matching_queries_in_postgres(lab_settings, no_faults):
    url = lab_settings.app_url
    assert feed_seconds(url) < 0.4
    faults.set_fault("db_latency_ms", 600)
    faults.set_fault("db_latency_match", "FROM posts")
    time.sleep(1.2)  # each process rereads the switches at most once a second
    assert feed_seconds(url) >= 0.6
    assert feed_seconds(url) >= 0.6
    # The sleep runs in PostgreSQL: an operator sees it in pg_stat_statements.
    conn = psycopg2.connect(lab_settings.postgres_url("chirp"))
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT calls FROM pg_stat_statements WHERE query LIKE 'SELECT pg_sleep(%' LIMIT 1")
            assert cur.fetchone() is not None
    finally:
        conn.close()
    # A query that does not match stays fast (healthz runs SELECT 1).
    started = time.perf_counter()
    assert requests.get(f"{url}/healthz", timeout=30).status_code == 200
    assert time.perf_counter() - started < 0.4
    assert faults.clear()["db_latency_ms"] == 0


def test_unknown_fault_and_bad_value_are_one_line_errors(running_stack):
    with pytest.raises(Exception, match="unknown fault 'nope': choose one of smtp_latency_ms"):
        faults.set_fault("nope", 1)
    with pytest.raises(Exception, match="db_latency_ms takes a whole number"):
        faults.set_fault("db_latency_ms", "fast")
