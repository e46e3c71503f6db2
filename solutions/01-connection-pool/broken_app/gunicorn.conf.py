"""Gunicorn settings for Chirp: fixed in Lab 1 (the connection pool).

Threads per worker now match the worker's pool (CHIRP_DB_POOL_SIZE in db.py, 8 by default), so in
normal load no thread waits for a connection; in overload a request waits at most 2 s for one
(pool_timeout) and answers 503. The numbers, by Little's law: the feed holds its connection for
about 5 ms, so 8 connections serve some 1,600 feed reads a second per worker, more than 2 cores
can render. More threads would not add capacity, only requests queueing for a connection.

PostgreSQL no longer sees these pools: they connect to PgBouncer, whose pool of server
connections (SCALELAB_PGBOUNCER_POOL_SIZE) is the only one PostgreSQL has to carry. So adding
workers or instances adds client connections to PgBouncer, not backends to PostgreSQL.

The stack passes --bind; the working directory is the instance's own folder.
"""

import os

worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", 2))
threads = int(os.environ.get("CHIRP_DB_POOL_SIZE", 8))
# No access log: logs.py prints one line per request. Errors go to stderr.
accesslog = None
errorlog = "-"
# gunicorn 27 opens one control socket per OS user unless told not to, shared by both instances.
control_socket_disable = True
