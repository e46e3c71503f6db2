"""Metrics: none.

Fragile on purpose (Lab 4): Chirp counts nothing. How many requests each endpoint serves, how many
fail, how long the slowest 5% take, how many pooled connections are lent out, how long the job queue
is and how long its jobs take: nobody can tell, except by grepping the printed log of every instance
and doing the arithmetic by hand. There is no /metrics page, so Prometheus's `chirp` targets are
down, and the hooks below, where a multi-process server has to prepare and clean up the metrics its
processes share, do nothing. Lab 4 fills them in with prometheus_client in multiprocess mode.
"""


def init_app(app) -> None:
    """Called by create_app in every app process: nothing is measured."""


def init_worker() -> None:
    """Called by the Celery worker (make_celery.py): its jobs are not measured either."""


def exposition() -> tuple[bytes, str] | None:
    """The Celery worker's metrics page (body, content type), which make_celery.py serves: none."""
    return None


def on_starting(server) -> None:
    """gunicorn hook, in the master before it forks the workers (gunicorn.conf.py)."""


def child_exit(server, worker) -> None:
    """gunicorn hook, in the master when a worker process has exited (gunicorn.conf.py)."""
