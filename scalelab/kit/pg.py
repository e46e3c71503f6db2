"""What PostgreSQL and PgBouncer say about connections, read over SQL as an operator would."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass, field

import pandas as pd
import psycopg2

from scalelab.errors import StackNotRunning
from scalelab.stack import settings as settings_module


def _rows(url: str, sql: str, params: tuple = ()) -> pd.DataFrame:
    try:
        conn = psycopg2.connect(url, connect_timeout=5)
    except psycopg2.OperationalError:
        raise StackNotRunning("the lab stack is not running (PostgreSQL or PgBouncer does not answer): run `make up`") from None
    conn.autocommit = True  # PgBouncer's admin console knows no BEGIN
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params or None)
            return pd.DataFrame(cur.fetchall(), columns=[c.name for c in cur.description])
    finally:
        conn.close()


def activity(settings=None) -> pd.DataFrame:
    """pg_stat_activity for Chirp's database user: one row per server connection."""
    settings = settings or settings_module.load()
    return _rows(
        settings.postgres_url("postgres"),
        "SELECT pid, state, client_port, wait_event_type, now() - state_change AS in_state_for, query "
        "FROM pg_stat_activity WHERE usename = 'chirp'",
    )


def account_emails(like: str, settings=None) -> set[str]:
    """The addresses of Chirp's accounts that match a LIKE pattern, e.g. 'wave-1234-%'."""
    settings = settings or settings_module.load()
    return set(_rows(settings.postgres_url("chirp"), "SELECT email FROM users WHERE email LIKE %s", (like,))["email"])


def statement_calls(fragment: str, settings=None) -> int:
    """How many times PostgreSQL has run the statements whose text contains `fragment`, since the
    statistics were last reset (pg_stat_statements: normalized text, parameters as $1, $2 …)."""
    settings = settings or settings_module.load()
    rows = _rows(
        settings.postgres_url("chirp"),
        "SELECT coalesce(sum(calls), 0)::bigint AS calls FROM pg_stat_statements WHERE query LIKE %s",
        (f"%{fragment}%",),
    )
    return int(rows["calls"].iloc[0])


def pgbouncer(command: str, settings=None) -> pd.DataFrame:
    """A PgBouncer admin command: POOLS, STATS, SERVERS, CLIENTS…"""
    settings = settings or settings_module.load()
    return _rows(settings.postgres_url("pgbouncer", via_pgbouncer=True), f"SHOW {command}")


@dataclass
class ConnectionSample:
    server_connections: int  # Chirp's backends in PostgreSQL
    direct: int  # of those, the ones not opened by PgBouncer
    by_state: dict[str, int]
    # Each backend that sat `idle in transaction` (a connection held open between statements): how
    # long so far, in seconds, and the last statement it ran.
    idle_in_transaction: list[tuple[float, str]] = field(default_factory=list)


@dataclass
class ConnectionSampler:
    """Samples Chirp's PostgreSQL connections every `interval_s` while a `with` block runs."""

    settings: object = None
    interval_s: float = 0.5
    samples: list[ConnectionSample] = field(default_factory=list)

    def sample(self) -> ConnectionSample:
        backends = activity(self.settings)
        # PgBouncer's own side of each server connection is the client port PostgreSQL sees.
        pooled_ports = set(pgbouncer("SERVERS", self.settings)["local_port"])
        if not len(backends):
            return ConnectionSample(0, 0, {})
        direct = int((~backends["client_port"].isin(pooled_ports)).sum())
        idle = backends[backends["state"] == "idle in transaction"]
        held = [(seconds.total_seconds(), query) for seconds, query in zip(idle["in_state_for"], idle["query"])]
        return ConnectionSample(len(backends), direct, backends["state"].value_counts().to_dict(), held)

    @contextmanager
    def running(self):
        stop = threading.Event()

        def loop():
            while not stop.wait(self.interval_s):
                self.samples.append(self.sample())

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join()

    @property
    def peak_server_connections(self) -> int:
        return max((s.server_connections for s in self.samples), default=0)

    @property
    def peak_direct(self) -> int:
        return max((s.direct for s in self.samples), default=0)

    def longest_held(self, statement: str) -> float:
        """The longest a backend was seen idle in transaction after a statement starting with `statement`."""
        return max(
            (seconds for s in self.samples for seconds, query in s.idle_in_transaction
             if query.lstrip().upper().startswith(statement.upper())),
            default=0.0,
        )
