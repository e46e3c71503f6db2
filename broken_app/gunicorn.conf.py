"""Gunicorn settings for Chirp: "we added threads so that it handles more users".

Fragile on purpose (Lab 1): every worker process runs 32 threads, but its SQLAlchemy pool holds
at most 15 connections (pool_size 5 + max_overflow 10, see db.py). Under load, up to 17 threads
per worker wait for a connection, and after 30 seconds (pool_timeout) their requests fail with
"QueuePool limit of size 5 overflow 10 reached". Each worker has its own pool, so adding
workers or instances multiplies the connections to PostgreSQL until it refuses more
("sorry, too many clients already"). Lab 1 fixes the pool sizing and puts PgBouncer in front.

The stack passes --bind; the working directory is the instance's own folder.
"""

import os

# gunicorn's server hooks live with the metrics and the tracing that need them (Lab 4): metrics shared
# by the worker processes are prepared before the fork and cleaned when a worker exits, and tracing
# starts in each worker after the fork.
from broken_app.metrics import child_exit, on_starting  # noqa: F401 - gunicorn reads them by name
from broken_app.tracing import post_fork  # noqa: F401 - gunicorn reads it by name

worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", 2))
threads = 32
# Longer than the pool's 30 s wait, so a waiting request fails with the pool's own error
# instead of gunicorn killing the worker.
timeout = 120
# No access log: logs.py writes one line per request. Errors go to stderr.
accesslog = None
errorlog = "-"
# Recent gunicorn opens one control socket per OS user by default ($HOME/.gunicorn/gunicorn.ctl);
# two instances on one machine would fight over it. Chirp does not use it.
control_socket_disable = True
