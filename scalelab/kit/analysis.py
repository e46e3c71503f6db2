"""Reading load tests: where the wall was measured, and where Little's law predicts it.

Measured: a load run's per-second Locust history (a DataFrame with the columns in HISTORY_COLUMNS)
is summarised per user level by `by_level`, and `knee` finds the last level that still met the
objective (p95 under 300 ms, under 1% errors).

Predicted: `capacity` turns a number of users, their think time and the response time into
requests per second and busy database connections (Little's law: L = λ × W), and compares those
with what each layer allows (`ConnectionLimits`). `predicted_wall` solves for the user count where
the connections run out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scalelab.errors import LabError

HISTORY_COLUMNS = ("time", "users", "rps", "failures_per_s", "p50_ms", "p95_ms", "p99_ms")

# Locust's per-second history reports rates averaged over about the last 12 seconds and percentiles
# over the last 10. For that long after the user count changes, a row still mixes in the previous
# level, so by_level skips those rows.
SETTLE_S = 12

# Little's law gives the average. Near full use, queueing makes waits grow steeply, so a pool that is
# more than this busy on average already makes bursts wait.
HEADROOM = 0.8


# --- Measured -------------------------------------------------------------------------------------


def by_level(history: pd.DataFrame, *, level_width: int | None = None, settle_s: int = SETTLE_S) -> pd.DataFrame:
    """One row per user level, sorted by users: users, seconds, rps, error_rate, p50_ms, p95_ms, p99_ms.

    Levels are the exact user counts by default, which suits step profiles that hold each level.
    During a continuous ramp the count changes every second: pass level_width (e.g. 100) to bin the
    counts into levels (50, 100] → 100, (100, 200] → 200 …, and settle_s=0, since the ramp never
    holds still. The first `settle_s` seconds of every stretch at one level are skipped (see SETTLE_S),
    as are seconds with no users or no finished requests.
    Latencies are the median of the level's per-second percentiles (one slow second does not decide
    a level); error_rate is failures over requests for the whole level.
    """
    missing = [column for column in HISTORY_COLUMNS if column not in history.columns]
    if missing:
        raise LabError(f"the history lacks {', '.join(missing)}: pass the per-second history of a load run")
    if not (history.rps > 0).any():
        raise LabError("no request finished during this run: check the stack with `scalelab status` and run again")
    ordered = history.sort_values("time")
    level = ordered.users if level_width is None else np.ceil(ordered.users / level_width) * level_width
    # A stretch ends when the level changes, so a level that is visited twice settles twice.
    stretch = (level != level.shift()).cumsum()
    seconds_into_stretch = ordered.groupby(stretch).cumcount()  # one history row per second
    keep = (seconds_into_stretch >= settle_s) & (ordered.users > 0) & (ordered.rps > 0)
    if not keep.any():
        raise LabError(
            f"no user level was held for more than {settle_s} s: for a continuous ramp pass level_width=100, settle_s=0"
        )
    levels = ordered[keep].assign(users=level[keep].astype(int)).groupby("users")
    summary = pd.DataFrame(
        {
            "seconds": levels.size(),
            "rps": levels.rps.mean(),
            "error_rate": levels.failures_per_s.sum() / levels.rps.sum(),
            "p50_ms": levels.p50_ms.median(),
            "p95_ms": levels.p95_ms.median(),
            "p99_ms": levels.p99_ms.median(),
        }
    )
    return summary.reset_index()


def knee(
    history: pd.DataFrame,
    p95_ms: float = 300,
    max_error_rate: float = 0.01,
    *,
    level_width: int | None = None,
    settle_s: int = SETTLE_S,
) -> int | None:
    """The largest user level that met the objective, with every level below it meeting it too.

    A level that passes above the first failing one (a lucky minute, or the ramp coming back down)
    is not capacity you can count on. None when the lowest level already missed the objective; the
    highest level when none did (the run never reached the wall). Levels as in `by_level`.
    """
    levels = by_level(history, level_width=level_width, settle_s=settle_s)
    meets = (levels.p95_ms < p95_ms) & (levels.error_rate < max_error_rate)
    first_miss = levels.users[~meets].min() if not meets.all() else math.inf
    below_wall = levels.users[levels.users < first_miss]
    return int(below_wall.max()) if not below_wall.empty else None


# --- Predicted ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layer:
    """One layer between the app and the data, and the connections it allows."""

    name: str
    allows: int
    # How the number comes about, e.g. "4 processes × (5 + 10)".
    reason: str
    # What learners see when more connections are needed than the layer allows.
    symptom: str


@dataclass(frozen=True)
class ConnectionLimits:
    """The connection limits of the stack's layers. The defaults are the libraries' own."""

    # Every app process (instances × gunicorn workers) has a pool of its own.
    processes: int
    # SQLAlchemy's QueuePool: pool_size connections kept open, max_overflow more under load.
    pool_size: int = 5
    max_overflow: int = 10
    # PgBouncer's default_pool_size: its server connections. None when the app connects directly.
    pgbouncer_pool_size: int | None = None
    postgres_max_connections: int = 100
    # Slots PostgreSQL keeps for superusers; the app cannot use them.
    superuser_reserved: int = 3

    def layers(self) -> list[Layer]:
        """The layers from the app inwards: the app's pools, PgBouncer when it is used, PostgreSQL."""
        app_pools = Layer(
            "your app pools",
            self.processes * (self.pool_size + self.max_overflow),
            f"{self.processes} processes × ({self.pool_size} + {self.max_overflow})",
            "requests wait for a connection, then fail with 'QueuePool limit of size … reached'",
        )
        pgbouncer = Layer(
            "PgBouncer",
            self.pgbouncer_pool_size or 0,
            "default_pool_size",
            "transactions queue inside PgBouncer and every response slows down",
        )
        postgres = Layer(
            "PostgreSQL",
            self.postgres_max_connections - self.superuser_reserved,
            f"max_connections {self.postgres_max_connections} − {self.superuser_reserved} reserved",
            "new connections fail with 'sorry, too many clients already'",
        )
        return [app_pools, postgres] if self.pgbouncer_pool_size is None else [app_pools, pgbouncer, postgres]

    def tightest(self) -> Layer:
        """The layer that runs out first."""
        return min(self.layers(), key=lambda layer: layer.allows)


@dataclass(frozen=True)
class Capacity:
    """Little's law applied to one number of users. Build it with `capacity()`."""

    users: int
    think_s: float
    response_ms: float
    hold_ms: float
    limits: ConnectionLimits

    @property
    def requests_per_s(self) -> float:
        """λ: each user sends one request per think time plus response time."""
        return self.users / (self.think_s + self.response_ms / 1000)

    @property
    def connections_busy(self) -> float:
        """L = λ × W, where W is how long a request holds its connection: the average busy connections."""
        return self.requests_per_s * self.hold_ms / 1000

    @property
    def fits(self) -> bool:
        return self.connections_busy <= self.limits.tightest().allows

    def explain(self) -> str:
        """A few sentences a learner can read: the numbers, the limits and what they mean."""
        layers = self.limits.layers()
        tightest = self.limits.tightest()
        use = self.connections_busy / tightest.allows
        allowed = "; ".join(f"{layer.name} {layer.allows:,} ({layer.reason})" for layer in layers)
        lines = [
            f"At {self.users:,} users (thinking {self.think_s:g} s, answered in {self.response_ms:g} ms) "
            f"Chirp gets about {_about(self.requests_per_s)} requests/s.",
            f"Each request holds a database connection for {self.hold_ms:g} ms, so you need about "
            f"{_about(self.connections_busy)} connections busy (L = λ × W).",
            f"Connections allowed: {allowed}.",
        ]
        limit = f"{tightest.name} ({tightest.allows:,})"
        if not self.fits:
            lines.append(f"That does not fit the tightest limit, {limit}: {tightest.symptom}.")
        elif use > HEADROOM:
            lines.append(f"That fits, but it uses {use:.0%} of {limit}: bursts will wait.")
        else:
            lines.append(f"That fits: it uses {use:.0%} of the tightest limit, {limit}.")
        app_pools, postgres = layers[0], layers[-1]
        if self.limits.pgbouncer_pool_size is None and app_pools.allows > postgres.allows:
            lines.append(
                f"Careful: together your pools may open {app_pools.allows:,} connections, more than the "
                f"{postgres.allows:,} PostgreSQL allows; in a burst {postgres.symptom}."
            )
        return "\n".join(lines)


def capacity(
    users: int,
    limits: ConnectionLimits,
    think_s: float | tuple[float, float] = (10, 20),
    response_ms: float = 50,
    hold_ms: float | None = None,
) -> Capacity:
    """Little's law for `users` users against `limits`.

    think_s is the pause between a user's requests: a number, or Locust's `between(low, high)` range,
    whose mean is used (the default is Chirp's Reader). hold_ms is how long a request holds its
    database connection; by default its whole response time, as Chirp's db.py does before Lab 1.
    """
    if users < 0:
        raise LabError(f"users is {users}: pass a number of users, 0 or more")
    if isinstance(think_s, tuple):
        think_s = sum(think_s) / len(think_s)
    return Capacity(users, think_s, response_ms, response_ms if hold_ms is None else hold_ms, limits)


def predicted_wall(
    limits: ConnectionLimits,
    think_s: float | tuple[float, float] = (10, 20),
    response_ms: float = 50,
    hold_ms: float | None = None,
) -> int:
    """The fewest users who need more connections than `limits` allow (see `capacity`).

    Busy connections grow in proportion to users, so one user's share gives the answer. It is a
    first-order estimate: near the wall response times grow, and the real wall comes earlier.
    """
    one_user = capacity(1, limits, think_s, response_ms, hold_ms).connections_busy
    if one_user <= 0:
        raise LabError("requests hold no connection (hold_ms is 0): pass the time each request holds one")
    return math.floor(limits.tightest().allows / one_user) + 1


def hikari_pool_size(cores: int, effective_spindles: int = 0) -> int:
    """HikariCP's rule of thumb for the connections a database server can use well.

    cores are physical cores (no hyper-threads) of the database machine; effective_spindles is 0 when
    the working set is cached in memory, as in the lab, and approaches the disk count as it is not.
    """
    return cores * 2 + effective_spindles


def _about(number: float) -> str:
    """A number as a reader wants it: 9, 1,204, or 0.4 when it is below one."""
    return f"{number:.1f}" if number < 1 else f"{number:,.0f}"
