"""Can the load generator alone drive 10,000 users on 2 cores? Locust against a trivial endpoint.

    .venv/bin/python benchmarks/loadgen.py                 # 10,000 users, ramp at 100/s, hold 60 s
    .venv/bin/python benchmarks/loadgen.py --processes 2   # Locust's --processes, if one core is not enough

The users (benchmarks/locust_ping.py) think 10-20 s between requests, like Chirp's, and ask nginx's
/loadgen/ping, which nginx answers itself (infra/nginx/chirp.conf.template). So the only real work
is Locust's: if its CPU warning ("CPU usage above 90%") fires, the lab's load tests at 10,000 users
would measure the generator instead of the app. Target: 10,000 users, no failures, about 667
requests/s (10,000 / 15 s), and the warning never fires. Needs the stack's nginx (`make up`).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import psutil

from scalelab.kit.load import CPU_WARNING, require_app
from scalelab.stack import settings as settings_module

LOCUSTFILE = Path(__file__).with_name("locust_ping.py")
USERS = 10_000
THINK_S = (10, 20)


def tree(root: psutil.Process) -> list[psutil.Process]:
    try:
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def rss_bytes(processes: list[psutil.Process]) -> int:
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=USERS)
    parser.add_argument("--spawn-rate", type=float, default=100, help="users started per second (Locust warns above 100)")
    parser.add_argument("--hold", type=float, default=60, help="seconds at full strength")
    parser.add_argument("--processes", type=int, default=1, help="Locust worker processes (1: a single process)")
    args = parser.parse_args()

    url = settings_module.load().app_url
    require_app(url)
    ramp_s = args.users / args.spawn_rate
    run_s = ramp_s + args.hold
    directory = Path(tempfile.mkdtemp(prefix="loadgen-"))
    command = [
        str(Path(sys.executable).parent / "locust"),
        "-f", str(LOCUSTFILE),
        "--headless",
        "--host", url,
        "--users", str(args.users),
        "--spawn-rate", str(args.spawn_rate),
        "--run-time", f"{run_s:.0f}s",
        "--csv", str(directory / "ping"),
        "--stop-timeout", "5",
        "--exit-code-on-error", "0",
    ]
    if args.processes > 1:
        command += ["--processes", str(args.processes)]
    print(
        f"{args.users:,} users, think {THINK_S[0]}-{THINK_S[1]} s, ramp {ramp_s:.0f} s then hold {args.hold:.0f} s, "
        f"{args.processes} Locust process(es), against {url}/loadgen/ping",
        flush=True,
    )
    samples = []  # (seconds since start, cpu % of one core, rss bytes) once a second
    with open(directory / "locust.log", "wb") as log:
        locust = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        root = psutil.Process(locust.pid)
        started = time.monotonic()
        last_cpu, last_time = 0.0, started
        while locust.poll() is None:
            time.sleep(1)
            processes = tree(root)
            now, cpu = time.monotonic(), cpu_seconds(processes)
            samples.append((now - started, 100 * (cpu - last_cpu) / (now - last_time), rss_bytes(processes)))
            last_cpu, last_time = cpu, now
            if len(samples) % 10 == 0:
                print(f"  {now - started:5.0f} s  Locust CPU {samples[-1][1]:5.1f}% of a core", flush=True)
    log_text = (directory / "locust.log").read_text(errors="replace")
    stats = pd.read_csv(directory / "ping_stats.csv")
    total = stats[stats["Name"] == "Aggregated"].iloc[0]
    history = pd.read_csv(directory / "ping_stats_history.csv", na_values=["N/A"])
    history = history[history["Name"] == "Aggregated"]
    full = history[history["User Count"] >= args.users]
    # Locust's rate is averaged over its last ~12 s: skip the first 15 s at full strength.
    held = full.iloc[15:] if len(full) > 20 else full
    hold_cpu = [cpu for seconds, cpu, _ in samples if ramp_s + 15 <= seconds <= run_s]
    warning = CPU_WARNING in log_text
    print()
    print(f"users reached:        {int(history['User Count'].max()):,} (target {args.users:,})")
    print(f"requests:             {int(total['Request Count']):,}, failures {int(total['Failure Count']):,}")
    print(f"rps at full strength: {held['Requests/s'].mean():,.0f} (expected about {args.users / 15:,.0f})")
    print(f"p95 latency at full:  {held['95%'].median():,.0f} ms (nginx's 204; a slow one means a busy generator)")
    if hold_cpu:
        print(
            f"Locust CPU at full:   mean {sum(hold_cpu) / len(hold_cpu):.0f}%, max {max(hold_cpu):.0f}% of one core "
            f"({args.processes} process(es); Locust warns at 90% per process)"
        )
    print(f"Locust CPU, whole run: max {max(cpu for _, cpu, _ in samples):.0f}% of one core")
    print(f"Locust memory (RSS):  max {max(rss for _, _, rss in samples) / 2**20:,.0f} MiB")
    print(f"Locust's CPU warning: {'FIRED' if warning else 'never fired'}")
    met = (
        int(history["User Count"].max()) >= args.users
        and int(total["Failure Count"]) == 0
        and not warning
        and held["Requests/s"].mean() >= 0.9 * args.users / 15
    )
    print(f"target (all users, 0 failures, ~{args.users / 15:,.0f} rps, no CPU warning): {'met' if met else 'NOT met'}")
    print(f"Locust's CSVs and log: {directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
