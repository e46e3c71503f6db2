"""Lab 1's failure: the default pool runs dry while PostgreSQL idles, then PostgreSQL runs out of slots.

Both are driven by signups, whose connection stays checked out while the welcome email is sent.
"""

from __future__ import annotations

import collections
import re
import threading
import time
import uuid

import psycopg2
import pytest

from scalelab import faults
from scalelab.clients import closed_loop, signup_sender

pytestmark = pytest.mark.wall


def sample_connections(settings, stop: threading.Event, samples: list[collections.Counter]) -> None:
    """Every second: the app's connections to PostgreSQL, by state (what pg_stat_activity shows an operator)."""
    conn = psycopg2.connect(settings.postgres_url("postgres"))
    conn.autocommit = True
    try:
        while not stop.wait(1.0):
            with conn.cursor() as cur:
                cur.execute("SELECT state, count(*) FROM pg_stat_activity WHERE usename = 'chirp' GROUP BY state")
                samples.append(collections.Counter(dict(cur.fetchall())))
    finally:
        conn.close()


def test_the_default_pool_times_out_while_postgres_idles(lab_settings, no_faults, app_logs):
    # A provider that takes 20 s per email (an incident on their side). Per worker process, 15
    # signups hold all 15 connections for 20 s each, and the other 17 of its 32 threads queue for
    # them: 15 get a connection after one round (20 s), the last 2 only after two rounds (40 s),
    # which is past the pool's 30 s timeout, so they fail with the pool's error.
    faults.set_fault("smtp_latency_ms", 20_000)
    stop, samples = threading.Event(), []
    sampler = threading.Thread(target=sample_connections, args=(lab_settings, stop, samples))
    sampler.start()
    try:
        outcomes = closed_loop(signup_sender(lab_settings.app_url, uuid.uuid4().hex[:8]), clients=160, seconds=35)
    finally:
        faults.clear()
        stop.set()
        sampler.join()
    statuses = collections.Counter(o.status for o in outcomes)
    assert statuses[500] > 0, statuses
    log = app_logs()
    assert "QueuePool limit of size 5 overflow 10 reached" in log
    # PostgreSQL was not the bottleneck: while the pool ran dry, the app's connections sat
    # "idle in transaction" (waiting for the email), and hardly any ran a query.
    busiest = max(samples, key=lambda counts: sum(counts.values()))
    assert busiest["idle in transaction"] >= 40, samples
    assert busiest["active"] <= 5, samples


def test_more_workers_exhaust_postgres_connections(lab_settings, no_faults, app_logs, apps_started_with):
    # "More workers will handle more users": 2 instances x 8 workers x (5 + 10) = 240 possible
    # connections, against max_connections. Not every worker fills its pool (the kernel hands new
    # connections to whichever worker accepts first, so some take most of them), hence 8 workers:
    # with 6, the peak measured 94 of the 97 slots, a coin toss. Signups with a 5 s email keep
    # each connection busy long enough for the pools to fill up.
    max_connections = int(lab_settings["POSTGRES_MAX_CONNECTIONS"])
    assert 2 * 8 * 15 > max_connections
    stop, samples = threading.Event(), []
    with apps_started_with(WEB_CONCURRENCY="8"):
        faults.set_fault("smtp_latency_ms", 5_000)
        sampler = threading.Thread(target=sample_connections, args=(lab_settings, stop, samples))
        sampler.start()
        try:
            outcomes = closed_loop(signup_sender(lab_settings.app_url, uuid.uuid4().hex[:8]), clients=400, seconds=15)
        finally:
            faults.clear()
            stop.set()
            sampler.join()
        log = app_logs()
    statuses = collections.Counter(o.status for o in outcomes)
    assert statuses[500] > 0, statuses
    # PostgreSQL keeps its last superuser_reserved_connections (3) for administrators, so an app
    # usually meets that limit first; "sorry, too many clients already" is the same wall when the
    # reserve is gone too.
    assert re.search(r"sorry, too many clients already|remaining connection slots are reserved", log)
    peak = max(sum(counts.values()) for counts in samples)
    assert peak >= 0.9 * (max_connections - 3), (peak, samples)
