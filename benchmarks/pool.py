"""Lab 1 before and after, measured in one run: Chirp scaled out the naive way, broken and then fixed.

    .venv/bin/python benchmarks/pool.py                  # 300 signing up + 50 reading, 20 s, email at 2 s
    .venv/bin/python benchmarks/pool.py --signups 200 --seconds 30

Both app instances run 8 gunicorn workers each (WEB_CONCURRENCY=8: the scale-out of the lab's
section 2), each worker with 32 threads. For 20 s, 300 clients sign up while 50 read the public feed,
each sending its next request as soon as the last one is answered (scalelab.kit.clients), and the email
provider takes 2 s per message. First on the broken app: its 16 pools may open 16 x 15 = 240
connections, and PostgreSQL refuses them past max_connections. Then `scalelab solve 1`, and the same
run on the fixed app, whose pools go through PgBouncer. The fixed app keeps 32 threads per worker
but pools only 8 connections each (CHIRP_DB_POOL_SIZE), so both runs have the same 512 threads and
only the connections differ.

It prints, for both runs, each endpoint's p95 and error rate with the ratio broken / fixed (above 1:
the fix did better), the peak of Chirp's connections in PostgreSQL, and what the failures were.

Expected on 2 cores: the broken run fails a large share of its signups ("remaining connection slots
are reserved", "too many clients"); the fixed run fails none, and PostgreSQL carries at most
PgBouncer's pool. Signup latency is high in both runs: a signup hashes a password (about 0.1 s of CPU)
and waits 2 s for the email inside the request, and the closed-loop clients keep 2 cores busy on
purpose.

Needs the native stack (`make up`) and Lab 1's modules as in git: it refuses to run over your edits.
It changes the stack while it runs and puts it back at the end, even when it fails or is interrupted:
`scalelab reset 1`, app1 and app2 restarted with their usual settings, faults cleared. About 3
minutes.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import requests
from labrun import (
    before_and_after,
    endpoint_rows,
    preflight,
    print_comparison,
    run,
    scalelab,
    summarize,
    wave_arguments,
)

from scalelab import stack
from scalelab.kit import applogs, faults
from scalelab.kit.clients import signup_wave
from scalelab.kit.pg import ConnectionSampler
from scalelab.stack import settings as settings_module

LAB = "1"
APPS = ["app1", "app2"]
# How each failure shows in the app's log (one `ERROR` line per failed request).
ERROR_KINDS = {
    "PostgreSQL refused the connection": r"remaining connection slots are reserved|too many clients already",
    "timed out waiting for a pooled connection": r"QueuePool limit|TimeoutError",
}


def restart_apps(settings, env: dict[str, str] | None = None) -> None:
    """Restart app1 and app2 (with extra environment), and wait until every worker has answered."""
    since = datetime.now(timezone.utc)
    stack.current(settings).restart(APPS, env=env)
    expected = len(APPS) * int((env or {}).get("WEB_CONCURRENCY", 2))
    deadline = time.monotonic() + 60
    answered = 0
    while answered < expected and time.monotonic() < deadline:
        with ThreadPoolExecutor(max_workers=32) as pool:
            list(pool.map(lambda _: requests.get(f"{settings.app_url}/healthz", timeout=30), range(64)))
        pids = applogs.grep(r"pid=\d+ GET /healthz", since=since).line.str.extract(r"pid=(\d+)")[0]
        answered = pids.nunique()
    if answered < expected:
        print(f"  warning: only {answered} of {expected} workers answered within a minute", flush=True)


def measure(label: str, settings, args) -> dict:
    print(f"{label}: restarting app1 and app2 with {args.workers} workers each…", flush=True)
    restart_apps(settings, {"WEB_CONCURRENCY": str(args.workers)})
    print(
        f"{label}: {args.signups} clients signing up and {args.readers} reading the feed for {args.seconds:g} s, "
        f"the email provider at {args.email_ms} ms…",
        flush=True,
    )
    sampler = ConnectionSampler(settings)
    started_at = datetime.now(timezone.utc)
    started = time.monotonic()
    faults.set_fault("smtp_latency_ms", args.email_ms)
    try:
        with sampler.running():
            wave = signup_wave(settings.app_url, args.signups, args.readers, args.seconds)
    finally:
        faults.set_fault("smtp_latency_ms", 0)
    logged = applogs.grep(r"ERROR ", since=started_at).line
    kinds = {kind: int(logged.str.contains(pattern).sum()) for kind, pattern in ERROR_KINDS.items()}
    kinds["other"] = len(logged) - sum(kinds.values())
    return {
        "label": label,
        "seconds": time.monotonic() - started,
        "feed": summarize(wave.reads),
        "signup": summarize(wave.signups),
        "all": summarize(wave.reads + wave.signups),
        "peak_connections": sampler.peak_server_connections,
        "peak_direct": sampler.peak_direct,
        "logged_errors": kinds,
    }


def report(before: dict, after: dict, pool_size: int) -> None:
    rows = endpoint_rows(before, after, ("feed", "signup", "all"))
    rows.append(("peak PostgreSQL conns", str(before["peak_connections"]), str(after["peak_connections"]), ""))
    rows.append(("  of them not via PgBouncer", str(before["peak_direct"]), str(after["peak_direct"]), ""))
    rows.append(("run time", f"{before['seconds']:.0f} s", f"{after['seconds']:.0f} s", ""))
    print_comparison(rows)
    print(f"\n(PgBouncer's pool: {pool_size} server connections)")
    for each in (before, after):
        statuses = ", ".join(f"{status or 'no answer'} x{count}" for status, count in sorted(each["all"]["statuses"].items()))
        kinds = ", ".join(f"{kind} x{count}" for kind, count in each["logged_errors"].items() if count) or "none"
        print(f"{each['label']}: HTTP statuses {statuses}; errors in the app's log: {kinds}")


def main() -> int:
    parser = wave_arguments(__doc__.splitlines()[0], signups=300, readers=50, email_ms=2000)
    parser.add_argument("--workers", type=int, default=8, help="gunicorn workers per instance (default 8)")
    args = parser.parse_args()

    settings = settings_module.load()
    preflight(settings, (LAB,))
    pool_size = int(settings["PGBOUNCER_POOL_SIZE"])

    def put_back() -> None:
        print("putting the stack back: faults cleared, scalelab reset 1, usual app settings…", flush=True)
        if "restarting app1, app2" not in scalelab("reset", LAB):
            stack.current(settings).restart(APPS)

    before, after = before_and_after(LAB, lambda label: measure(label, settings, args), put_back)
    report(before, after, pool_size)
    return 0


if __name__ == "__main__":
    run(main, "benchmarks/pool.py")
