"""What saturates first: the CPU each part of the native stack uses while a load run climbs.

`CpuSampler` samples, once a second while a `with` block runs, the CPU of each service's whole process
tree (a gunicorn master and its workers, PostgreSQL and every backend…), of the load generator (the
Locust processes this Python process started, e.g. through `load.run`) and of the rest of the machine
(other programs; on a shared machine, other people's stacks). Units: percent of one core, so two busy
cores read 200%. `top_consumers` ranks them over a stretch of the run, `wall_window` picks the stretch
where a run hit its wall, and `bottleneck` says in one line what reached its ceiling.
`hashing_demand` says how much of the CPU the run's logins and signups asked for on their own, and
`cpu_per_request` what each service spent per request over the run.

A process that starts and ends between two samples is missed, and so is the CPU a process used in the
second before it was first seen: the shares are a little low for short-lived processes.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import psutil
from werkzeug.security import check_password_hash, generate_password_hash

from scalelab.kit import sampling
from scalelab.stack import Stack, current

SAMPLED = ("app1", "app2", "worker", "postgres", "pgbouncer", "redis", "nginx")
LOADGEN = "locust (load generator)"
OTHERS = "rest of the machine"
# Single-threaded servers: one core is all they can ever use, however many the machine has.
SINGLE_CORE = ("redis", "pgbouncer")
# A share of its ceiling above which a consumer counts as saturated: Locust warns at the same 90%.
SATURATED = 0.9
# Where Chirp hashes a password (broken_app/auth.py): the load's journeys sign up and log in by the API.
HASHING_ROUTES = ("/api/login", "/api/signup")


def service_trees(running: Stack) -> dict[str, list[psutil.Process]]:
    """Each running sampled service's processes, and the load generator's (see locust_children)."""
    trees = {name: running.processes(name) for name in SAMPLED}
    trees = {name: processes for name, processes in trees.items() if processes}
    trees[LOADGEN] = locust_children()
    return trees


def locust_children() -> list[psutil.Process]:
    """The Locust processes this Python process started. Not every child: a service restarted from here
    (`scalelab restart` in a notebook, a test) is a child too, and is sampled as that service."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if any("locust" in part for part in child.cmdline()):
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


def _busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot, over all cores."""
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


@dataclass
class CpuSampler:
    """CPU per service every `interval_s` while a `with sampler.running():` block runs (see the module)."""

    interval_s: float = 1.0
    rows: list[dict] = field(default_factory=list)
    stack: Stack = field(default_factory=current)  # whose services' processes are sampled
    _seen: dict[tuple[int, float], float] = field(default_factory=dict)  # (pid, create time) -> CPU seconds
    _last: tuple[float, float] | None = None  # (wall time, machine busy seconds) at the previous sample

    def sample(self) -> None:
        now, busy = time.time(), _busy_seconds()
        used: dict[str, float] = {}
        seen = {}
        for service, tree in service_trees(self.stack).items():
            for proc in tree:
                try:
                    key = (proc.pid, proc.create_time())
                    times = proc.cpu_times()
                except psutil.NoSuchProcess:
                    continue
                seen[key] = times.user + times.system
                # A process first seen now counts from the next sample on, unless it started since the last.
                started_since = self._last is not None and key[1] >= self._last[0]
                before = self._seen.get(key, 0.0 if started_since else seen[key])
                used[service] = used.get(service, 0.0) + seen[key] - before
        if self._last is not None:
            seconds = now - self._last[0]
            at = pd.Timestamp(now, unit="s")
            for service, cpu in used.items():
                self.rows.append({"time": at, "service": service, "cpu_percent": 100 * cpu / seconds})
            others = 100 * (busy - self._last[1]) / seconds - 100 * sum(used.values()) / seconds
            self.rows.append({"time": at, "service": OTHERS, "cpu_percent": max(others, 0.0)})
        self._seen, self._last = seen, (now, busy)

    @contextmanager
    def running(self):
        with sampling.every(self.interval_s, self.sample, at_start=True):
            yield self

    @property
    def samples(self) -> pd.DataFrame:
        """One row per service and second: time (UTC, as in a load Run's history), service, cpu_percent."""
        return pd.DataFrame(self.rows, columns=["time", "service", "cpu_percent"])


def top_consumers(samples: pd.DataFrame, start=None, end=None) -> pd.DataFrame:
    """Mean and peak CPU (% of one core) of each service between start and end, busiest first."""
    window = samples
    if start is not None:
        window = window[window.time >= start]
    if end is not None:
        window = window[window.time <= end]
    ranked = window.groupby("service").cpu_percent.agg(cpu_percent="mean", peak_percent="max")
    return ranked.sort_values("cpu_percent", ascending=False).reset_index()


def wall_window(history: pd.DataFrame, knee: int | None, level_width: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The first and last second of the level where the run hit its wall: the first level past the knee.

    The first level when even it missed the objective (knee None); the highest level when the run never
    hit its wall. Levels are binned as `analysis.by_level(history, level_width=...)` bins them.
    """
    levels = np.ceil(history.users / level_width) * level_width
    reached = levels[levels > 0]
    past_knee = reached[reached > (knee or 0)]
    wall = past_knee.min() if not past_knee.empty else reached.max()
    times = history.time[levels == wall]
    return times.min(), times.max()


def bottleneck(top: pd.DataFrame, cores: int, loadgen_processes: int = 1) -> str:
    """One line: which consumer in `top` (see top_consumers) was at its CPU ceiling, the load generator first."""
    cpu = dict(zip(top.service, top.cpu_percent))
    # Locust's master is nearly idle; each of its workers (or the single process) drives one core.
    if cpu.get(LOADGEN, 0.0) >= SATURATED * 100 * loadgen_processes:
        return (
            f"the load generator: Locust used {cpu[LOADGEN]:.0f}% of a core with {loadgen_processes} process(es), "
            "so the run measured Locust as much as the app: give it more --processes"
        )
    for service in SINGLE_CORE:
        if cpu.get(service, 0.0) >= SATURATED * 100:
            return f"{service}: {cpu[service]:.0f}% of the one core a single-threaded server can use"
    total = sum(cpu.values())
    if total >= SATURATED * 100 * cores:
        busiest = ", ".join(f"{row.service} {row.cpu_percent:.0f}%" for row in top.head(3).itertuples())
        return f"the CPU: {total:.0f}% of {cores} cores ({cores * 100}%) in use; busiest: {busiest}"
    return (
        f"no CPU ceiling ({total:.0f}% of {cores * 100}% in use): the wall is a wait, not work "
        "(a pool, a lock, a slow dependency): read the run's errors and the app's log"
    )


def cpu_per_request(samples: pd.DataFrame, requests: int, interval_s: float = 1.0) -> pd.Series:
    """Milliseconds of CPU each service spent per request answered, over a whole run: its CPU seconds
    (each sample's share of a core times the sampling interval) over the run's requests, busiest
    first. app1 and app2 together are the app's cost (benchmarks/cpu_per_request.py gives it per endpoint)."""
    if requests <= 0 or samples.empty:
        return pd.Series(dtype=float)
    cpu_s = samples.groupby("service").cpu_percent.sum() / 100 * interval_s
    return (1000 * cpu_s / requests).sort_values(ascending=False)


def hash_cost_s(checks: int = 3) -> float:
    """CPU seconds of one password check on this machine, measured with the app's own call (werkzeug's
    default scrypt). Measure it before a run: on a busy machine it reads the same, but takes longer."""
    stored = generate_password_hash("launch-day")
    started = time.process_time()
    for _ in range(checks):
        check_password_hash(stored, "launch-day")
    return (time.process_time() - started) / checks


def hashing_demand(endpoints: dict, seconds: float, cost_s: float, cores: int) -> tuple[float, str]:
    """(cores, line): the CPU the run's logins and signups asked for by hashing alone, whether or not
    they were answered. endpoints: a load summary's, {name: {"requests": n, ...}}."""
    asked = sum(endpoints.get(route, {}).get("requests", 0) for route in HASHING_ROUTES)
    needed = asked * cost_s / seconds if seconds > 0 else 0.0
    return needed, (
        f"password hashing alone asked for {needed:.1f} of {cores} cores: {asked:,} logins and signups in "
        f"{seconds:.0f} s, {cost_s:.2f} s of CPU each here"
    )
