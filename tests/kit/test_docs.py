"""What README.md, the labs' READMEs and docs/ tell people to type, held to what runs.

Every command in their shell blocks is accounted for in one of three tables:
- RUN_HERE: run by this module, as written, against the running stack (quick, and harmless to it);
- RUN_ELSEWHERE: run by the test file named, which must mention it;
- NOT_RUN: the reason no test runs it as written.
A command added to the docs and to no table fails test_every_documented_command_is_accounted_for, which
says where to add it. The other promises the docs make: each lab's README opens with the labs it builds
on (tests/kit/test_catalogue.py), and every page with an address says the ports may differ.
"""

from __future__ import annotations

import re
import shlex
import subprocess

import pytest

from scalelab.paths import REPO

DOCS = [REPO / "README.md", *sorted((REPO / "labs").glob("*/README.md")), *sorted((REPO / "docs").glob("*.md"))]
SHELL_BLOCK = re.compile(r"^```(?:sh|bash|console|shell)\n(.*?)^```", re.MULTILINE | re.DOTALL)
COMMENT = re.compile(r"\s{2,}#.*$")  # "cmd   # why": two spaces or more before the #
PORTS_NOTE = "`make up` and `scalelab status` print the ones your `.env` sets"

RUN_HERE = {
    ".venv/bin/scalelab status",
    ".venv/bin/scalelab doctor",
    ".venv/bin/scalelab restart app1",
    ".venv/bin/scalelab mail --last 5",
    ".venv/bin/scalelab logs app1 -n 100",
    ".venv/bin/scalelab logs app1 -n 5",
    ".venv/bin/scalelab logs worker -n 50",
    ".venv/bin/scalelab progress",
    ".venv/bin/scalelab progress --json",
    ".venv/bin/scalelab drill status",
    ".venv/bin/scalelab fault smtp_latency_ms 35000",
    ".venv/bin/scalelab fault smtp_latency_ms 1000",
    ".venv/bin/scalelab fault smtp_failure_rate 0.2",
    ".venv/bin/scalelab fault db_latency_ms 200",
    ".venv/bin/scalelab fault db_latency_match 'FROM posts'",
    ".venv/bin/scalelab fault clear",
    *(f".venv/bin/scalelab hint {n}" for n in range(5)),
    ".venv/bin/scalelab progress --json | python3 -c 'import json, sys; "
    "print([lab[\"id\"] for lab in json.load(sys.stdin)[\"labs\"] if lab[\"status\"] == \"passed\"])'",
}
# command -> (the test file that runs it, a string that file holds where it does)
RUN_ELSEWHERE = {
    "make up": ("tests/newuser/test_readme_walk.py", '"make", "up"'),
    "make test": (".ci/run", "make test"),
    **{f".venv/bin/scalelab check {n}": ("tests/labs/test_checks_fail_then_pass.py", '"check", lab_id') for n in range(1, 6)},
    ".venv/bin/scalelab check 0": ("tests/newuser/test_readme_walk.py", '"check", "0"'),
    **{f".venv/bin/scalelab solve {n}": ("tests/course_tree.py", '"solve", lab.id') for n in range(1, 5)},
    **{f".venv/bin/scalelab reset {n}": ("tests/kit/test_lab_verbs.py", '"reset", "1"') for n in range(1, 5)},
    ".venv/bin/scalelab drill start": ("tests/kit/test_drill_cli.py", '"drill", "start"'),
    ".venv/bin/scalelab drill start --seed 7": ("tests/kit/test_drill_cli.py", '"--seed"'),
    ".venv/bin/scalelab drill answer CAUSE": ("tests/kit/test_drill_cli.py", '"answer"'),
    ".venv/bin/scalelab drill answer redis-down": ("tests/kit/test_drill_cli.py", '"answer"'),
    ".venv/bin/scalelab drill stop": ("tests/kit/test_drill_cli.py", '"drill", "stop"'),
    ".venv/bin/scalelab classroom serve": ("tests/browser/test_classroom_in_chromium.py", '"classroom", "serve"'),
    # The verbs are one call each (cli.py); the tests call what they call.
    '.venv/bin/scalelab classroom join http://192.168.1.20:18900/ --name "Ada L"': (
        "tests/kit/test_classroom.py", "classroom.join("
    ),
    ".venv/bin/scalelab classroom leave": ("tests/kit/test_classroom.py", "classroom.leave()"),
}
NOT_RUN = {
    'make test PYTEST_ARGS="-k lab3"': "the whole suite is `make test`; this is its one lab's part",
    ".venv/bin/scalelab logs app1 -f": "follows the log until Ctrl-C; `-n` (run here) reads the same file",
    ".venv/bin/scalelab load baseline": "a minute of load; check 0 (tests/labs/test_lab0.py) runs the baseline profile "
    "through the same scalelab.kit.load, and tests/labs/test_small_machine.py runs `scalelab load` itself",
    ".venv/bin/scalelab load launch-day": "10,000 users for 6 minutes; tests/labs/test_small_machine.py runs it cut to "
    "500 users, and benchmarks/wall.py is where the full run lives",
    ".venv/bin/scalelab load launch-day --users 2000 --processes 2": "minutes of load; tests/stack/test_distributed_load.py "
    "runs two Locust worker processes, and tests/labs/test_small_machine.py `scalelab load launch-day --users 2000`",
    ".venv/bin/python benchmarks/wall.py": "about 15 minutes: a benchmark, not a test; tests/kit/test_wall_benchmark.py "
    "runs its parts",
    ".venv/bin/python benchmarks/wall.py --users 800 --duration 120": "minutes: as above",
    ".venv/bin/python benchmarks/wall.py --only fixed --profile-app": "minutes, and a py-spy profile: as above",
}


def documented_commands() -> dict[str, str]:
    """Each command of every shell block -> the file that shows it. In a block that uses `$ ` prompts,
    the lines without one are output."""
    found: dict[str, str] = {}
    for doc in DOCS:
        for block in SHELL_BLOCK.findall(doc.read_text()):
            lines = block.splitlines()
            prompted = any(line.startswith("$ ") for line in lines)
            for line in lines:
                if prompted and not line.startswith("$ "):
                    continue
                command = COMMENT.sub("", line.removeprefix("$ ")).strip()
                if command:
                    found.setdefault(command, str(doc.relative_to(REPO)))
    return found


def test_every_documented_command_is_accounted_for():
    tables = RUN_HERE | RUN_ELSEWHERE.keys() | NOT_RUN.keys()
    unaccounted = {command: doc for command, doc in documented_commands().items() if command not in tables}
    assert not unaccounted, f"add each to RUN_HERE, RUN_ELSEWHERE or NOT_RUN in {__file__}: {unaccounted}"


def test_no_table_holds_a_command_the_docs_dropped():
    gone = (RUN_HERE | RUN_ELSEWHERE.keys() | NOT_RUN.keys()) - documented_commands().keys()
    assert not gone, f"no longer in the docs; remove from this module's tables: {gone}"


@pytest.mark.parametrize("command", sorted(RUN_ELSEWHERE))
def test_the_test_named_for_a_command_runs_it(command):
    path, evidence = RUN_ELSEWHERE[command]
    assert evidence in (REPO / path).read_text(), f"{path} should run `{command}` (it does not mention {evidence})"


@pytest.mark.parametrize("command", sorted(RUN_HERE))
def test_the_command_runs_as_written(command, running_stack):
    try:
        result = subprocess.run(command, shell=True, cwd=REPO, capture_output=True, text=True, timeout=120)
    finally:
        if " fault " in command:
            subprocess.run([".venv/bin/scalelab", "fault", "clear"], cwd=REPO, capture_output=True, timeout=60)
    assert result.returncode == 0, f"$ {command}\n{result.stdout}{result.stderr}"
    assert result.stdout.strip(), f"$ {command} printed nothing"


def test_the_commands_here_are_shell_words():
    """shlex reads each documented command as the shell would: no unbalanced quote slipped into the docs."""
    for command in documented_commands():
        shlex.split(command.split("|")[0])


WITH_ADDRESSES = [doc for doc in DOCS if "http://127.0.0.1:" in doc.read_text()]


@pytest.mark.parametrize("doc", WITH_ADDRESSES, ids=lambda doc: str(doc.relative_to(REPO)))
def test_a_page_with_addresses_says_where_the_real_ones_are_printed(doc):
    assert PORTS_NOTE in doc.read_text()
