"""How long `scalelab up` takes, cold and warm, and how much memory the idle stack holds.

    .venv/bin/python benchmarks/stack.py          # warm: down, then up (data kept)
    .venv/bin/python benchmarks/stack.py --cold   # also cold: deletes the lab's data and seed first

Targets on 2 cores (issue #2): warm `up` <= 20 s, idle stack <= 1.5 GiB RSS. Cold includes initdb
and loading the seed data, so it is mostly the seed.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time

from scalelab import stack
from scalelab.paths import REPO, STATE
from scalelab.stack.native.account import services_root
from scalelab.stack.services import native_services

WARM_TARGET_S = 20.0
RSS_TARGET_GIB = 1.5


def scalelab(*args: str) -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "scalelab", *args], cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - started


def idle_rss_bytes() -> dict[str, int]:
    """RSS per service, counting each service's whole process tree (workers, backends, kernels)."""
    running = stack.current()
    per_service = {}
    for service in native_services():
        tree = running.processes(service.name)
        if tree:
            per_service[service.name] = sum(p.memory_info().rss for p in tree if p.is_running())
    return per_service


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", action="store_true", help="also measure a first start (deletes the lab's data)")
    args = parser.parse_args()

    scalelab("down")
    if args.cold:
        shutil.rmtree(services_root(), ignore_errors=True)
        shutil.rmtree(STATE / "seed", ignore_errors=True)
        print(f"cold up: {scalelab('up', '--native'):.1f} s (initdb and seed included)")
        scalelab("down")
    warm = scalelab("up", "--native")
    print(f"warm up: {warm:.1f} s (target <= {WARM_TARGET_S:.0f} s)")
    time.sleep(10)  # let start-up spikes settle: "idle" is the stack with nobody using it
    rss = idle_rss_bytes()
    for name, used in sorted(rss.items(), key=lambda item: -item[1]):
        print(f"  {name:<18} {used / 2**20:7.1f} MiB")
    total = sum(rss.values()) / 2**30
    print(f"idle RSS of the whole stack: {total:.2f} GiB (target <= {RSS_TARGET_GIB} GiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
