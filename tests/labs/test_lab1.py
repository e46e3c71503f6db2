"""Lab 1 on the real stack: each measurement check 1 makes fails on a half fix (its own module broken,
the lab's other fixes applied); and scalelab.kit.applogs, which the notebook and the hints use to find
the real error in the app's logs.

The whole check failing on the broken app and passing after `scalelab solve 1` is tested by
tests/labs/test_checks_fail_then_pass.py and the notebook (tests/notebooks/test_nbval.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from course_tree import pristine

from scalelab import stack
from scalelab.course import catalogue
from scalelab.course.checks import lab1
from scalelab.errors import LabError
from scalelab.kit import applogs
from scalelab.stack import compose, docker, native

LAB = catalogue.find("1")  # the lab the `solved` fixture (conftest.py) solves
DB_PY = "broken_app/db.py"
QUEUEPOOL = "sqlalchemy.exc.TimeoutError: QueuePool limit of size 5 overflow 10 reached, connection timed out, timeout 30.00"


# --- Check 1 on half fixes: the reference fix with one part left out ---------------------------------


@pytest.mark.wall
def test_a_signup_holding_its_connection_across_the_email_fails_check_1(half_fixed):
    """PgBouncer and the pool fixed (db.py), but the email still sent inside the transaction (auth.py)."""
    with half_fixed({"broken_app/auth.py": pristine("broken_app/auth.py")}) as settings:
        measurements: dict = {}
        reasons = lab1.under_load(settings, measurements, seconds=8)
    assert measurements["held_after_signup_insert_s"] >= lab1.HELD_BOUND_S, measurements
    assert any("broken_app/auth.py" in reason for reason in reasons), reasons


@pytest.mark.wall
def test_the_default_30_s_pool_timeout_fails_check_1s_overload(half_fixed):
    with half_fixed({}, env={"CHIRP_DB_POOL_TIMEOUT": "30"}) as settings:
        measurements: dict = {}
        reasons = lab1.overload(settings, measurements)
    assert measurements["overload"]["refused_fast"] == 0, measurements
    assert any(DB_PY in reason and "refused" in reason for reason in reasons), reasons


@pytest.mark.wall
def test_a_pool_without_pre_ping_fails_check_1_after_pgbouncer_restarts(half_fixed):
    fixed = (LAB.solution_dir / DB_PY).read_text()
    assert '"pool_pre_ping": True' in fixed
    with half_fixed({DB_PY: fixed.replace('"pool_pre_ping": True', '"pool_pre_ping": False').encode()}) as settings:
        measurements: dict = {}
        reasons = lab1.after_pgbouncer_restart(settings, measurements)
    assert measurements["after_pgbouncer_restart"]["failed"] > 0, measurements
    assert any("pool_pre_ping" in reason for reason in reasons), reasons


# --- scalelab.kit.applogs, on log files written here ---------------------------------------------------


def chirp_line(at: datetime, message: str, pid: int = 100) -> str:
    """A line as broken_app/logs.py prints it."""
    return f"{at.isoformat(timespec='milliseconds')} pid={pid} {message}"


def failed_request(at: datetime, path: str = "/api/signup") -> list[str]:
    """An unexpected error as logs.py logs it: one ERROR line, then the traceback, ending with the message."""
    return [
        chirp_line(at, f"ERROR POST {path} {QUEUEPOOL}"),
        "Traceback (most recent call last):",
        '  File "/app/sqlalchemy/pool/impl.py", line 165, in _do_get',
        QUEUEPOOL,
    ]


@pytest.fixture
def logs(tmp_path, monkeypatch):
    """Write app1's and app2's logs (lists of lines) into a temporary .lab/."""
    state, folder = tmp_path / ".lab", tmp_path / ".lab" / "logs"
    folder.mkdir(parents=True)
    monkeypatch.setattr(stack, "MODE_FILE", state / "mode")
    monkeypatch.setattr(native, "log_file", lambda service: folder / f"{service}.log")

    def write(**lines: list[str]) -> None:
        for service, content in lines.items():
            (folder / f"{service}.log").write_text("".join(line + "\n" for line in content))
        (state / "mode").write_text("native\n")

    return write


T0 = datetime(2026, 11, 28, 12, 0, 0, tzinfo=timezone.utc)


def test_grep_finds_each_failed_request_once_with_an_error_pattern(logs):
    logs(
        app1=[chirp_line(T0, "GET /api/feed?limit=20 200 3ms"), *failed_request(T0 + timedelta(seconds=1))],
        app2=[*failed_request(T0 + timedelta(seconds=2), "/api/feed")],
    )
    found = applogs.grep(r"ERROR .*QueuePool limit")
    assert list(found.columns) == ["service", "time", "line"]
    assert list(found.service) == ["app1", "app2"]
    assert list(found.time) == [T0 + timedelta(seconds=1), T0 + timedelta(seconds=2)]
    # Without "ERROR", the traceback's last line matches too: two lines per failed request.
    assert len(applogs.grep("QueuePool limit")) == 4


def test_since_keeps_later_lines_and_their_tracebacks(logs):
    logs(app1=[*failed_request(T0), *failed_request(T0 + timedelta(seconds=10))], app2=[])
    later = applogs.grep("QueuePool limit", since=T0 + timedelta(seconds=5))
    assert list(later.time) == [T0 + timedelta(seconds=10)] * 2  # the ERROR line and its traceback
    # unix seconds and naive local datetimes mean the same moment
    assert len(applogs.grep("QueuePool limit", since=(T0 + timedelta(seconds=5)).timestamp())) == 2
    naive_local = (T0 + timedelta(seconds=5)).astimezone().replace(tzinfo=None)
    assert len(applogs.grep("QueuePool limit", since=naive_local)) == 2
    assert applogs.grep("QueuePool limit", since=T0 + timedelta(hours=1)).empty


def test_gunicorn_lines_carry_their_time(logs):
    logs(app1=["[2026-11-28 12:00:30 +0000] [42] [INFO] Booting worker with pid: 43"], app2=[])
    booted = applogs.grep("Booting worker", since=T0)
    assert list(booted.time) == [T0 + timedelta(seconds=30)]


def test_since_in_a_long_log_reads_only_its_end(logs):
    # About 6 MB of requests over 10,000 s, then the failure: bisecting must still find it, and nothing
    # older than `since` (minus a minute's slack for lines that reach the file out of order) comes back.
    old = [chirp_line(T0 + timedelta(seconds=n / 10), f"GET /api/feed?limit=20 200 {n % 7}ms {'x' * 40}") for n in range(100_000)]
    end = T0 + timedelta(seconds=10_000)
    logs(app1=[*old, *failed_request(end)], app2=[])
    assert list(applogs.grep(r"ERROR .*QueuePool", since=end).time) == [end]
    assert len(applogs.grep(r"GET /api/feed", since=end - timedelta(seconds=30))) == 300


def test_docker_mode_and_missing_logs_say_what_to_do(logs, tmp_path, monkeypatch):
    logs(app1=[], app2=[])
    (tmp_path / ".lab" / "mode").write_text("docker\n")
    # An engine that answers, and no container of the project: the stack is down.
    monkeypatch.setattr(docker, "require_engine", lambda: None)
    monkeypatch.setattr(compose, "containers", lambda settings: [])
    with pytest.raises(LabError, match=r"^no container for app1: start the stack with `scalelab up --docker`$"):
        applogs.grep("ERROR")
    (tmp_path / ".lab" / "mode").write_text("native\n")
    (tmp_path / ".lab" / "logs" / "app2.log").unlink()
    with pytest.raises(LabError, match=r"no log for app2 yet .*`make up`"):
        applogs.grep("ERROR")
    with pytest.raises(LabError, match="not a valid regular expression"):
        applogs.grep("ERROR (")
