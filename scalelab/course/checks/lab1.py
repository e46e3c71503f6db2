"""Lab 1's check: under load, Chirp reaches PostgreSQL only through PgBouncer, within its pool, and
neither fails nor stalls.

The load (about 35 s): 40 clients reading the feed and 10 signing up, each sending its next request
as soon as the last one answers, with the email provider at 200 ms (a normal provider). Sessions are
not involved, so Lab 2's failure cannot spoil this check. Meanwhile Chirp's backends in PostgreSQL
are sampled twice a second from pg_stat_activity, and matched against PgBouncer's SHOW SERVERS.

Passing means:
- no backend of Chirp's that PgBouncer did not open (the app uses CHIRP_PGBOUNCER_URL);
- never more of Chirp's backends than PgBouncer's pool (SCALELAB_PGBOUNCER_POOL_SIZE);
- no pool timeouts (503 from the fixed app) and under 1% errors of any kind;
- feed p95 under 2,000 ms. Closed-loop clients keep the CPU busy on purpose, so latency is about
  clients / throughput: 50 / ~160 requests/s = 0.3 s on average, 0.5-1 s at p95, measured on a
  2-core laptop that also ran the load generator and other stacks. 2 s leaves room for a slower
  machine, and is still far below the 30 s a request can wait in the broken app's pool.
"""

from __future__ import annotations

import collections

from scalelab.course.checks import CheckResult
from scalelab.kit import faults
from scalelab.kit.clients import percentile, signup_wave
from scalelab.kit.pg import ConnectionSampler

READERS, SIGNUPS, SECONDS = 40, 10, 30
SMTP_LATENCY_MS = 200
P95_BOUND_MS = 2000
MAX_ERROR_RATE = 0.01


def run(settings) -> CheckResult:
    pool_size = int(settings["PGBOUNCER_POOL_SIZE"])
    sampler = ConnectionSampler(settings)
    sampler.sample()  # PostgreSQL and PgBouncer answer, or StackNotRunning now rather than later
    faults.set_fault("smtp_latency_ms", SMTP_LATENCY_MS)
    try:
        with sampler.running():
            wave = signup_wave(settings.app_url, SIGNUPS, READERS, SECONDS)
    finally:
        faults.set_fault("smtp_latency_ms", 0)

    reads, signups = wave.reads, wave.signups
    outcomes = reads + signups
    statuses = collections.Counter(o.status for o in outcomes)
    failed = [o for o in outcomes if o.status >= 500 or o.status == 0]
    feed_p95_ms = percentile([o.seconds for o in reads], 95) * 1000
    measurements = {
        "requests": len(outcomes),
        "failed": len(failed),
        "error_rate": round(len(failed) / len(outcomes), 4),
        "pool_timeouts_503": statuses[503],
        "feed_p95_ms": round(feed_p95_ms),
        "peak_server_connections": sampler.peak_server_connections,
        "peak_direct_connections": sampler.peak_direct,
        "pgbouncer_pool_size": pool_size,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
    }
    reasons = []
    if sampler.peak_direct:
        reasons.append(
            f"the app opened up to {sampler.peak_direct} connections straight to PostgreSQL: "
            "point the engine at PgBouncer (CHIRP_PGBOUNCER_URL) in broken_app/db.py"
        )
    if sampler.peak_server_connections > pool_size:
        reasons.append(
            f"PostgreSQL carried up to {sampler.peak_server_connections} of Chirp's connections, more than "
            f"PgBouncer's pool of {pool_size}: every app process's pool counts against max_connections"
        )
    if statuses[503]:
        reasons.append(f"{statuses[503]} of {len(outcomes)} requests timed out waiting for a pooled connection (503)")
    if len(failed) / len(outcomes) >= MAX_ERROR_RATE:
        kinds = ", ".join(f"HTTP {k or 'no answer'} x{v}" for k, v in sorted(statuses.items()) if k >= 500 or k == 0)
        reasons.append(
            f"{len(failed)} of {len(outcomes)} requests failed ({kinds}): `scalelab logs app1` shows the errors"
        )
    if feed_p95_ms >= P95_BOUND_MS:
        reasons.append(
            f"feed p95 was {feed_p95_ms:.0f} ms (bound {P95_BOUND_MS} ms): requests waited, most likely for a "
            "connection held by a signup that is sending its email"
        )
    return CheckResult(not reasons, measurements, reasons)
