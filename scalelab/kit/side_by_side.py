"""Two walls measured with the same ramp, compared: the broken stack's and the fixed stack's.

`Wall` is one side: a load Run, the user levels of its ramp and its knee (analysis.knee: the largest
level with p95 under 300 ms and errors under 1%, every level below it too). `ratio` compares two knees,
honestly when one side missed the objective at its very first level. `walls` draws both on one figure
in the style of scalelab.kit.plots: p95 and error rate against users, objective and knees marked.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cached_property

import pandas as pd
from matplotlib.figure import Figure

from scalelab.kit import analysis, plots
from scalelab.kit.load import Run

OBJECTIVE_MS = 300  # the course's latency objective (p95), as in analysis.knee
MAX_ERROR_RATE = 0.01  # the course's error objective, as in analysis.knee
# Locust's per-second percentiles cover about its last 10 s (see analysis.SETTLE_S): a level as wide as
# the users who arrive in that time is measured mostly by its own users, and a ramp gets ~25 levels.
LOCUST_WINDOW_S = 10
# Both sides send their welcome emails to a provider that takes this long to accept each one, as a
# real one does (a few hundred ms); the stack's provider answers at once unless told otherwise, which
# would hide what the email inside the request costs the broken app (Labs 1 and 3).
PROVIDER_LATENCY_MS = 500
COLORS = ("tab:red", "tab:blue", "tab:orange", "tab:green")


def level_width(history: pd.DataFrame) -> int:
    """Users per level for a continuous ramp: as many as arrive in Locust's percentile window, rounded
    to one significant digit (96 -> 100, 384 -> 400). From the history alone: peak over time to reach it."""
    peak = history.users.max()
    ramp_s = max(history.elapsed_s[history.users >= peak].iloc[0], 1.0)
    width = peak / ramp_s * LOCUST_WINDOW_S
    unit = 10 ** math.floor(math.log10(width))
    return max(1, int(round(width / unit) * unit))


@dataclass
class Wall:
    """One side of the comparison: a finished load Run under a ramp, read at its own level width."""

    label: str
    run: Run

    @cached_property
    def history(self) -> pd.DataFrame:
        return self.run.history

    @cached_property
    def level_width(self) -> int:
        return level_width(self.history)

    @cached_property
    def levels(self) -> pd.DataFrame:
        return analysis.by_level(self.history, level_width=self.level_width, settle_s=0)

    @cached_property
    def knee(self) -> int | None:
        return analysis.knee(
            self.history, OBJECTIVE_MS, MAX_ERROR_RATE, level_width=self.level_width, settle_s=0
        )

    @property
    def peak_users(self) -> int:
        return int(self.history.users.max())

    @property
    def peak_rps(self) -> float:
        return float(self.levels.rps.max())

    @property
    def held_everything(self) -> bool:
        """The objective held at every level, up to the peak: the run never reached its wall."""
        return self.knee == int(self.levels.users.max())

    def knee_text(self) -> str:
        if self.knee is None:
            return f"below the first level (< {self.level_width:,} users)"
        return f"{self.knee:,} users" + (" (the peak: no wall reached)" if self.held_everything else "")


def ratio(broken: Wall, fixed: Wall) -> tuple[float | None, str]:
    """fixed knee / broken knee, and how to say it. A broken knee below the first level gives a lower bound."""
    if fixed.knee is None:
        return None, "n/a: the fixed stack missed the objective at its first level too"
    if broken.knee is None:
        bound = fixed.knee / broken.level_width
        return bound, f"more than {bound:.1f}x (the broken knee is below its first level, {broken.level_width:,} users)"
    return fixed.knee / broken.knee, f"{fixed.knee / broken.knee:.1f}x"


# What each failure of Labs 1 to 3 looks like in a load run, and the measure that shows it.
REPORT_ROWS = (
    ("Lab 1: the connection pool", "requests answered 5xx or not at all"),
    ("Lab 2: sessions in one process", "401s: a logged-in user was logged out"),
    ("Lab 2: uploads on one disk", "avatars that 404 a visit after their upload"),
    ("Lab 3: the email in the request", "p95 of POST /api/signup (ms)"),
    ("Lab 3: the PDF in the request", "p95 of POST /api/reports (ms)"),
    ("all of it", "p95 of every request (ms)"),
    ("all of it", "share of requests that failed"),
)


def _status(error: str) -> int | None:
    """The HTTP status in one of Locust's failure texts ("401: logged out …", "… code=503 …"), if any."""
    found = re.search(r"\b([45]\d\d)\b", error)
    return int(found.group(1)) if found else None


def _report_column(run: Run) -> list:
    summary = run.summary
    failures = pd.DataFrame(summary["errors"], columns=["endpoint", "error", "count"])
    status = failures.error.map(_status).astype(float)  # NaN: no HTTP answer at all
    endpoints = summary["endpoints"]
    return [
        int(failures["count"][(status >= 500) | status.isna()].sum()),
        int(failures["count"][status == 401].sum()),
        int(failures["count"][(status == 404) & (failures.endpoint == "/avatars/[file]")].sum()),
        endpoints.get("/api/signup", {}).get("p95_ms"),
        endpoints.get("/api/reports", {}).get("p95_ms"),
        summary["p95_ms"],
        f"{summary['error_rate']:.1%}",
    ]


def report_card(runs: dict[str, Run]) -> pd.DataFrame:
    """One row per failure the course fixed, one column per run (e.g. {"broken": …, "fixed": …}): how
    that failure showed in the run, from Locust's failures and per-endpoint latencies."""
    index = pd.MultiIndex.from_tuples(REPORT_ROWS, names=["failure", "measure"])
    return pd.DataFrame({label: _report_column(run) for label, run in runs.items()}, index=index)


def walls(runs: dict[str, Run]) -> Figure:
    """p95 and error rate against users for each run (e.g. {"broken": …, "fixed": …}), knees marked."""
    figure = plots._new_figure(figsize=(9, 6))
    latency, errors = figure.subplots(2, 1, sharex=True, height_ratios=(2, 1))
    for (label, run), color in zip(runs.items(), COLORS):
        wall = Wall(label, run)
        missed = "" if wall.knee is not None else " (no level met the objective)"
        latency.plot(wall.levels.users, wall.levels.p95_ms, "o-", color=color, label=f"{label}: p95{missed}")
        plots._error_panel(errors, wall.levels.users, wall.levels.error_rate, color=color, label=f"{label}: errors")
        if wall.knee is not None:
            for axes in (latency, errors):
                axes.axvline(wall.knee, color=color, linestyle="-.", label=f"{label} knee: {wall.knee:,} users" if axes is latency else None)
    latency.axhline(OBJECTIVE_MS, color="gray", linestyle="--", label=f"objective: p95 < {OBJECTIVE_MS} ms")
    errors.axhline(MAX_ERROR_RATE, color="gray", linestyle="--", label=f"objective: errors < {MAX_ERROR_RATE:.0%}")
    plots._latency_axis(latency)
    errors.set_xlabel("users")
    for axes in (latency, errors):
        axes.grid(True, alpha=0.3)
        axes.legend(loc="upper left", fontsize=8)
    figure.suptitle(f"The wall: {' vs '.join(runs)} under the same ramp")
    return figure
