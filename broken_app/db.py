"""The PostgreSQL connection of each request.

Fragile on purpose (Lab 1, the connection pool): the engine keeps SQLAlchemy's default pool,
5 connections plus 10 "overflow" ones per process, and a request that finds all 15 in use waits
up to 30 seconds (pool_timeout) for one, then fails with
"QueuePool limit of size 5 overflow 10 reached". Every gunicorn worker process has its own pool,
so the connections to PostgreSQL add up: instances x workers x 15, against PostgreSQL's
max_connections ("sorry, too many clients already").

Like Flask's tutorial, a request checks a connection out on its first query and gives it back
only when the request ends. So a handler holds its connection across slow work that has nothing
to do with the database: the welcome email inside the signup transaction, the avatar resize,
the PDF report. Lab 1 puts PgBouncer in front of PostgreSQL and shortens those holds.

Queries are plain SQL with bound parameters. No server-side prepared statements and no
session-level SET: both would break behind PgBouncer in transaction pooling mode.
"""

import threading

from flask import current_app, g
from sqlalchemy import Connection, Engine, create_engine

_engine_lock = threading.Lock()


def get_engine() -> Engine:
    """The engine (and so the pool) of this process, created on first use.

    Created lazily so that the gunicorn master never opens connections that its forked
    workers would then share.
    """
    extensions = current_app.extensions
    with _engine_lock:
        if "chirp_engine" not in extensions:
            extensions["chirp_engine"] = create_engine(current_app.config["DATABASE_URL"])
    return extensions["chirp_engine"]


def get_db() -> Connection:
    """The connection of the current request, checked out of the pool on first use."""
    if "db" not in g:
        g.db = get_engine().connect()
    return g.db


def close_db(exception: BaseException | None = None) -> None:
    """Give the request's connection back to the pool, rolling back what was not committed."""
    db = g.pop("db", None)
    if db is not None:
        db.close()


def init_app(app) -> None:
    app.teardown_appcontext(close_db)
