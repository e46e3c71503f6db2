"""Lab 0's check (scalelab/course/checks/lab0.py) on the real stack: it passes when the stack is healthy, says
the stack is down when it is, and fails, naming what it saw, when the app is broken."""

from __future__ import annotations

import statistics
import time

from scalelab import stack
from scalelab.course.checks import lab0
from scalelab.kit import analysis, faults
from scalelab.kit.clients import closed_loop, feed_reader
from scalelab.kit.pg import ConnectionSampler


def test_the_check_passes_on_the_healthy_stack(lab_settings, broken, monkeypatch):
    # A third of the baseline, as below: the whole one runs in CI's README walk (tests/newuser) and
    # under Docker (tests/docker), each `scalelab check 0` as a learner types it.
    monkeypatch.setattr(lab0, "BASELINE_S", lab0.BASELINE_S // 3)
    result = lab0.run(lab_settings)
    assert result.passed, result.reasons
    assert result.reasons == []
    assert result.measurements["failures"] == 0
    assert result.measurements["requests"] >= 50  # 100 users, each reading every 10-20 s, for 11 s
    assert result.measurements["welcome_email"] is True


def test_the_check_fails_and_says_why_when_every_feed_read_fails(lab_settings, broken, monkeypatch):
    # Both instances pointed at the `postgres` database: /healthz (SELECT 1) still answers, so the
    # stack looks up, but Chirp's tables are not there and every feed read and signup is a 500.
    # Every read fails from the first second: a third of the baseline shows it (the passing run above
    # keeps the whole baseline).
    monkeypatch.setattr(lab0, "BASELINE_S", lab0.BASELINE_S // 3)
    wrong_database = lab_settings.postgres_url("postgres", user="chirp", sqlalchemy=True)
    try:
        stack.current(lab_settings).restart(["app1", "app2"], env={"CHIRP_DATABASE_URL": wrong_database})
        result = lab0.run(lab_settings)
    finally:
        stack.current(lab_settings).restart(["app1", "app2"])
    assert not result.passed
    assert result.measurements["error_rate"] == 1.0
    failed = [reason for reason in result.reasons if "requests failed at the baseline" in reason]
    assert len(failed) == 1, result.reasons
    requests, failures = result.measurements["requests"], result.measurements["failures"]
    assert failed[0].startswith(f"{failures} of {requests} requests failed"), failed[0]
    assert "/api/feed" in failed[0] and "500" in failed[0], failed[0]
    signup = [reason for reason in result.reasons if reason.startswith("signing up answered HTTP 500")]
    assert len(signup) == 1, result.reasons
    assert result.measurements["welcome_email"] is False


# --- The capacity calculator against a measurement ----------------------------------------------------

# Readers paced to one feed read per PACE_S each, every read's query made QUERY_MS slow in PostgreSQL:
# the broken app holds the request's connection all along, so the hold is the query's time.
READERS, PACE_S, QUERY_MS, SECONDS = 16, 0.5, 100, 12
# Little's law is exact for averages over a long run; 12 s of 0.2 s samples of a few connections
# spread by about 15% between runs here. Half again either way is a clear miss, not noise.
AGREE_WITHIN = 1.5


def test_the_calculator_predicts_the_busy_connections_postgresql_shows(lab_settings, broken):
    """capacity(): λ from users and think time, L = λ × W. Measured: the mean of Chirp's backends that
    are active or idle in transaction (a request holds them), sampled every 0.2 s."""
    sampler = ConnectionSampler(lab_settings, interval_s=0.2)
    faults.set_fault("db_latency_match", "FROM posts")
    faults.set_fault("db_latency_ms", QUERY_MS)
    time.sleep(faults.APP_SEES_FAULTS_WITHIN_S)
    try:
        with sampler.running():
            reads = closed_loop(feed_reader(lab_settings.app_url), READERS, SECONDS, pace_s=PACE_S)
    finally:
        faults.clear()
    assert all(read.status == 200 for read in reads)
    response_ms = statistics.mean(read.seconds for read in reads) * 1000
    # A client waits out the rest of its PACE_S after each answer: that is its think time.
    predicted = analysis.capacity(
        READERS, analysis.ConnectionLimits(processes=4), think_s=max(PACE_S - response_ms / 1000, 0),
        response_ms=response_ms, hold_ms=QUERY_MS,
    ).connections_busy
    measured = statistics.mean(
        sample.by_state.get("active", 0) + sample.by_state.get("idle in transaction", 0) for sample in sampler.samples
    )
    assert predicted / AGREE_WITHIN <= measured <= predicted * AGREE_WITHIN, (predicted, measured, response_ms)
