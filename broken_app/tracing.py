"""Tracing: none.

Fragile on purpose (Lab 4): when a request is slow, nothing says where its time went: in which
query, in Redis, in the email provider, or in a job it queued for the Celery worker. A request
crosses two app instances' worth of processes and the worker, and no id follows it. Lab 4 sets up
OpenTelemetry: a trace per request, with spans for SQL, Redis and Celery, that carries on into the
jobs the request queued.
"""


def init_app(app) -> None:
    """Called by create_app in every app process: nothing is traced."""


def init_worker() -> None:
    """Called by the Celery worker (make_celery.py): its jobs are not traced either."""


def post_fork(server, worker) -> None:
    """gunicorn hook, in each worker process just after the master forked it (gunicorn.conf.py)."""
