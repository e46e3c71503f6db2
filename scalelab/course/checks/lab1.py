"""Lab 1's check: Chirp reaches PostgreSQL only through PgBouncer, holds no connection across slow work,
refuses what it cannot serve at once, and survives a PgBouncer restart. Each of the README's fixes has
its own measurement, so a half fix fails, naming the module still broken.

About 40 s on 2 cores. Under Docker, whose backend cannot restart a service yet, step 3 is not
tried and the check says so:

1. Under load (20 s): 40 clients reading the feed and 10 signing up, each sending its next request as
   soon as the last one answers, with the email provider at 2 s a message (a slow provider). Sessions
   are not involved, so Lab 2's failure cannot spoil this check. Chirp's backends in PostgreSQL are
   sampled twice a second from pg_stat_activity, and matched against PgBouncer's SHOW SERVERS.
   Passing means:
   - no backend of Chirp's that PgBouncer did not open (the app uses CHIRP_PGBOUNCER_URL: db.py);
   - never more of Chirp's backends than PgBouncer's pool (SCALELAB_PGBOUNCER_POOL_SIZE);
   - no backend idle in transaction after a signup's INSERT for HELD_BOUND_S or more. A signup that
     holds its connection across the email shows there for the email's whole 2 s; one that commits
     and gives the connection back first (auth.py) shows for milliseconds. 1 s is half the email;
   - no pool timeouts (503) and under 1% errors of any kind;
   - feed p95 under 2,000 ms. Closed-loop clients keep the CPU busy on purpose, so latency is about
     clients / throughput: 50 / ~160 requests/s = 0.3 s on average, 0.5-1 s at p95, measured on a
     2-core laptop that also ran the load generator and other stacks. 2 s leaves room for a slower
     machine, and is still far below the 30 s a request can wait in the broken app's pool.
2. Overload (about 10 s): the profile page's statistics query is made 3 s slow in PostgreSQL (the
   db_latency_ms fault), and BURST profile pages are asked of app1 at once, straight to it: more than
   its 2 workers' pools can serve. Passing means at least one request is refused with 503 and
   Retry-After within REFUSED_WITHIN_S. The fix's pool refuses after its 2 s pool_timeout; the
   default pool makes them wait up to 30 s, and a pool as big as the threads queues them in PgBouncer,
   so neither refuses anything. 5 s is the 2 s timeout with room for a busy laptop.
3. PgBouncer restarted (a deploy or a crash: about 3 s), once RESTART_PROBES profile pages, 8 at a
   time, made every worker's pool hold connections: those are now dead. Then the same requests
   again. Passing means no 5xx: with
   pool_pre_ping (db.py) a dead connection is replaced before it is lent; without it, the first
   requests of each worker fail.
"""

from __future__ import annotations

import collections
import time
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import requests

from scalelab.course.checks import CheckResult
from scalelab.kit import faults
from scalelab.kit.clients import percentile, signup_wave
from scalelab.kit.pg import ConnectionSampler
from scalelab.stack import current

READERS, SIGNUPS, SECONDS = 40, 10, 20
SMTP_LATENCY_MS = 2000
HELD_BOUND_S = SMTP_LATENCY_MS / 1000 / 2
SIGNUP_INSERT = "INSERT INTO users"
P95_BOUND_MS = 2000
MAX_ERROR_RATE = 0.01
# The overload: a profile page whose statistics query sleeps in PostgreSQL first (the feed may be
# served from Lab 5's cache, and would then need no connection at all).
PROFILE = "/users/1"
STATS_QUERY = "AS followers"  # broken_app/users.py's stats(): only the profile page runs it
SLOW_QUERY_MS = 3000
BURST = 48  # app1's 2 workers x 32 threads take them all at once; a pool of 8 per worker cannot
REFUSED_WITHIN_S = 5.0
RESTART_PROBES, PROBES_AT_ONCE = 32, 8
TIMEOUT_S = 60


def run(settings) -> CheckResult:
    measurements: dict = {}
    reasons: list[str] = []
    reasons += under_load(settings, measurements)
    reasons += overload(settings, measurements)
    reasons += after_pgbouncer_restart(settings, measurements)
    return CheckResult(not reasons, measurements, reasons)


def under_load(settings, measurements: dict, seconds: float = SECONDS) -> list[str]:
    pool_size = int(settings["PGBOUNCER_POOL_SIZE"])
    sampler = ConnectionSampler(settings)
    sampler.sample()  # PostgreSQL and PgBouncer answer, or StackNotRunning now rather than later
    faults.set_fault("smtp_latency_ms", SMTP_LATENCY_MS)
    try:
        with sampler.running():
            wave = signup_wave(settings.app_url, SIGNUPS, READERS, seconds)
    finally:
        faults.set_fault("smtp_latency_ms", 0)

    outcomes = wave.reads + wave.signups
    statuses = collections.Counter(o.status for o in outcomes)
    failed = [o for o in outcomes if o.status >= 500 or o.status == 0]
    feed_p95_ms = percentile([o.seconds for o in wave.reads], 95) * 1000
    held_s = sampler.longest_held(SIGNUP_INSERT)
    measurements.update({
        "requests": len(outcomes),
        "failed": len(failed),
        "error_rate": round(len(failed) / len(outcomes), 4),
        "pool_timeouts_503": statuses[503],
        "feed_p95_ms": round(feed_p95_ms),
        "peak_server_connections": sampler.peak_server_connections,
        "peak_direct_connections": sampler.peak_direct,
        "pgbouncer_pool_size": pool_size,
        "held_after_signup_insert_s": round(held_s, 2),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
    })
    reasons = []
    if sampler.peak_direct:
        reasons.append(
            f"the app opened up to {sampler.peak_direct} connections straight to PostgreSQL: "
            "point the engine at PgBouncer (CHIRP_PGBOUNCER_URL) in broken_app/db.py"
        )
    if sampler.peak_server_connections > pool_size:
        reasons.append(
            f"PostgreSQL carried up to {sampler.peak_server_connections} of Chirp's connections, more than "
            f"PgBouncer's pool of {pool_size}: every app process's pool counts against max_connections"
        )
    if held_s >= HELD_BOUND_S:
        reasons.append(
            f"a signup's connection sat idle in transaction for {held_s:.1f} s after its INSERT, with the email "
            f"provider at {SMTP_LATENCY_MS / 1000:g} s: it is held across the email. Commit and give the connection "
            "back before sending it (broken_app/auth.py)"
        )
    if statuses[503]:
        reasons.append(f"{statuses[503]} of {len(outcomes)} requests timed out waiting for a pooled connection (503)")
    if len(failed) / len(outcomes) >= MAX_ERROR_RATE:
        kinds = ", ".join(f"HTTP {k or 'no answer'} x{v}" for k, v in sorted(statuses.items()) if k >= 500 or k == 0)
        reasons.append(
            f"{len(failed)} of {len(outcomes)} requests failed ({kinds}): `scalelab logs app1` shows the errors"
        )
    if feed_p95_ms >= P95_BOUND_MS:
        reasons.append(
            f"feed p95 was {feed_p95_ms:.0f} ms (bound {P95_BOUND_MS} ms): requests waited, most likely for a "
            "connection held by a signup that is sending its email"
        )
    return reasons


def overload(settings, measurements: dict) -> list[str]:
    app1 = f"http://{settings.address('app1')}"
    faults.set_fault("db_latency_match", STATS_QUERY)
    faults.set_fault("db_latency_ms", SLOW_QUERY_MS)
    time.sleep(faults.APP_SEES_FAULTS_WITHIN_S)
    try:
        burst = _at_once(app1, BURST, BURST)
    finally:
        faults.set_fault("db_latency_ms", 0)
        faults.set_fault("db_latency_match", "")
        time.sleep(faults.APP_SEES_FAULTS_WITHIN_S)
    refused = [a for a in burst if a.status == 503]
    refused_fast = [a for a in refused if a.seconds <= REFUSED_WITHIN_S and a.retry_after]
    slowest = max(a.seconds for a in burst)
    measurements["overload"] = {
        "requests": len(burst),
        "refused_503": len(refused),
        "refused_fast": len(refused_fast),
        "slowest_s": round(slowest, 1),
        "statuses": dict(collections.Counter(str(a.status) for a in burst)),
    }
    if refused_fast:
        return []
    if measurements["overload"]["statuses"].get("500"):
        return [
            f"{BURST} profile pages at once on app1, each query {SLOW_QUERY_MS / 1000:g} s slow: "
            f"{measurements['overload']['statuses']['500']} answered 500, none 503 with Retry-After. The pool gave up "
            "waiting, as it should, but nothing turned its TimeoutError into a 503 with Retry-After: the error handler "
            "in broken_app/db.py"
        ]
    return [
        f"{BURST} profile pages at once on app1, each query {SLOW_QUERY_MS / 1000:g} s slow: none was refused with "
        f"503 and Retry-After within {REFUSED_WITHIN_S:g} s; the slowest answered after {slowest:.1f} s. A request that "
        "cannot get a connection soon should be refused: pool_timeout from CHIRP_DB_POOL_TIMEOUT (2 s), a pool "
        "smaller than the threads, and a 503 with Retry-After for sqlalchemy's TimeoutError (broken_app/db.py)"
    ]


def after_pgbouncer_restart(settings, measurements: dict) -> list[str]:
    _at_once(settings.app_url, RESTART_PROBES, PROBES_AT_ONCE)  # every worker's pool holds connections
    current(settings).restart(["pgbouncer"])
    probes = _at_once(settings.app_url, RESTART_PROBES, PROBES_AT_ONCE)
    failed = [a for a in probes if a.status >= 500 or a.status == 0]
    measurements["after_pgbouncer_restart"] = {
        "requests": len(probes),
        "failed": len(failed),
        "statuses": dict(collections.Counter(str(a.status) for a in probes)),
    }
    if not failed:
        return []
    return [
        f"after PgBouncer restarted, {len(failed)} of {len(probes)} requests failed: the pool lent connections "
        "PgBouncer had closed. pool_pre_ping=True checks each before lending it (broken_app/db.py)"
    ]


class Answer(NamedTuple):
    status: int  # 0: no answer
    seconds: float
    retry_after: bool  # the answer said when to try again


def _at_once(base_url: str, count: int, parallel: int) -> list[Answer]:
    """`count` GETs of PROFILE, `parallel` at a time, each on a new connection."""

    def one(_: int) -> Answer:
        started = time.perf_counter()
        try:
            response = requests.get(f"{base_url}{PROFILE}", timeout=TIMEOUT_S)
        except requests.RequestException:
            return Answer(0, time.perf_counter() - started, False)
        return Answer(response.status_code, time.perf_counter() - started, "Retry-After" in response.headers)

    with ThreadPoolExecutor(max_workers=parallel) as pool:
        return list(pool.map(one, range(count)))
