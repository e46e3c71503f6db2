"""The drill's six causes: how each one is injected into the running stack and restored, what a learner
sees, and the PromQL in which its symptom shows (Lab 4's metrics, Prometheus scraping the stack).

Each signal's `$window` is the range its rate or increase looks back over ("1m" on a dashboard; a test
that drives ten seconds of load takes a shorter one). Where a series may not exist yet (no task has
ever been retried), `or vector(0)` makes "nothing happened" read as 0 rather than as no data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from string import Template

import psycopg2

from scalelab.errors import StackNotRunning
from scalelab.kit import faults
from scalelab.stack import Stack
from scalelab.stack.settings import Settings

SLOW_MS = 500
SLOW_MATCH = "UNION ALL"  # only the home timeline's query has it (broken_app/posts.py)
LEAK_RATE = 0.1  # about one request in ten: the pools (8 per gunicorn worker) run dry within a minute of load
SMALL_POOL = 1
DEAD_INSTANCE = "app2"


@dataclass(frozen=True)
class Cause:
    name: str  # what the learner answers
    symptom: str  # what an investigation finds, in one line (a notebook's model answer)
    signal: str  # PromQL, with $window
    inject: Callable[[Stack], None]
    restore: Callable[[Stack], None]
    rises: bool = True  # False: the signal drops when the fault is on


def _start_again(*names: str) -> Callable[[Stack], None]:
    """Start these services if they are not running, and wait until they are healthy."""

    def restore(stack: Stack) -> None:
        stopped = [name for name in names if not stack.running(name)]
        if stopped:
            stack.restart(stopped)

    return restore


def _stop(name: str) -> Callable[[Stack], None]:
    return lambda stack: stack.kill(name)


def _pgbouncer_admin(settings: Settings, command: str) -> None:
    """A command on PgBouncer's admin console (the `pgbouncer` database; admin_users = postgres)."""
    try:
        conn = psycopg2.connect(settings.postgres_url("pgbouncer", via_pgbouncer=True), connect_timeout=5)
    except psycopg2.OperationalError:
        raise StackNotRunning("PgBouncer does not answer: `scalelab status`, then `make up`") from None
    conn.autocommit = True  # the console knows no BEGIN
    try:
        with conn.cursor() as cur:
            cur.execute(command)
    finally:
        conn.close()


def _pool_size(size: Callable[[Settings], int]) -> Callable[[Stack], None]:
    # SET changes the running PgBouncer only (a restart reads pgbouncer.ini again), and takes effect at
    # once: PgBouncer closes the server connections above the new size as they come free.
    return lambda stack: _pgbouncer_admin(stack.settings, f"SET default_pool_size = {size(stack.settings)}")


def _set_faults(**values) -> Callable[[Stack], None]:
    def apply(stack: Stack) -> None:
        for name, value in values.items():
            faults.set_fault(name, value)

    return apply


def _clear_leak(stack: Stack) -> None:
    faults.set_fault("db_leak_rate", 0)
    # Clearing the switch stops new leaks; the connections already leaked stay checked out until
    # their processes end, as in a real leak.
    stack.restart(["app1", "app2"])


CAUSES: dict[str, Cause] = {
    cause.name: cause
    for cause in (
        Cause(
            "slow-query",
            "one endpoint (GET /api/timeline) is slow at p95 while the others stay fast; PostgreSQL shows its "
            "query active for long (pg_stat_activity, pg_stat_statements), and its traces spend the time in that query",
            'histogram_quantile(0.95, sum by (le) (rate(chirp_http_request_duration_seconds_bucket{job="chirp",'
            'route="/api/timeline"}[$window])))',
            _set_faults(db_latency_match=SLOW_MATCH, db_latency_ms=SLOW_MS),
            _set_faults(db_latency_ms=0, db_latency_match=""),
        ),
        Cause(
            "smtp-outage",
            "signups still answer 201, but no welcome email arrives: the worker's email jobs end in retry "
            "(chirp_celery_task_duration_seconds by outcome), its log shows 451 from the provider, and the celery queue grows",
            'sum(increase(chirp_celery_task_duration_seconds_count{job="chirp_worker",outcome!="success"}[$window]))'
            " or vector(0)",
            _set_faults(smtp_failure_rate=1),
            _set_faults(smtp_failure_rate=0),
        ),
        Cause(
            "redis-down",
            "logged-in requests fail with 500 on both instances while the public feed still works: "
            "chirp_session_store_errors_total climbs (ConnectionError), redis_up is 0, and signups cannot queue their email",
            'sum(increase(chirp_session_store_errors_total{job="chirp"}[$window])) or vector(0)',
            _stop("redis"),
            # The Celery worker can die with its broker: Redis gone while it hands unacknowledged jobs
            # back (retries of a flaky provider, say) ends it with "Unrecoverable error: AttributeError
            # ... 'hostname'", seen here right after an smtp-outage drill. Start it again too.
            _start_again("redis", "worker"),
        ),
        Cause(
            "app-instance-dead",
            "Prometheus's up is 0 for one instance of job chirp; its requests stop appearing in the metrics, "
            "nginx sends everything to the other one, and its log ends with a shutdown",
            'min(up{job="chirp"})',
            _stop(DEAD_INSTANCE),
            _start_again(DEAD_INSTANCE),
            rises=False,
        ),
        Cause(
            "connection-leak",
            "chirp_db_pool_checked_out climbs to the pools' size and stays there even without load; then requests "
            "wait for a connection (chirp_db_pool_wait_seconds) and answer 503, while PostgreSQL itself is idle",
            'sum(chirp_db_pool_checked_out{job="chirp"}) / sum(chirp_db_pool_size{job="chirp"})',
            _set_faults(db_leak_rate=LEAK_RATE),
            _clear_leak,
        ),
        Cause(
            "pgbouncer-pool-small",
            "under load, requests wait for the database (p95 and chirp_db_pool_wait_seconds rise) although "
            "PostgreSQL is nearly idle: it serves Chirp over one connection (pg_stat_activity_count for datname chirp, "
            "where postgres_exporter's own two connections count too)",
            'sum(pg_stat_activity_count{job="postgres",datname="chirp"})',
            _pool_size(lambda settings: SMALL_POOL),
            _pool_size(lambda settings: settings.int("PGBOUNCER_POOL_SIZE")),
            rises=False,
        ),
    )
}


def signal_query(cause: str, window: str = "1m") -> str:
    """The PromQL whose value moves when `cause` is the fault: up, or down where CAUSES[cause].rises is False
    (the dead instance is no longer up; PgBouncer's server connections shrink to one)."""
    return Template(CAUSES[cause].signal).substitute(window=window)
