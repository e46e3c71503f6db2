"""The lab's fault switches inside Chirp: not part of Chirp's design, and no lab replaces this module.

PostgreSQL has no knob that makes queries slow, so `scalelab fault db_latency_ms 200` stores the fault
in the stack's Redis (hash `scalelab:faults`), and this module makes every query that matches
`db_latency_match` (a piece of its SQL; empty matches all) sleep in PostgreSQL first, with
`pg_sleep`. The query is then really slow where an operator looks: `pg_stat_activity` shows it
active, `pg_stat_statements` counts its time, and the connection is held meanwhile.

`scalelab fault db_leak_rate 0.1` makes that share of requests (0 to 1) take one more connection from
the pool and never give it back, as a code path that forgets to close its connection would. The
leaked connections stay checked out (this module keeps them), so the pool runs dry request by
request; clearing the switch stops new leaks, but only restarting app1 and app2 frees the old ones.

The switches are read at most once a second per process, so they cost nothing per query; if Redis
is down, there is no fault rather than a failing app.
"""

import random
import threading
import time

import redis
from flask import has_request_context
from sqlalchemy import event
from sqlalchemy.engine import Engine

FAULTS_KEY = "scalelab:faults"
REFRESH_S = 1.0


class FaultSwitches:
    def __init__(self, redis_url: str):
        self.redis = redis.Redis.from_url(redis_url, socket_timeout=0.2, socket_connect_timeout=0.2)
        self.values: dict[str, str] = {}
        self.read_at = 0.0
        self.lock = threading.Lock()

    def current(self) -> dict[str, str]:
        with self.lock:
            if time.monotonic() - self.read_at > REFRESH_S:
                self.read_at = time.monotonic()
                try:
                    self.values = {k.decode(): v.decode() for k, v in self.redis.hgetall(FAULTS_KEY).items()}
                except redis.RedisError:
                    self.values = {}
            return self.values


_switches: FaultSwitches | None = None


def init_app(app) -> None:
    global _switches
    _switches = FaultSwitches(app.config["REDIS_URL"])


# On the Engine class, once, so it applies to whatever engine db.py (or a lab's solution) creates.
@event.listens_for(Engine, "before_cursor_execute", retval=True)
def slow_down(conn, cursor, statement, parameters, context, executemany):
    faults = _switches.current() if _switches else {}
    latency_ms = int(faults.get("db_latency_ms", 0) or 0)
    if latency_ms > 0 and not executemany and faults.get("db_latency_match", "") in statement:
        statement = f"SELECT pg_sleep({latency_ms / 1000:.3f}); {statement}"
    return statement, parameters


# Referenced here, so never garbage-collected and never returned to their pool.
_leaked: list = []


@event.listens_for(Engine, "engine_connect")
def leak(connection) -> None:
    # Requests only: the Celery worker also runs this module, and a leak there is nobody's symptom.
    if not has_request_context():
        return
    faults = _switches.current() if _switches else {}
    if random.random() < float(faults.get("db_leak_rate", 0) or 0):
        pool = connection.engine.pool
        # Once the pool is dry, waiting for a connection only to leak it would add its timeout to the
        # request; the requests that find no connection already show the leak. raw_connection() checks
        # out of the pool without making an engine Connection, so this event does not fire again.
        if pool.checkedout() < pool.size():
            _leaked.append(connection.engine.raw_connection())
