"""CPU per request, measured from outside: what each read endpoint of Chirp costs the app and the stack.

    .venv/bin/python benchmarks/cpu_per_request.py                  # the app as the working tree holds it
    .venv/bin/scalelab solve 5 && .venv/bin/python benchmarks/cpu_per_request.py   # the fixed app

For each endpoint, CLIENTS clients send requests through nginx for --seconds, each on its own keep-alive
connection (logged-in members for the timeline, anonymous readers otherwise). Before and after, the CPU
time (user + system) of each service's whole process tree is read (saturation.CpuSampler, as
benchmarks/wall.py samples it: a gunicorn master and its workers, PostgreSQL and its backends…); the
difference over the requests answered is the CPU per request. Latency says how long a request waited; this says how many a core can serve: on 2 cores
shared with Locust and the rest of the stack, 10,000 users thinking 10-20 s send about 670 requests/s,
which leaves the app about 1.1 ms of CPU per request (issue 18).

The clients run in this process, so their own CPU is not counted; run nothing else meanwhile. The last
line weighs the endpoints as the launch-day profile reads them (LAUNCH_READS).
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import datetime

import requests
from labrun import run

from scalelab import stack
from scalelab.errors import LabError
from scalelab.kit import faults, saturation
from scalelab.kit.clients import closed_loop, log_in, percentile, require_app, seeded_credentials
from scalelab.paths import STATE
from scalelab.stack import settings as settings_module

# Enough to keep both instances busy on 2 cores. The clients share those cores, and the weighted figure
# moves by about 0.5 ms from run to run: compare settings in runs made one after the other, several times.
CLIENTS = 8
APP = ("app1", "app2")
SERVICES = (*APP, "postgres", "pgbouncer", "redis", "nginx")  # printed; the clients' own CPU is not
# The read requests of scalelab/kit/locustfile.py under LAUNCH_MIX: readers (60%) read the feed four
# times for each home page; members and newcomers (40%) their timeline five times for two feeds.
# Posts, reports and avatars are a few percent of requests and left out.
LAUNCH_READS = {"/api/feed?limit=20": 59, "/": 12, "/api/timeline": 29}
MEMBERS_ONLY = ("/api/timeline",)


def measure(url: str, path: str, cookies: list[dict], seconds: float, clients: int, running: stack.Stack) -> dict:
    sessions = [requests.Session() for _ in range(clients)]
    if path in MEMBERS_ONLY:
        for session, jar in zip(sessions, cookies):
            session.cookies.update(jar)
    closed_loop(lambda client, n: sessions[client].get(f"{url}{path}", timeout=30), clients, 1)  # connections, caches
    # Two samples of the services' process trees, the run between them (the sampler's rows are its shares
    # of a core over that window; saturation.cpu_per_request turns them back into CPU seconds).
    sampler = saturation.CpuSampler(stack=running)
    started = time.time()
    sampler.sample()
    outcomes = closed_loop(lambda client, n: sessions[client].get(f"{url}{path}", timeout=30), clients, seconds)
    window_s = time.time() - started
    sampler.sample()
    ok = [o for o in outcomes if o.status == 200]
    if len(ok) < len(outcomes) * 0.99:
        statuses = sorted({o.status for o in outcomes})
        raise LabError(f"{path}: {len(outcomes) - len(ok)} of {len(outcomes)} requests failed ({statuses}): fix the app first")
    per_request = saturation.cpu_per_request(sampler.samples, len(outcomes), interval_s=window_s)
    return {
        "requests": len(outcomes),
        "rps": len(outcomes) / seconds,
        "p50_ms": 1000 * percentile([o.seconds for o in outcomes], 50),
        "app_ms": per_request.reindex(list(APP)).fillna(0).sum(),
        "cpu_ms": {service: per_request.get(service, 0.0) for service in SERVICES},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20, help="how long each endpoint is measured (default 20)")
    parser.add_argument("--clients", type=int, default=CLIENTS, help=f"clients sending at once (default {CLIENTS})")
    args = parser.parse_args()
    settings = settings_module.load()
    running = stack.current(settings)
    require_app(settings.app_url)
    if not all(running.processes(service) for service in APP):
        raise LabError("the app's processes are not visible from here (Docker Desktop runs them in a VM): use the native stack")
    faults.clear()
    cookies = [log_in(settings.app_url, email, password) for email, password in seeded_credentials(args.clients)]
    results = {}
    print(f"{'endpoint':<22}{'requests/s':>11}{'p50':>9}{'app CPU':>10}   other services, CPU per request")
    for path in LAUNCH_READS:
        results[path] = result = measure(settings.app_url, path, cookies, args.seconds, args.clients, running)
        others = ", ".join(f"{s} {result['cpu_ms'][s]:.2f}" for s in SERVICES if s not in APP and result["cpu_ms"][s] >= 0.005)
        print(f"{path:<22}{result['rps']:>11,.0f}{result['p50_ms']:>7.0f} ms{result['app_ms']:>7.2f} ms   {others}", flush=True)
    weighted = sum(LAUNCH_READS[path] * result["app_ms"] for path, result in results.items()) / sum(LAUNCH_READS.values())
    print(f"app CPU per request, weighted as launch day reads ({', '.join(f'{p} {w}%' for p, w in LAUNCH_READS.items())}): "
          f"{weighted:.2f} ms")
    out = STATE / "cpu-per-request"
    out.mkdir(parents=True, exist_ok=True)
    saved = out / f"{datetime.now():%Y%m%d-%H%M%S}.json"
    saved.write_text(json.dumps({"at": time.time(), "weighted_app_ms": weighted, "endpoints": results}, indent=2))
    print(f"saved: {saved}")
    return 0


if __name__ == "__main__":
    run(main, "benchmarks/cpu_per_request.py")
