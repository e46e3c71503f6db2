"""The incident drill on the real stack with Labs 1-4 solved: every cause it can hide moves its signal in
Prometheus (the PromQL a notebook shows, from scalelab.course.drill), and stopping the drill hands back a
healthy stack.

Each cause's test drives the same light traffic twice (logged-in readers for eight seconds, plus a few
signups where the cause is about email), once before the fault and once with it, and compares the
signal over each. The thresholds are ratios or wide margins: two other stacks may share these two cores.
"""

from __future__ import annotations

import math
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from scalelab import stack
from scalelab.course import catalogue, drill
from scalelab.kit import faults, pg, prom
from scalelab.kit.clients import closed_loop, log_in, route_reader, seeded_credentials, signup_sender

LAB = catalogue.find("4")  # the lab the `solved` fixture (conftest.py) solves: the drill needs Labs 1-4
READERS, SIGNUP_CLIENTS, SIGNUP_PACE_S = 6, 2, 0.5  # light: each signup hashes a password (CPU)
ROUTES = ("/api/timeline", "/api/me", "/api/feed")
LOAD_S = 8
# Signups only where they show the cause: without Redis a signup hangs for some 20 s queueing its email,
# which would triple that test's time and tell nothing more than the readers' errors.
SIGNUPS_FOR = {"smtp-outage"}
EXPORTER_CONNECTIONS = 2  # postgres_exporter's own, counted in pg_stat_activity_count for datname chirp
SEEDS = {cause: next(seed for seed in range(100) if drill.cause_for(seed) == cause) for cause in drill.CAUSES}


@pytest.fixture(scope="module")
def cookies(solved):
    """Session cookies of READERS seeded users (sessions live in Redis, so they outlive app restarts)."""
    with ThreadPoolExecutor(max_workers=READERS) as pool:
        return list(pool.map(lambda pair: log_in(solved.app_url, *pair), seeded_credentials(READERS)))


@pytest.fixture
def no_drill(solved):
    drill.stop(solved)
    yield solved
    drill.stop(solved)  # a failed test leaves no fault behind


def traffic(url: str, cookies: list[dict], signups: bool) -> None:
    """LOAD_S seconds of readers cycling through ROUTES, and signups (each queues a welcome email)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        if signups:
            sign_up = signup_sender(url, f"drill-{uuid.uuid4().hex[:8]}")
            signing_up = pool.submit(closed_loop, sign_up, SIGNUP_CLIENTS, LOAD_S, SIGNUP_PACE_S)
        closed_loop(route_reader(url, ROUTES, cookies), READERS, LOAD_S)
        if signups:
            signing_up.result()


def after_next_scrape(since: float) -> None:
    """Wait until Prometheus has scraped every target after `since` (unix seconds)."""
    deadline = time.time() + 20
    while prom.query("min(timestamp(up))").value.iloc[0] <= since:
        assert time.time() < deadline, "Prometheus scraped nothing for 20 s: `scalelab status`"
        time.sleep(0.5)


def traffic_window(url: str, cookies: list[dict], signups: bool) -> str:
    """LOAD_S of traffic, then the first scrape after it: the PromQL range that covers them."""
    started = time.time()
    traffic(url, cookies, signups)
    after_next_scrape(time.time())
    return f"{math.ceil(time.time() - started)}s"


def signal(cause: str, window: str) -> float:
    query = drill.signal_query(cause, window)
    result = prom.query(query)
    assert len(result) == 1, f"{cause}: `{query}` returned {len(result)} series"
    print(f"{cause}: {query} = {result.value.iloc[0]:.3g}")
    return result.value.iloc[0]


@pytest.fixture(scope="module")
def healthy_signals(solved, cookies) -> dict[str, float]:
    """Every cause's signal on the healthy stack, from one window of traffic with signups: each cause's
    `stop` puts the stack back as it was, so one healthy window serves them all."""
    drill.stop(solved)
    window = traffic_window(solved.app_url, cookies, signups=True)
    return {cause: signal(cause, window) for cause in drill.CAUSES}


# Why each threshold: the fault makes the signal a different kind of number, not a slightly other one.
MOVED = {
    # 500 ms in PostgreSQL on every timeline query: its p95 goes past 0.5 s, from tens of milliseconds.
    "slow-query": lambda before, after: after >= 0.45 and after >= 2 * before,
    # Every email job is refused with 451 and retried: from no retry at all to several.
    "smtp-outage": lambda before, after: before < 1 and after >= 2,
    # Every logged-in request fails to read its session: from no error to dozens.
    "redis-down": lambda before, after: before < 1 and after >= 5,
    # app2 is stopped: the lowest `up` of job chirp goes from 1 to 0.
    "app-instance-dead": lambda before, after: before == 1 and after == 0,
    # One request in ten keeps its connection: the pools, mostly free before, end (nearly) all lent out.
    "connection-leak": lambda before, after: before <= 0.5 and after >= 0.75,
    # PgBouncer's pool of 1: the connections to Chirp's database fall to the exporter's own and one, from
    # the several server connections PgBouncer had opened for the same traffic before.
    "pgbouncer-pool-small": lambda before, after: after <= EXPORTER_CONNECTIONS + 1 and before >= EXPORTER_CONNECTIONS + 3,
}


@pytest.mark.parametrize("cause", list(drill.CAUSES))
def test_each_cause_moves_its_signal_and_stop_restores_the_stack(healthy_signals, no_drill, cookies, cause, record_property):
    settings = no_drill
    before = healthy_signals[cause]
    drill.start(seed=SEEDS[cause], settings=settings)
    after = signal(cause, traffic_window(settings.app_url, cookies, signups=cause in SIGNUPS_FOR))
    record_property("signal", {"before": before, "after": after})
    assert MOVED[cause](before, after), f"{cause}: {drill.signal_query(cause)} went from {before} to {after}"

    assert drill.stop(settings) == cause
    assert not drill.status().running
    unhealthy = [name for name, info in stack.current(settings).status().items() if not info["healthy"]]
    assert not unhealthy, f"after stop, {unhealthy} are not healthy"
    assert all(not value for value in faults.current().values()), faults.current()
    pool_size = pg.pgbouncer("CONFIG", settings).set_index("key").loc["default_pool_size", "value"]
    assert int(pool_size) == settings.int("PGBOUNCER_POOL_SIZE")
    for route in ROUTES:
        assert requests.get(f"{settings.app_url}{route}", cookies=cookies[0], timeout=10).status_code == 200, route


def test_a_wrong_answer_counts_and_the_right_one_ends_the_drill(no_drill):
    drill.start(seed=SEEDS["smtp-outage"], settings=no_drill)
    wrong = drill.answer("redis-down", no_drill)
    assert not wrong.correct and wrong.attempts == 1
    assert drill.status().running and drill.status().wrong_answers == 1
    right = drill.answer("smtp-outage", no_drill)
    assert right.correct and right.attempts == 2 and right.seconds > 0
    assert not drill.status().running
    assert faults.current()["smtp_failure_rate"] == 0
    assert drill.stop(no_drill) is None


def test_a_second_start_is_refused_and_keeps_the_first_drill(no_drill):
    drill.start(seed=SEEDS["smtp-outage"], settings=no_drill)
    with pytest.raises(drill.DrillRunning, match="a drill is running"):
        drill.start(seed=SEEDS["slow-query"], settings=no_drill)
    assert faults.current()["db_latency_ms"] == 0  # the second fault did not go in
    assert drill.stop(no_drill) == "smtp-outage"
