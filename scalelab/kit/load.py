"""Run Locust against the stack, as a subprocess, and read what it measured.

Locust runs in its own process because importing it patches the caller with gevent, which breaks a
Jupyter kernel. One Locust process drives one core; `processes=N` runs Locust's distributed mode on
this machine (`--processes N`: a master and N forked workers, which share the users between them), and
the master, which sums what its workers report, writes the CSVs. They go under
`.lab/runs/<timestamp>-<profile>/`; `Run` reads them with pandas:
    run.history   one row per second: time, users, rps, failures_per_s, p50_ms, p95_ms, p99_ms
    run.summary   totals: requests, failures, error_rate, rps, p50/p95/p99 (ms), per endpoint too
    run.errors    each distinct failure with its count
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from scalelab.errors import LabError
from scalelab.kit import annotations, profiles
from scalelab.kit import returning as returning_members
from scalelab.kit.clients import require_app
from scalelab.paths import REPO, SEED_CREDENTIALS, STATE
from scalelab.stack import settings as settings_module

RUNS = STATE / "runs"
LOCUSTFILE = REPO / "scalelab" / "kit" / "locustfile.py"
CPU_WARNING = "CPU usage above"  # Locust's own warning when the load generator itself saturates
# With --processes, the master's warning that one of its workers saturated a core.
WORKER_CPU_WARNING = "exceeded cpu threshold"
# With --processes, the master stops the test when no worker has sent a heartbeat for 30 s (the
# liveness locustfile.py sets), as on a machine too busy to schedule them; it logs this at INFO level.
WORKERS_LOST = "The last worker went missing"

HISTORY_COLUMNS = {
    "User Count": "users",
    "Requests/s": "rps",
    "Failures/s": "failures_per_s",
    "50%": "p50_ms",
    "95%": "p95_ms",
    "99%": "p99_ms",
}


@dataclass
class Run:
    directory: Path

    @property
    def history(self) -> pd.DataFrame:
        raw = pd.read_csv(self.directory / "locust_stats_history.csv", na_values=["N/A"])
        rows = raw[raw["Name"] == "Aggregated"]
        history = rows[["Timestamp", *HISTORY_COLUMNS]].rename(columns=HISTORY_COLUMNS)
        history.insert(0, "time", pd.to_datetime(history.pop("Timestamp"), unit="s"))
        history["elapsed_s"] = (history["time"] - history["time"].iloc[0]).dt.total_seconds()
        return history.reset_index(drop=True)

    @property
    def endpoints(self) -> pd.DataFrame:
        stats = pd.read_csv(self.directory / "locust_stats.csv", na_values=["N/A"])
        return stats.rename(columns={"Request Count": "requests", "Failure Count": "failures"})

    @property
    def errors(self) -> pd.DataFrame:
        path = self.directory / "locust_failures.csv"
        if not path.exists():
            return pd.DataFrame(columns=["Method", "Name", "Error", "Occurrences"])
        return pd.read_csv(path).sort_values("Occurrences", ascending=False).reset_index(drop=True)

    @property
    def summary(self) -> dict:
        return json.loads((self.directory / "summary.json").read_text())


def _summarize(run: Run, profile: profiles.Profile, seed: int, seconds: float, cpu_warning: bool, processes: int) -> dict:
    endpoints = run.endpoints
    total = endpoints[endpoints["Name"] == "Aggregated"].iloc[0]
    requests_total = int(total["requests"])
    failures = int(total["failures"])

    def percentiles(row) -> dict:
        return {f"p{q}_ms": None if pd.isna(row[f"{q}%"]) else float(row[f"{q}%"]) for q in (50, 95, 99)}

    return {
        "profile": profile.name,
        "peak_users": profile.peak_users,
        "seed": seed,
        "duration_s": round(seconds, 1),
        "requests": requests_total,
        "failures": failures,
        "error_rate": failures / requests_total if requests_total else 0.0,
        "rps": float(total["Requests/s"]),
        **percentiles(total),
        "loadgen_cpu_warning": cpu_warning,
        "loadgen_processes": processes,
        "endpoints": {
            row["Name"]: {"requests": int(row["requests"]), "failures": int(row["failures"]), **percentiles(row)}
            for _, row in endpoints[endpoints["Name"] != "Aggregated"].iterrows()
        },
        "errors": [
            {"endpoint": row["Name"], "error": row["Error"], "count": int(row["Occurrences"])}
            for _, row in run.errors.iterrows()
        ],
    }


def _progress_line(directory: Path, elapsed: float, total: float) -> str | None:
    path = directory / "locust_stats_history.csv"
    try:
        rows = pd.read_csv(path, na_values=["N/A"])
    except (OSError, pd.errors.EmptyDataError):
        return None
    rows = rows[rows["Name"] == "Aggregated"]
    if rows.empty:
        return None
    last = rows.iloc[-1]
    p95 = "-" if pd.isna(last["95%"]) else f"{last['95%']:.0f} ms"
    return (
        f"  {elapsed:5.0f}/{total:.0f} s  users {int(last['User Count']):>6}  rps {last['Requests/s']:7.1f}  "
        f"failures/s {last['Failures/s']:6.1f}  p95 {p95}"
    )


def _distributed(processes: int) -> list[str]:
    """Locust's options for a master and `processes` forked workers, talking over a port of their own:
    Locust's default (5557) would be shared by every lab stack and test on the machine."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    return ["--processes", str(processes), "--master-bind-host", "127.0.0.1", "--master-bind-port", port, "--master-port", port]


def run(
    profile: str = "baseline",
    users: int | None = None,
    duration: float | None = None,
    seed: int = 42,
    progress: bool = True,
    host: str | None = None,
    processes: int = 1,
    shorten: bool = True,
    returning: bool = False,
) -> Run:
    """Run a load profile to its end and return its Run. Prints one progress line every few seconds.

    processes: Locust worker processes (see the module docstring); 1 runs a single Locust process.
    shorten: False keeps the duration whatever SCALELAB_RUN_SCALE says (CI's knob: .ci/run sets 0.5,
    and the same users then arrive in half the time). A check's run is sized to what its verdict
    needs, so it is not shortened.
    returning: the members arrive with the session cookies kept by returning.remember() (call it first),
    and log in only when the app refuses one; otherwise each member logs in as it arrives.
    """
    if processes < 1:
        raise LabError(f"processes is {processes}: pass 1 (one Locust process) or more (Locust's workers)")
    chosen = profiles.get(profile).scaled(users, duration)
    lab = settings_module.load()
    # on stderr, as the cap's line: `scalelab load --json` keeps stdout for its JSON
    if shorten and lab.run_scale != 1:
        print(
            f"load: SCALELAB_RUN_SCALE={lab.run_scale:g}: {chosen.duration_s * lab.run_scale:.0f} s instead of "
            f"{chosen.duration_s:.0f} s",
            file=sys.stderr, flush=True,
        )
        chosen = chosen.scaled(duration_s=chosen.duration_s * lab.run_scale)
    chosen, capped = lab.machine.fit(chosen)
    if capped:
        print(f"load: {capped}", file=sys.stderr, flush=True)
    host = host or lab.app_url
    require_app(host)
    directory = RUNS / f"{datetime.now():%Y%m%d-%H%M%S}-{chosen.name}"
    directory.mkdir(parents=True, exist_ok=True)
    journeys = [name for name, weight in chosen.mix.items() if weight > 0]
    command = [
        str(Path(sys.executable).parent / "locust"),
        "-f", str(LOCUSTFILE),
        "--headless",
        "--host", host,
        "--csv", str(directory / "locust"),
        "--exit-code-on-error", "0",  # failures are measurements here, not a crash of the run
        "--stop-timeout", "5",
        # INFO for a distributed run: the master logs its workers' comings and goings there.
        "--loglevel", "INFO" if processes > 1 else "WARNING",
        *(_distributed(processes) if processes > 1 else []),
        *journeys,
    ]
    env = {
        **os.environ,
        "SCALELAB_LOAD_PROFILE": chosen.to_json(),
        "SCALELAB_LOAD_SEED": str(seed),
        "SCALELAB_RUN_ID": directory.name,
        "SCALELAB_CREDENTIALS": str(SEED_CREDENTIALS),
    }
    if returning:
        if not returning_members.FILE.exists():
            raise LabError("no returning members' cookies yet: call scalelab.kit.returning.remember(settings, members) first")
        env["SCALELAB_RETURNING"] = str(returning_members.FILE)
    if progress:
        workers = f", {processes} Locust workers" if processes > 1 else ""
        print(
            f"load: {chosen.description}; {chosen.peak_users} users for {chosen.duration_s:.0f} s{workers} -> {directory}",
            flush=True,
        )
    grafana = annotations.grafana(lab)  # None without Grafana: the marks are skipped
    annotations.mark(grafana, f"load run {directory.name} started: {chosen.description}", [chosen.name])
    started = time.monotonic()
    with open(directory / "locust.log", "wb") as log:
        locust = subprocess.Popen(command, cwd=directory, env=env, stdout=log, stderr=subprocess.STDOUT)
        while locust.poll() is None:
            time.sleep(5)
            line = _progress_line(directory, time.monotonic() - started, chosen.duration_s)
            if progress and line:
                print(line, flush=True)
    seconds = time.monotonic() - started
    log_text = (directory / "locust.log").read_text(errors="replace")
    if locust.returncode != 0 or not (directory / "locust_stats.csv").exists():
        tail = "\n".join(log_text.strip().splitlines()[-8:])
        raise LabError(f"Locust failed (exit {locust.returncode}); its log {directory / 'locust.log'} ends with:\n{tail}")
    if WORKERS_LOST in log_text:
        raise LabError(
            f"Locust's master lost its {processes} workers (no heartbeat for 30 s: the machine is too busy) and stopped "
            f"the run early: run it again, with fewer processes; its log is {directory / 'locust.log'}"
        )
    result = Run(directory)
    cpu_warning = CPU_WARNING in log_text or WORKER_CPU_WARNING in log_text
    summary = _summarize(result, chosen, seed, seconds, cpu_warning, processes)
    (directory / "summary.json").write_text(json.dumps(summary, indent=2))
    annotations.mark(
        grafana,
        f"load run {directory.name} ended: {summary['requests']} requests, p95 {summary['p95_ms']} ms, "
        f"errors {summary['error_rate']:.1%}",
        [chosen.name],
    )
    return result
