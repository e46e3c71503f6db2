"""Metrics: fixed in Lab 4 (observability before you need it), with prometheus_client.

What changed from the broken version, and why:
- RED per endpoint: chirp_http_request_duration_seconds, a histogram labelled by method, route
  (the URL rule, so /users/<int:user_id> is one series, not one per user) and status. Its _count is the rate
  and, with status, the errors; its buckets give any percentile over any set of instances. An
  average would hide the slowest 5%, and averages of several processes cannot be combined into a
  percentile; buckets can. One bucket edge sits at 0.3 s, the lab's objective, so "the share of
  requests under 300 ms" is exact.
- The DB pool: connections lent out, the pools' size and overflow (gauges), and how long a request
  waited for a connection (chirp_db_pool_wait_seconds): saturation before it turns into errors.
- The session store: errors talking to Redis, by exception class.
- The Celery worker: each task's duration by outcome, and its failures. The queue's length is
  Redis's business: redis_exporter reports the `celery` list (redis_key_size).
- Multiprocess mode. gunicorn runs several worker processes per instance (and Celery several pool
  processes), and a scrape reaches only one of them. So each process writes its values to files
  in PROMETHEUS_MULTIPROC_DIR, and /metrics adds up all the files. The directory is wiped when
  the master starts (on_starting), or last run's counters would be added to this run's, and a
  worker that exits is marked dead (child_exit), so that the gauges stop counting its connections.
"""

import os
import shutil
import time

import redis
from celery.signals import task_failure, task_postrun, task_prerun, worker_init, worker_process_shutdown
from flask import g, got_request_exception, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess
from sqlalchemy import event
from sqlalchemy.engine import Engine

if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
    # prometheus_client opens its files there as soon as a metric below is defined, which in gunicorn's
    # master is before on_starting wipes the folder: it must exist already.
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

OBJECTIVE_S = 0.3
UNMATCHED = "<unmatched>"  # the route of a URL no rule matches: one series for every 404, not one per path
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, OBJECTIVE_S, 0.5, 1, 2.5, 5, 10, 30)

REQUEST_DURATION = Histogram(
    "chirp_http_request_duration_seconds", "Time to answer an HTTP request", ["method", "route", "status"], buckets=BUCKETS
)
# livesum: the sum over the processes that are alive, the only meaningful total for "now".
POOL_CHECKED_OUT = Gauge("chirp_db_pool_checked_out", "Pooled DB connections lent out now", multiprocess_mode="livesum")
POOL_SIZE = Gauge("chirp_db_pool_size", "The DB pools' configured size", multiprocess_mode="livesum")
POOL_OVERFLOW = Gauge("chirp_db_pool_overflow", "DB connections open beyond the pools' size", multiprocess_mode="livesum")
POOL_WAIT = Histogram("chirp_db_pool_wait_seconds", "Time a request waited for a pooled DB connection", buckets=BUCKETS)
SESSION_STORE_ERRORS = Counter("chirp_session_store_errors", "Errors talking to the session store (Redis)", ["error"])
TASK_DURATION = Histogram(
    "chirp_celery_task_duration_seconds", "Time a Celery task ran, by outcome", ["task", "outcome"], buckets=BUCKETS
)
TASK_FAILURES = Counter("chirp_celery_task_failures", "Celery tasks that failed", ["task"])

# Prometheus's scrapes and the stack's health probes are not users: counting them would blur the numbers.
NOT_MEASURED = {"/metrics", "/healthz"}


def _registry() -> CollectorRegistry:
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        return REGISTRY  # a single process, as in tests that create the app directly
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


def exposition() -> tuple[bytes, str]:
    return generate_latest(_registry()), CONTENT_TYPE_LATEST


def metrics_page():
    body, content_type = exposition()
    return body, 200, {"Content-Type": content_type}


def start_timer() -> None:
    g.metrics_started = time.perf_counter()


def observe_request(response):
    route = request.url_rule.rule if request.url_rule else UNMATCHED
    if route not in NOT_MEASURED:
        REQUEST_DURATION.labels(request.method, route, str(response.status_code)).observe(
            time.perf_counter() - g.metrics_started
        )
    return response


def count_session_store_error(sender, exception, **_) -> None:
    if isinstance(exception, redis.RedisError):
        SESSION_STORE_ERRORS.labels(type(exception).__name__).inc()


def _pool_state(pool) -> None:
    POOL_CHECKED_OUT.set(pool.checkedout())
    POOL_SIZE.set(pool.size())
    POOL_OVERFLOW.set(max(pool.overflow(), 0))  # QueuePool counts from -size while the pool fills


def _watch(pool) -> None:
    """Time every checkout of this pool and follow its state. SQLAlchemy has an event after a
    checkout, none before the wait, so the pool's own connect() is wrapped."""
    checkout = pool.connect

    def timed_checkout():
        started = time.perf_counter()
        try:
            return checkout()
        finally:
            POOL_WAIT.observe(time.perf_counter() - started)

    pool.connect = timed_checkout
    event.listen(pool, "checkout", lambda *_: _pool_state(pool))
    event.listen(pool, "checkin", lambda *_: _pool_state(pool))
    pool.chirp_watched = True


# On the Engine class: whatever engine db.py creates, its pool is watched from its first connection.
@event.listens_for(Engine, "engine_connect")
def watch_pool(connection) -> None:
    pool = connection.engine.pool
    if not getattr(pool, "chirp_watched", False):
        _watch(pool)
        _pool_state(pool)


def init_app(app) -> None:
    app.before_request(start_timer)
    app.after_request(observe_request)
    got_request_exception.connect(count_session_store_error, app)
    app.add_url_rule("/metrics", view_func=metrics_page)


# --- the Celery worker ---------------------------------------------------------------------------------

_task_started: dict[str, float] = {}


def task_started(task_id, **_) -> None:
    _task_started[task_id] = time.perf_counter()


def task_finished(task_id, task, state, **_) -> None:
    started = _task_started.pop(task_id, None)
    if started is not None:
        outcome = {"SUCCESS": "success", "RETRY": "retry"}.get(state, "failure")
        TASK_DURATION.labels(task.name, outcome).observe(time.perf_counter() - started)


def task_failed(sender, **_) -> None:
    TASK_FAILURES.labels(sender.name).inc()


def init_worker() -> None:
    worker_init.connect(lambda **_: wipe_multiprocess_dir(), weak=False)
    task_prerun.connect(task_started, weak=False)
    task_postrun.connect(task_finished, weak=False)
    task_failure.connect(task_failed, weak=False)
    worker_process_shutdown.connect(lambda pid, **_: multiprocess.mark_process_dead(pid), weak=False)


# --- gunicorn's server hooks (gunicorn.conf.py) ------------------------------------------------------


def wipe_multiprocess_dir() -> None:
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder)


def on_starting(server) -> None:
    wipe_multiprocess_dir()


def child_exit(server, worker) -> None:
    multiprocess.mark_process_dead(worker.pid)
