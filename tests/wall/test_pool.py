"""Lab 1's failure: the default pool runs dry while PostgreSQL idles, then PostgreSQL runs out of slots.

Both are driven by signups, whose connection stays checked out while the welcome email is sent.
"""

from __future__ import annotations

import collections
import re
import uuid

import pytest

from scalelab.kit import faults
from scalelab.kit.clients import closed_loop, signup_sender
from scalelab.kit.pg import ConnectionSampler

pytestmark = pytest.mark.wall


def slow_signup_wave(settings, email_ms: int, clients: int, seconds: float):
    """Signups while the email provider takes email_ms per message; Chirp's PostgreSQL connections
    are sampled meanwhile. Returns the HTTP statuses and the sampler."""
    sampler = ConnectionSampler(settings, interval_s=1.0)
    faults.set_fault("smtp_latency_ms", email_ms)
    try:
        with sampler.running():
            outcomes = closed_loop(signup_sender(settings.app_url, uuid.uuid4().hex[:8]), clients, seconds)
    finally:
        faults.clear()
    return collections.Counter(o.status for o in outcomes), sampler


def test_the_default_pool_times_out_while_postgres_idles(lab_settings, no_faults, app_logs):
    # A provider that takes 20 s per email (an incident on their side), and one burst of signups
    # (each client signs up once: its signup outlasts the wave's second). Per worker process, 15
    # signups hold all 15 connections for 20 s each, and the other 17 of its 32 threads queue for
    # them: 15 get a connection after one round (20 s), the last 2 only after two rounds (40 s),
    # which is past the pool's 30 s timeout, so they fail with the pool's error. (A 35 s wave of
    # repeated signups showed the same and took two minutes.)
    statuses, sampler = slow_signup_wave(lab_settings, email_ms=20_000, clients=160, seconds=1)
    assert statuses[500] > 0, statuses
    assert "QueuePool limit of size 5 overflow 10 reached" in app_logs()
    # PostgreSQL was not the bottleneck: while the pool ran dry, the app's connections sat
    # "idle in transaction" (waiting for the email), and hardly any ran a query.
    busiest = max(sampler.samples, key=lambda sample: sample.server_connections).by_state
    assert busiest.get("idle in transaction", 0) >= 40, sampler.samples
    assert busiest.get("active", 0) <= 5, sampler.samples


def test_more_workers_exhaust_postgres_connections(lab_settings, no_faults, app_logs, apps_started_with):
    # "More workers will handle more users": 2 instances x 8 workers x (5 + 10) = 240 possible
    # connections, against max_connections. Not every worker fills its pool (the kernel hands new
    # connections to whichever worker accepts first, so some take most of them), hence 8 workers:
    # with 6, the peak measured 94 of the 97 slots, a coin toss. Signups with a 5 s email keep
    # each connection busy long enough for the pools to fill up.
    max_connections = int(lab_settings["POSTGRES_MAX_CONNECTIONS"])
    assert 2 * 8 * 15 > max_connections
    with apps_started_with(WEB_CONCURRENCY="8"):
        statuses, sampler = slow_signup_wave(lab_settings, email_ms=5_000, clients=400, seconds=15)
        log = app_logs()
    assert statuses[500] > 0, statuses
    # PostgreSQL keeps its last superuser_reserved_connections (3) for administrators, so an app
    # usually meets that limit first; "sorry, too many clients already" is the same wall when the
    # reserve is gone too.
    assert re.search(r"sorry, too many clients already|remaining connection slots are reserved", log)
    assert sampler.peak_server_connections >= 0.9 * (max_connections - 3), sampler.samples
