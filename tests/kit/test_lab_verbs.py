"""The lab verbs of `scalelab`: check, solve, reset, hint, fault and mail, run as the learner runs them.

They run as subprocesses against the real stack and real files. The verbs that grade or change a lab
run in a temporary course repository (SCALELAB_REPO) with a small synthetic catalogue, synthetic
solution overlays and synthetic checks that measure the real stack, so that they do not depend on
which labs have landed and never touch this checkout's broken_app/.
"""

from __future__ import annotations

import json
import os
import shutil
import smtplib
import subprocess
import sys
import time
import uuid
from email.message import EmailMessage
from pathlib import Path

import pytest
import requests

from scalelab import stack
from scalelab.course import catalogue
from scalelab.kit import faults
from scalelab.paths import REPO

MODULES = ("broken_app/db.py", "broken_app/config.py")
CHECKS_PACKAGE = "labverbs_checks"


def scalelab(*args: str, repo: Path | None = None, env: dict[str, str] | None = None, timeout: float = 300):
    environment = {**os.environ, **(env or {})}
    if repo is not None:
        environment["SCALELAB_REPO"] = str(repo)
        environment["PYTHONPATH"] = str(repo.parent / "checks")
    return subprocess.run(
        [sys.executable, "-m", "scalelab", *args],
        cwd=repo or REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def one_line_error(result: subprocess.CompletedProcess, code: int = 1) -> str:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert result.stderr.startswith("scalelab: ") and result.stderr.count("\n") == 1, result.stderr
    return result.stderr


# --- A temporary course -----------------------------------------------------------------------

CATALOGUE = """
[[lab]]
id = "00-intro"
alias = "0"
title = "Intro"
available = true
modules = []
requires = []
notebook = "00-intro.ipynb"
check = "labverbs_checks.healthy"
hints = ["one", "two", "three"]

[[lab]]
id = "01-pool"
alias = "1"
title = "Pool"
available = true
modules = ["broken_app/db.py"]
requires = []
notebook = "01-pool.ipynb"
check = "labverbs_checks.three_instances"
hints = ["one", "two", "three"]

[[lab]]
id = "02-state"
alias = "2"
title = "State"
available = false
modules = ["broken_app/config.py", "broken_app/db.py"]
requires = ["01-pool"]
notebook = "02-state.ipynb"
check = "labverbs_checks.not_written"
hints = ["one", "two", "three"]
"""

# Real measurements of the running stack, graded by criteria the stack meets (healthy) or cannot
# meet (three_instances: there are two app instances behind nginx).
HEALTHY_CHECK = '''
import time
import requests
from scalelab.course.checks import CheckResult

def run(settings):
    print("probing /healthz through nginx")  # checks may talk; `check --json` must still print JSON only
    started = time.monotonic()
    response = requests.get(settings.app_url + "/healthz", timeout=10)
    measured = {"status": response.status_code, "latency_ms": round((time.monotonic() - started) * 1000, 1)}
    passed = response.status_code == 200
    return CheckResult(passed, measured, [] if passed else ["/healthz failed: look at scalelab logs app1"])
'''

THREE_INSTANCES_CHECK = '''
import requests
from scalelab.course.checks import CheckResult

def run(settings):
    served = {requests.get(settings.app_url + "/healthz", timeout=10).headers.get("X-Served-By") for _ in range(10)}
    passed = len(served) >= 3
    reasons = [] if passed else [
        f"10 requests were served by {len(served)} instances ({', '.join(sorted(served))}), not 3: "
        "look at the upstream block of infra/nginx/chirp.conf.template"
    ]
    return CheckResult(passed, {"instances": len(served)}, reasons)
'''


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@chirp.test", "-C", str(repo), *args],
        check=True,
        capture_output=True,
    )


@pytest.fixture
def course(tmp_path) -> Path:
    """A git clone-like course: the real settings and two real broken modules, a synthetic catalogue,
    solution overlays for labs 1 and 2, and synthetic checks (on PYTHONPATH, see scalelab())."""
    repo = tmp_path / "course"
    for name in (".env.example", ".env", *MODULES):
        if (REPO / name).exists():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(REPO / name, repo / name)
    (repo / "labs").mkdir()
    (repo / "labs" / "labs.toml").write_text(CATALOGUE)
    solved = {"01-pool": "broken_app/db.py", "02-state": "broken_app/config.py"}
    for lab_id, path in solved.items():
        target = repo / "solutions" / lab_id / path
        target.parent.mkdir(parents=True)
        target.write_text((REPO / path).read_text() + f"\n# solved in {lab_id}\n")
    checks = tmp_path / "checks" / CHECKS_PACKAGE
    checks.mkdir(parents=True)
    (checks / "__init__.py").write_text("")
    (checks / "healthy.py").write_text(HEALTHY_CHECK)
    (checks / "three_instances.py").write_text(THREE_INSTANCES_CHECK)
    git(repo, "init", "--quiet")
    git(repo, "add", ".")
    git(repo, "commit", "--quiet", "-m", "the course")
    return repo


def broken(path: str) -> str:
    return (REPO / path).read_text()


def solution(repo: Path, lab_id: str, path: str) -> str:
    return (repo / "solutions" / lab_id / path).read_text()


def backups_of(repo: Path, path: str) -> list[Path]:
    return sorted((repo / ".lab" / "backups").glob(f"*/{path}"))


# --- check ----------------------------------------------------------------------------------------


def test_check_passes_with_exit_0_and_prints_measurements(course, running_stack):
    result = scalelab("check", "0", repo=course)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:2] == ["probing /healthz through nginx", "PASS  lab 0, Intro"]
    assert any(line.split() == ["status", "200"] for line in lines), result.stdout


def test_check_fails_with_exit_1_and_names_what_to_look_at(course, running_stack):
    result = scalelab("check", "01-pool", repo=course)
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("FAIL  lab 1, Pool\n")
    assert "not 3: look at the upstream block of infra/nginx/chirp.conf.template" in result.stdout
    assert "scalelab hint 1" in result.stdout


def test_check_json_is_exactly_the_documented_object(course, running_stack):
    result = scalelab("check", "1", "--json", repo=course)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert set(report) == {"lab", "passed", "measurements", "reasons"}
    assert report["lab"] == "01-pool" and report["passed"] is False
    assert report["measurements"]["instances"] in (1, 2)
    assert len(report["reasons"]) == 1 and "look at" in report["reasons"][0]

    passing_run = scalelab("check", "0", "--json", repo=course)
    assert passing_run.returncode == 0 and "probing /healthz" in passing_run.stderr
    passing = json.loads(passing_run.stdout)
    assert passing["passed"] is True and passing["reasons"] == [] and passing["measurements"]["status"] == 200


def test_check_records_progress_by_lab_id(course, running_stack):
    for lab in ("0", "1", "00-intro"):
        scalelab("check", lab, "--json", repo=course)
    progress = json.loads((course / ".lab" / "progress.json").read_text())
    assert progress["version"] == 1
    assert [entry["passed"] for entry in progress["labs"]["00-intro"]] == [True, True]
    (failed,) = progress["labs"]["01-pool"]
    assert failed["passed"] is False and failed["measurements"]["instances"] in (1, 2)
    assert failed["time"].endswith("+00:00")


def test_a_corrupt_progress_file_is_kept_aside_and_the_check_still_runs(course, running_stack):
    progress = course / ".lab" / "progress.json"
    progress.parent.mkdir()
    progress.write_text("{not json")
    result = scalelab("check", "0", repo=course)
    assert result.returncode == 0
    assert "was not readable progress" in result.stderr
    assert list(progress.parent.glob("progress.json.unreadable-*"))[0].read_text() == "{not json"
    assert json.loads(progress.read_text())["labs"]["00-intro"][0]["passed"] is True


def test_check_exits_2_when_the_stack_does_not_answer(course, free_port):
    result = scalelab("check", "0", repo=course, env={"SCALELAB_HTTP_PORT": str(free_port())})
    assert "the lab stack is not running" in one_line_error(result, code=2)
    assert "make up" in result.stderr
    assert not (course / ".lab" / "progress.json").exists()


def test_check_exits_2_for_a_lab_with_no_check_yet(course):
    result = scalelab("check", "2", repo=course)
    assert "lab 02-state has no check yet" in one_line_error(result, code=2)


def test_check_of_an_unknown_lab_names_the_choices_and_could_not_run(course):
    result = scalelab("check", "9", repo=course)
    assert "unknown lab '9': choose one of 0-2 or 00-intro, 01-pool, 02-state" in one_line_error(result, code=2)

    scripted = scalelab("check", "9", "--json", repo=course)
    assert scripted.returncode == 2, scripted.stderr
    report = json.loads(scripted.stdout)
    assert report["lab"] == "9" and report["passed"] is None and report["error"].startswith("unknown lab '9'")


def test_check_json_says_why_it_could_not_run(course, free_port):
    result = scalelab("check", "0", "--json", repo=course, env={"SCALELAB_HTTP_PORT": str(free_port())})
    assert result.returncode == 2, result.stderr
    assert json.loads(result.stdout)["error"].startswith("the lab stack is not running")


# --- hint (the real catalogue) ------------------------------------------------------------------


def words(text: str) -> list[str]:
    return text.split()


@pytest.mark.parametrize("lab", catalogue.all_labs(), ids=lambda lab: lab.id)
def test_hint_prints_each_level_and_how_to_get_the_next(lab):
    count = len(lab.hints)
    for level in range(1, count + 1):
        args = ("hint", lab.alias) if level == 1 else ("hint", lab.alias, "--level", str(level))
        result = scalelab(*args)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith(f"Lab {lab.alias}, {lab.title}: hint {level} of {count}\n")
        assert " ".join(words(lab.hints[level - 1])) in " ".join(words(result.stdout))
        if level < count:
            assert f"`scalelab hint {lab.alias} --level {level + 1}`" in result.stdout
        else:
            assert "That was the last hint." in result.stdout


def test_a_hint_starts_from_what_the_learner_s_last_failing_check_measured(course):
    reason = "the app opened up to 38 connections straight to PostgreSQL: point the engine at PgBouncer in broken_app/db.py"
    (course / ".lab").mkdir()
    entry = {"passed": False, "time": "2026-12-01T10:00:00+00:00", "measurements": {"peak_direct_connections": 38}, "reasons": [reason]}
    (course / ".lab" / "progress.json").write_text(json.dumps({"version": 1, "labs": {"01-pool": [entry]}}))
    shown = " ".join(scalelab("hint", "1", repo=course).stdout.split())
    assert f"Your last check of this lab failed on what it measured: - {reason} Start there." in shown


@pytest.mark.parametrize("level", ["0", "4", "-1"])
def test_a_hint_level_that_does_not_exist_is_one_line_naming_the_levels(level):
    result = scalelab("hint", "1", "--level", level)
    assert f"has no hint at level {level}: choose --level 1, 2 or 3" in one_line_error(result)


def test_a_hint_level_that_is_not_a_number_is_one_line():
    assert "--level takes a number: `scalelab hint 1 --level 2`" in one_line_error(scalelab("hint", "1", "--level", "two"))


def test_hint_for_an_unknown_lab_names_the_choices():
    last = catalogue.all_labs()[-1].alias
    assert f"unknown lab 'pool': choose one of 0-{last}" in one_line_error(scalelab("hint", "pool"), code=2)


# --- fault (the real email provider) --------------------------------------------------------------


@pytest.fixture
def faults_restored(running_stack):
    before = faults.current()
    yield before
    for name, value in before.items():
        faults.set_fault(name, value)


def fault_values(listing: str) -> dict:
    """name -> value from the listing's lines `  name  value  meaning` (values are JSON)."""
    return {line.split()[0]: json.loads(line.split()[1]) for line in listing.splitlines() if line.startswith("  ")}


def test_fault_set_list_clear_round_trip(faults_restored):
    listed = scalelab("fault", "list")
    assert listed.returncode == 0, listed.stderr
    assert set(fault_values(listed.stdout)) == set(faults.FAULTS)
    for name, fault in faults.FAULTS.items():
        assert fault.meaning in listed.stdout, name

    result = scalelab("fault", "smtp_latency_ms", "250")
    assert result.returncode == 0, result.stderr
    assert fault_values(result.stdout)["smtp_latency_ms"] == 250
    # db_leak_rate stays 0: a leak would keep this stack's connections until app1 and app2 restart.
    for name, value in (("smtp_failure_rate", "0.25"), ("db_latency_ms", "5"), ("db_latency_match", "no-such-query")):
        assert scalelab("fault", name, value).returncode == 0, name
    expected = {
        "smtp_latency_ms": 250, "smtp_failure_rate": 0.25, "db_latency_ms": 5, "db_latency_match": "no-such-query", "db_leak_rate": 0
    }
    assert fault_values(scalelab("fault", "list").stdout) == expected
    assert faults.current() == expected  # what the email provider and Redis hold

    cleared = scalelab("fault", "clear")
    assert cleared.returncode == 0
    off = {"smtp_latency_ms": 0, "smtp_failure_rate": 0, "db_latency_ms": 0, "db_latency_match": "", "db_leak_rate": 0}
    assert fault_values(cleared.stdout) == off
    assert faults.current() == off


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("fault", "db_latency"), "unknown fault 'db_latency': choose one of smtp_latency_ms, smtp_failure_rate, "),
        (("fault", "smtp_latency_ms"), "give smtp_latency_ms a value: `scalelab fault smtp_latency_ms 1000`"),
        (("fault", "smtp_latency_ms", "1s"), "smtp_latency_ms takes a whole number, not '1s'"),
        (("fault", "db_latency_ms", "2.5"), "db_latency_ms takes a whole number, not '2.5'"),
        (("fault", "db_latency_ms", "-5"), "must be 0 or more"),
        (("fault", "smtp_failure_rate", "1.5"), "must be 0 up to 1"),
        (("fault", "clear", "0"), "takes no value"),
    ],
)
def test_a_bad_fault_is_one_line_naming_the_fix(faults_restored, args, expected):
    assert expected in one_line_error(scalelab(*args))
    assert faults.current() == faults_restored  # nothing was changed


# --- mail -------------------------------------------------------------------------------------------


def test_mail_lists_the_welcome_email_of_a_real_signup(lab_settings, running_stack):
    tag = uuid.uuid4().hex[:10]
    address = f"mail-{tag}@chirp.test"
    response = requests.post(
        f"{lab_settings.app_url}/api/signup",
        json={"name": f"Mail {tag}", "email": address, "password": "correct horse"},
        timeout=90,
    )
    assert response.status_code == 201, response.text
    deadline = time.monotonic() + 60  # after Lab 3 the email is sent by a background job
    while True:
        listed = scalelab("mail", "--json")
        assert listed.returncode == 0, listed.stderr
        mine = [message for message in json.loads(listed.stdout) if message["to"] == [address]]
        if mine or time.monotonic() > deadline:
            break
        time.sleep(1)
    (message,) = mine
    assert message["subject"] == f"Welcome to Chirp, Mail {tag}!"
    assert message["message_id"].endswith("@chirp.test>")

    human = scalelab("mail").stdout
    (line,) = [line for line in human.splitlines() if address in line]
    assert f"'Welcome to Chirp, Mail {tag}!'" in line and f"Message-ID {message['message_id']}" in line
    assert human.splitlines()[-1].endswith("messages delivered")


def test_mail_last_n(lab_settings, running_stack):
    # At least three messages, so that "the last 2" is a part of them even on a fresh stack.
    for n in range(3):
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "t@chirp.test", "u@chirp.test", f"last-n {n}"
        message.set_content("x")
        with smtplib.SMTP("127.0.0.1", lab_settings.port("SMTP"), timeout=10) as smtp:
            smtp.send_message(message)
    assert len(json.loads(scalelab("mail", "--json", "--last", "1").stdout)) == 1
    human = scalelab("mail", "--last", "2").stdout.splitlines()
    assert len(human) == 3 and human[-1].startswith("the last 2 of ")


def test_mail_when_the_provider_is_down_says_so(course, free_port):
    result = scalelab("mail", repo=course, env={"SCALELAB_SMTP_API_PORT": str(free_port())})
    assert "no email provider answers" in one_line_error(result, code=2)


# --- solve and reset (in the temporary course) --------------------------------------------------


def test_solve_applies_the_overlay_and_backs_up_the_learners_edits(course):
    db = course / "broken_app" / "db.py"
    db.write_text(broken("broken_app/db.py") + "\n# my attempt\n")
    result = scalelab("solve", "1", repo=course)
    assert result.returncode == 0, result.stderr
    assert db.read_text() == solution(course, "01-pool", "broken_app/db.py")
    (backup,) = backups_of(course, "broken_app/db.py")
    assert backup.read_text().endswith("# my attempt\n")
    assert f"your edits are saved in {backup.relative_to(course)}" in result.stdout
    assert "broken_app/db.py  solution of 01-pool" in result.stdout
    # This course's app is not running (no pid files under its .lab/), so nothing is restarted.
    assert "app1, app2 and worker are not running: `make up` starts them with these files" in result.stdout

    again = scalelab("solve", "1", repo=course)
    assert "broken_app/db.py  already the solution of 01-pool" in again.stdout
    assert len(backups_of(course, "broken_app/db.py")) == 1  # nothing new to save


def test_progress_json_says_which_labs_have_edited_modules(course):
    """What a notebook asks before it solves a lab, so that it resets only what it solved (kit.verbs)."""
    def edited() -> dict:
        shown = scalelab("progress", "--json", repo=course)
        assert shown.returncode == 0, shown.stderr
        return {lab["id"]: lab["edited"] for lab in json.loads(shown.stdout)["labs"]}

    assert edited() == {"00-intro": False, "01-pool": False, "02-state": False}
    assert scalelab("solve", "1", repo=course).returncode == 0
    assert edited() == {"00-intro": False, "01-pool": True, "02-state": True}  # 02-state lists db.py too


def test_solve_does_not_back_up_the_broken_original(course):
    assert scalelab("solve", "1", repo=course).returncode == 0
    assert not (course / ".lab" / "backups").exists()


def test_solve_applies_the_required_labs_first(course):
    result = scalelab("solve", "02-state", repo=course)
    assert result.returncode == 0, result.stderr
    assert (course / "broken_app/db.py").read_text() == solution(course, "01-pool", "broken_app/db.py")
    assert (course / "broken_app/config.py").read_text() == solution(course, "02-state", "broken_app/config.py")
    assert result.stdout.index("solution of 01-pool") < result.stdout.index("solution of 02-state")


def test_solve_a_lab_without_a_broken_side_is_one_line(course):
    assert "lab 00-intro has no broken modules" in one_line_error(scalelab("solve", "0", repo=course))


def test_solve_a_lab_without_a_solution_yet_is_one_line(course):
    shutil.rmtree(course / "solutions" / "02-state")
    assert "lab 02-state has no solution yet" in one_line_error(scalelab("solve", "2", repo=course))


def test_reset_restores_the_broken_module_and_saves_the_edits(course):
    db = course / "broken_app" / "db.py"
    db.write_text("# my own pool\n")
    result = scalelab("reset", "1", repo=course)
    assert result.returncode == 0, result.stderr
    assert db.read_text() == broken("broken_app/db.py")
    (backup,) = backups_of(course, "broken_app/db.py")
    assert backup.read_text() == "# my own pool\n"
    assert f"your edits are saved in {backup.relative_to(course)}" in result.stdout
    assert "broken_app/db.py  restored from git" in result.stdout


def test_reset_of_several_labs_restores_them_all_at_once(course):
    assert scalelab("solve", "02-state", repo=course).returncode == 0  # labs 1 and 2
    result = scalelab("reset", "2", "1", repo=course)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("reset labs 2 (State), 1 (Pool):")
    for path in ("broken_app/db.py", "broken_app/config.py"):
        assert (course / path).read_text() == broken(path)
    assert result.stdout.count("are not running") == 1  # one restart for both labs


def test_reset_after_solve_needs_no_backup(course):
    scalelab("solve", "1", repo=course)
    result = scalelab("reset", "1", repo=course)
    assert result.returncode == 0, result.stderr
    assert (course / "broken_app/db.py").read_text() == broken("broken_app/db.py")
    assert not (course / ".lab" / "backups").exists()  # the solution is in solutions/ anyway


def test_reset_of_a_pristine_lab_says_there_is_nothing_to_do(course):
    result = scalelab("reset", "1", repo=course)
    assert result.returncode == 0
    assert "nothing to reset: every module is as in git" in result.stdout


def test_reset_of_a_lab_without_modules_says_so(course):
    result = scalelab("reset", "0", repo=course)
    assert result.returncode == 0 and "nothing to reset: this lab has no broken modules" in result.stdout


def test_reset_all_restores_every_labs_modules(course):
    scalelab("solve", "2", repo=course)
    (course / "broken_app/db.py").write_text("# edited after solving\n")
    result = scalelab("reset", "--all", repo=course)
    assert result.returncode == 0, result.stderr
    for path in MODULES:
        assert (course / path).read_text() == broken(path), path
    (backup,) = backups_of(course, "broken_app/db.py")
    assert backup.read_text() == "# edited after solving\n"
    assert not backups_of(course, "broken_app/config.py")  # that one was the solution


def test_reset_when_the_learner_committed_the_solution_says_how_to_get_the_course_version(course):
    scalelab("solve", "1", repo=course)
    git(course, "commit", "--quiet", "-am", "solved lab 1")
    result = scalelab("reset", "1", repo=course)
    message = one_line_error(result)
    assert "broken_app/db.py as committed in git's HEAD is the solution of 01-pool" in message
    assert "git log -- broken_app/db.py" in message
    # Edited again after committing: HEAD is still not the broken version, so nothing is touched.
    (course / "broken_app/db.py").write_text("# more edits\n")
    assert "is the solution of 01-pool" in one_line_error(scalelab("reset", "1", repo=course))
    assert (course / "broken_app/db.py").read_text() == "# more edits\n"


@pytest.mark.parametrize(
    ("args", "expected", "code"),
    [
        (("reset",), "name a lab or --all", 1),
        (("reset", "1", "--all"), "name a lab or --all", 1),
        (("reset", "7"), "unknown lab '7'", 2),
    ],
)
def test_bad_reset_arguments_are_one_line(course, args, expected, code):
    assert expected in one_line_error(scalelab(*args, repo=course), code=code)


def test_reset_without_git_names_the_fix(course, tmp_path):
    no_git = tmp_path / "bin-without-git"
    no_git.mkdir()
    result = scalelab("reset", "1", repo=course, env={"PATH": str(no_git)})
    assert "git is not installed" in one_line_error(result) and "apt-get install -y git" in result.stderr


def test_reset_outside_a_git_clone_names_the_fix(course):
    shutil.rmtree(course / ".git")
    result = scalelab("reset", "1", repo=course)
    assert "is not a git clone" in one_line_error(result) and "git clone" in result.stderr


# --- restarting the real app ------------------------------------------------------------------


def test_a_changed_app_file_restarts_app1_app2_and_the_worker_healthy(lab_settings, running_stack):
    """What solve and reset do after changing broken_app/ in native mode, on the real stack."""
    from scalelab.course import overlays
    from scalelab.stack.native import process

    before = {name: process.running_pid(name) for name in ("app1", "app2", "worker")}
    said: list[str] = []
    outcome = overlays.Outcome([overlays.Change("broken_app/db.py", "test", changed=True)])
    overlays.restart_services(outcome, stack.current(lab_settings), said.append)
    after = {name: process.running_pid(name) for name in ("app1", "app2", "worker")}
    assert all(after.values()) and all(after[name] != before[name] for name in after), (before, after)
    assert said[-1] == "app1, app2 and worker restarted, healthy"
    assert requests.get(f"{lab_settings.app_url}/healthz", timeout=10).status_code == 200


def test_an_unchanged_app_needs_no_restart(lab_settings):
    from scalelab.course import overlays

    said: list[str] = []
    unchanged = overlays.Outcome([overlays.Change("broken_app/db.py", "x", changed=False)])
    overlays.restart_services(unchanged, stack.current(lab_settings), said.append)
    assert said == []
