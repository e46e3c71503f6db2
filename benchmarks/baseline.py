"""Chirp at the traffic it was built for: the `baseline` load profile, measured.

    .venv/bin/python benchmarks/baseline.py

100 readers of the public feed, each thinking 10-20 s between requests, for 60 s (scalelab/kit/profiles.py),
through nginx to both instances. Target on 2 cores: 0 errors and p95 < 200 ms. Needs the stack
(`make up`). Lab 0's check runs a shorter version of the same profile with a looser bound.
"""

from __future__ import annotations

import sys

from scalelab.kit import load

P95_TARGET_MS = 200


def main() -> int:
    run = load.run("baseline", progress=True)
    summary = run.summary
    print()
    print(f"requests:   {summary['requests']:,} ({summary['rps']:.1f}/s)")
    print(f"p50:        {summary['p50_ms']:,.0f} ms")
    print(f"p95:        {summary['p95_ms']:,.0f} ms")
    print(f"p99:        {summary['p99_ms']:,.0f} ms")
    print(f"errors:     {summary['failures']:,} ({summary['error_rate']:.2%})")
    for error in summary["errors"]:
        print(f"  {error['count']:>6} x {error['endpoint']}: {error['error']}")
    if summary["loadgen_cpu_warning"]:
        print("warning: Locust's CPU went above 90%: this run measured the load generator as much as the app")
    met = summary["failures"] == 0 and summary["p95_ms"] is not None and summary["p95_ms"] < P95_TARGET_MS
    print(f"target (0 errors, p95 < {P95_TARGET_MS} ms): {'met' if met else 'NOT met'}")
    print(f"Locust's CSVs: {run.directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
