"""The PostgreSQL connection of each request: fixed in Lab 1 (the connection pool).

What changed from the broken version, and why:
- The app goes through PgBouncer (CHIRP_PGBOUNCER_URL) in transaction pooling mode. However many
  app processes there are, PostgreSQL sees at most PgBouncer's pool (default_pool_size), sized for
  PostgreSQL's cores, not for the app's threads. Transaction pooling forbids session state that
  outlives a transaction (SET, SQL PREPARE, LISTEN, advisory locks held across transactions);
  Chirp uses none of it, and psycopg2 prepares nothing on the server.
- Each process's pool is sized from the environment, by Little's law: connections busy =
  requests/s x seconds each holds a connection. A feed read holds one for a few milliseconds, so
  8 connections serve a worker's 32 threads (gunicorn.conf.py) with little waiting.
- Overload fails fast: a request that cannot get a connection within CHIRP_DB_POOL_TIMEOUT
  seconds (default 2, not 30) answers 503 with Retry-After, instead of hanging.
- pool_pre_ping checks a connection before lending it, so a restarted PgBouncer or PostgreSQL
  costs a reconnect rather than an error.
- A handler can give its connection back before slow work (release_db), as signup does before
  sending the welcome email (auth.py).
"""

import os
import threading

from flask import current_app, g
from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.exc import TimeoutError as PoolTimeout

_engine_lock = threading.Lock()


def pool_settings() -> dict:
    return {
        "pool_size": int(os.environ.get("CHIRP_DB_POOL_SIZE", 8)),
        "max_overflow": int(os.environ.get("CHIRP_DB_MAX_OVERFLOW", 0)),
        "pool_timeout": float(os.environ.get("CHIRP_DB_POOL_TIMEOUT", 2)),
        "pool_pre_ping": True,
    }


def get_engine() -> Engine:
    """The engine (and so the pool) of this process, created on first use, after gunicorn forks."""
    extensions = current_app.extensions
    with _engine_lock:
        if "chirp_engine" not in extensions:
            url = current_app.config.get("PGBOUNCER_URL") or current_app.config["DATABASE_URL"]
            extensions["chirp_engine"] = create_engine(url, **pool_settings())
    return extensions["chirp_engine"]


def get_db() -> Connection:
    """The connection of the current request, checked out of the pool on first use."""
    if "db" not in g:
        g.db = get_engine().connect()
    return g.db


def release_db() -> None:
    """Commit and give the connection back now, before slow work; a later query checks out anew."""
    db = g.pop("db", None)
    if db is not None:
        db.commit()
        db.close()


def close_db(exception: BaseException | None = None) -> None:
    """Give the request's connection back to the pool, rolling back what was not committed."""
    db = g.pop("db", None)
    if db is not None:
        db.close()


def busy(error: PoolTimeout):
    """Overload: say so at once, and when to try again."""
    return {"error": "the service is busy, try again in a moment"}, 503, {"Retry-After": "1"}


def init_app(app) -> None:
    app.config.setdefault("PGBOUNCER_URL", os.environ.get("CHIRP_PGBOUNCER_URL"))
    app.teardown_appcontext(close_db)
    app.register_error_handler(PoolTimeout, busy)
