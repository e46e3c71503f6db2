"""Plots of load runs for the notebooks. Each function returns a matplotlib Figure and shows nothing:
a notebook displays the Figure a cell ends with, and a script can `figure.savefig(...)` it.
Each figure is made with pyplot (importing it is what lets Jupyter's inline backend render a
Figure) and closed before it is returned: at the end of a cell the backend also draws every figure
pyplot still holds, so an open one would appear twice.

The x axis is the number of users, per level as `analysis.by_level` summarises them; `level_width`
and `settle_s` are passed on to it (see there; a continuous ramp needs level_width). Latency axes
are logarithmic: a healthy 40 ms and a 30 s pool timeout both have to stay readable on one plot.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, PercentFormatter

from scalelab.errors import LabError
from scalelab.kit import analysis, dashboards, prom

LATENCY_STYLE = {"p50_ms": ("p50", ":"), "p95_ms": ("p95", "-"), "p99_ms": ("p99", "--")}
ERROR_COLOR = "tab:red"
KNEE_COLOR = "tab:green"


def over_users(
    history: pd.DataFrame,
    knee: int | None = None,
    *,
    title: str = "Latency, errors and throughput by number of users",
    level_width: int | None = None,
    settle_s: int = analysis.SETTLE_S,
) -> Figure:
    """Three panels over a shared users axis: p50/p95/p99, error rate and requests/s."""
    levels = analysis.by_level(history, level_width=level_width, settle_s=settle_s)
    figure = _new_figure(figsize=(8, 8))
    latency, errors, throughput = figure.subplots(3, 1, sharex=True)
    for column, (label, linestyle) in LATENCY_STYLE.items():
        latency.plot(levels.users, levels[column], linestyle, marker="o", color="tab:blue", label=label)
    _latency_axis(latency)
    _error_panel(errors, levels.users, levels.error_rate, color=ERROR_COLOR, label="errors")
    throughput.plot(levels.users, levels.rps, "o-", color="tab:purple", label="requests/s")
    throughput.set_ylabel("requests/s")
    throughput.set_ylim(bottom=0)
    throughput.set_xlabel("users")
    for axes in (latency, errors, throughput):
        axes.grid(True, alpha=0.3)
        if knee is not None:
            _mark_knee(axes, knee, with_label=axes is latency)
    latency.legend(loc="upper left")
    figure.suptitle(title)
    return figure


def wall(
    history: pd.DataFrame,
    knee: int | None = None,
    objective_ms: float = 300,
    max_error_rate: float = 0.01,
    *,
    level_width: int | None = None,
    settle_s: int = analysis.SETTLE_S,
) -> Figure:
    """The wall: p95 and error rate against users, with the objective and the knee marked.

    The knee is computed from the objective (see `analysis.knee`) unless you pass one.
    """
    levels = analysis.by_level(history, level_width=level_width, settle_s=settle_s)
    if knee is None:
        knee = analysis.knee(history, objective_ms, max_error_rate, level_width=level_width, settle_s=settle_s)
    figure = _new_figure(figsize=(8, 6))
    latency, errors = figure.subplots(2, 1, sharex=True, height_ratios=(2, 1))
    latency.plot(levels.users, levels.p95_ms, "o-", color="tab:blue", label="p95 latency")
    latency.axhline(objective_ms, color="gray", linestyle="--", label=f"objective: p95 < {objective_ms:g} ms")
    _latency_axis(latency)
    _error_panel(errors, levels.users, levels.error_rate, color=ERROR_COLOR, label="errors")
    errors.axhline(max_error_rate, color="gray", linestyle="--", label=f"objective: errors < {max_error_rate:.0%}")
    errors.set_xlabel("users")
    for axes in (latency, errors):
        axes.grid(True, alpha=0.3)
        if knee is not None:
            _mark_knee(axes, knee, with_label=axes is latency)
            # Right of the knee, some level missed the objective: the wall is in there.
            past_knee = "past the knee" if axes is latency else None
            axes.axvspan(knee, levels.users.max(), color=ERROR_COLOR, alpha=0.06, label=past_knee)
        axes.legend(loc="upper left")
    if knee is None:
        figure.suptitle("The wall: no level met the objective")
    else:
        figure.suptitle(f"The wall: the objective holds up to {knee:,} users")
    return figure


def before_after(
    before: pd.DataFrame,
    after: pd.DataFrame,
    labels: tuple[str, str] = ("broken", "fixed"),
    *,
    x: str = "users",
    objective_ms: float = 300,
    level_width: int | None = None,
    settle_s: int = analysis.SETTLE_S,
) -> Figure:
    """Two runs overlaid: p95 and error rate against users (x="users") or seconds since each run began (x="time")."""
    if x not in ("users", "time"):
        raise LabError(f'x is {x!r}: pass x="users" or x="time"')
    figure = _new_figure(figsize=(8, 6))
    latency, errors = figure.subplots(2, 1, sharex=True)
    for run, label, color in zip((before, after), labels, ("tab:red", "tab:blue")):
        if x == "users":
            points = analysis.by_level(run, level_width=level_width, settle_s=settle_s)
            xs, style = points.users, "o-"
        else:
            points = _per_second(run)
            xs, style = points.seconds, "-"
        latency.plot(xs, points.p95_ms, style, color=color, label=f"{label}: p95")
        _error_panel(errors, xs, points.error_rate, color=color, label=f"{label}: errors", style=style)
    latency.axhline(objective_ms, color="gray", linestyle="--", label=f"objective: p95 < {objective_ms:g} ms")
    _latency_axis(latency)
    errors.set_xlabel("users" if x == "users" else "seconds since the run began")
    for axes in (latency, errors):
        axes.grid(True, alpha=0.3)
        axes.legend(loc="upper left")
    figure.suptitle(f"p95 latency and errors: {labels[0]} vs {labels[1]}")
    return figure


def dashboard(name: str, start, end, *, step: str = "5s") -> Figure:
    """The time-series panels of one of Grafana's dashboards (infra/grafana/dashboards/<name>.json), with
    the same PromQL, drawn from Prometheus between start and end: Grafana's view in native mode."""
    panels = [panel for panel in dashboards.dashboard_panels(name) if panel.kind == "timeseries"]
    rows = (len(panels) + 1) // 2
    figure = _new_figure((13, 3.6 * rows))
    figure.suptitle(f"{name}: {start:%H:%M:%S} to {end:%H:%M:%S} UTC")
    for axes, panel in zip(figure.subplots(rows, 2, squeeze=False).flat, panels):
        for legend, expr in panel.queries:
            series = prom.query_range(expr, start, end, step)
            labels = [c for c in series.columns if c not in ("time", "value")]
            for key, points in series.groupby(labels, dropna=False) if labels else [((), series)]:
                names = dict(zip(labels, key if isinstance(key, tuple) else (key,)))
                axes.plot(points.time, points.value, label=dashboards.legend(legend, names))
        for threshold in panel.thresholds:
            axes.axhline(threshold, color=ERROR_COLOR, linestyle="--", linewidth=1)
        axes.set_title(panel.title, fontsize=10)
        axes.set_ylabel(panel.unit)
        axes.tick_params(axis="x", labelrotation=30, labelsize=8)
        if axes.get_legend_handles_labels()[0]:
            axes.legend(fontsize=8)
    for axes in figure.axes[len(panels):]:
        axes.set_visible(False)
    return figure


def _new_figure(figsize: tuple[float, float]) -> Figure:
    figure = plt.figure(figsize=figsize, layout="constrained")
    plt.close(figure)  # see the module docstring
    return figure


def _per_second(run: pd.DataFrame) -> pd.DataFrame:
    """A run's rows with seconds since its start and the error rate of each second."""
    run = run.sort_values("time")
    seconds = (run.time - run.time.iloc[0]).dt.total_seconds()
    error_rate = (run.failures_per_s / run.rps).where(run.rps > 0)
    return run.assign(seconds=seconds, error_rate=error_rate)


def _latency_axis(axes: Axes) -> None:
    axes.set_yscale("log")
    axes.yaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
    # Plain milliseconds (50, 200, 1,000) instead of powers of ten.
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    axes.yaxis.set_minor_formatter(FuncFormatter(lambda value, _: ""))
    axes.set_ylabel("latency (ms)")


def _error_panel(axes: Axes, xs, error_rate, *, color: str, label: str, style: str = "o-") -> None:
    axes.plot(xs, error_rate, style, color=color, label=label)
    axes.yaxis.set_major_formatter(PercentFormatter(xmax=1))
    # From 0 up to the highest error rate of every run drawn so far, so a second run is not cut off.
    highest = max(float(pd.Series(line.get_ydata(), dtype=float).max(skipna=True) or 0) for line in axes.get_lines())
    axes.set_ylim(0, max(highest, 0.01) * 1.1)
    axes.set_ylabel("errors")


def _mark_knee(axes: Axes, knee: int, *, with_label: bool) -> None:
    axes.axvline(knee, color=KNEE_COLOR, linestyle="-.", label=f"knee: {knee:,} users" if with_label else None)
