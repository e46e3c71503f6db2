"""Gunicorn settings for Chirp: fixed in Lab 1 (the connection pool).

Threads and connections are different resources. A worker's threads bound how many requests it
has in flight, including those waiting on something slow (the welcome email, until Lab 3); its
pool (CHIRP_DB_POOL_SIZE in db.py, 8) bounds how much database work it does at once. Now that no
request holds a connection across slow work, a feed read holds one for a few milliseconds, so 32
threads share 8 connections and wait for one only briefly; in overload, at most 2 s (pool_timeout),
and then the request answers 503. Fewer threads would not protect the database, which PgBouncer
already does: they would only queue requests in gunicorn behind signups waiting for their email.

PostgreSQL no longer sees these pools: they connect to PgBouncer, whose pool of server
connections (SCALELAB_PGBOUNCER_POOL_SIZE) is the only one PostgreSQL has to carry. So adding
workers or instances adds client connections to PgBouncer, not backends to PostgreSQL.

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
threads = int(os.environ.get("CHIRP_THREADS", 32))
# A slow email still keeps a thread (until Lab 3): let gunicorn's heartbeat outlast it.
timeout = 120
# No access log: logs.py writes one line per request. Errors go to stderr.
accesslog = None
errorlog = "-"
# Recent gunicorn opens one control socket per OS user by default ($HOME/.gunicorn/gunicorn.ctl);
# two instances on one machine would fight over it. Chirp does not use it.
control_socket_disable = True
