"""Lab 0's check (scalelab/course/checks/lab0.py) on the real stack: it passes when the stack is healthy, says
the stack is down when it is, and fails, naming what it saw, when the app is broken."""

from __future__ import annotations

import time

from scalelab import stack
from scalelab.course.checks import lab0


def test_the_check_passes_on_the_healthy_stack_within_a_minute(lab_settings, broken):
    started = time.monotonic()
    result = lab0.run(lab_settings)
    seconds = time.monotonic() - started
    assert result.passed, result.reasons
    assert result.reasons == []
    assert result.measurements["failures"] == 0
    assert result.measurements["requests"] >= 150  # 100 users, each reading every 10-20 s, for 35 s
    assert result.measurements["welcome_email"] is True
    assert seconds <= 60, f"the check took {seconds:.0f} s: it must finish within a minute"


def test_the_check_fails_and_says_why_when_every_feed_read_fails(lab_settings, broken):
    # Both instances pointed at the `postgres` database: /healthz (SELECT 1) still answers, so the
    # stack looks up, but Chirp's tables are not there and every feed read and signup is a 500.
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
