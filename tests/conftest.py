"""Fixtures shared by the whole suite. The suite runs against the real lab stack (`make test` starts it)."""

from __future__ import annotations

import collections
import os
import socket
from concurrent.futures import Future, ThreadPoolExecutor

import pytest
from course_tree import CourseTree

from scalelab import stack
from scalelab.paths import REPO
from scalelab.stack import settings as settings_module

ARTIFACTS = REPO / "artifacts"
# Tests marked `clone` clone the repository and run a second stack in it: minutes each, so they run
# where .ci/run asks for them.
CLONE_TESTS = os.environ.get("SCALELAB_CLONE_TESTS") == "1"
# Those minutes run beside the parts of the suite that time nothing, which run first: each selected
# clone test module's `walk(folder)` starts on a thread at the suite's first test, and its test,
# ordered right after these parts, waits for it. So no check, notebook or wall run ever shares the
# cores with a second stack (that made timed checks flaky), and CI saves the walk's time. Not
# tests/stack either: it takes the stack down and crashes an instance, and `up` after the crash
# once found app1's port still answering while the clone's stack started (a CI-like run of fcaf7e6).
UNTIMED_PARTS = ("app", "browser", "kit")
CLONE_WALKS: dict[str, Future] = {}


# Seconds and tests per part of the suite (tests/<part>/), printed after pytest's slowest tests so that a
# change can see what it costs CI (.ci/run holds the suite to its budget).
PART_SECONDS: collections.Counter = collections.Counter()
PART_TESTS: collections.Counter = collections.Counter()


def suite_part(nodeid: str) -> str:
    """tests/labs/test_lab3.py::test_x -> labs; the checks' fail-then-pass and the notebooks stand apart,
    being the biggest costs."""
    path = nodeid.split("::")[0]
    if path.endswith("test_checks_fail_then_pass.py"):
        return "labs: fail-then-pass"
    parts = path.split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "tests" else path


def pytest_runtest_logreport(report):
    part = suite_part(report.nodeid)
    PART_SECONDS[part] += report.duration
    if report.when == "call":
        PART_TESTS[part] += 1


def pytest_terminal_summary(terminalreporter):
    if not PART_SECONDS:
        return
    terminalreporter.write_sep("=", "time per part of the suite")
    for part, seconds in PART_SECONDS.most_common():
        terminalreporter.write_line(f"{part:<24} {PART_TESTS[part]:>4} tests  {seconds / 60:6.1f} min")
    terminalreporter.write_line(f"{'all':<24} {sum(PART_TESTS.values()):>4} tests  {sum(PART_SECONDS.values()) / 60:6.1f} min")


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason="clones the repo and runs a second stack (minutes): set SCALELAB_CLONE_TESTS=1, as CI does")
    for item in items:
        if item.get_closest_marker("clone") and not CLONE_TESTS:
            item.add_marker(skip)
    items.sort(key=run_order)  # stable: within each group, pytest's order


def run_order(item) -> int:
    if item.get_closest_marker("clone"):
        return 1
    return 0 if suite_part(item.nodeid) in UNTIMED_PARTS else 2


@pytest.fixture(scope="session", autouse=True)
def clone_walks_in_background(request, tmp_path_factory):
    selected = [item for item in request.session.items if item.get_closest_marker("clone")] if CLONE_TESTS else []
    modules = {item.module for item in selected}
    threads = ThreadPoolExecutor(max_workers=len(modules) or 1, thread_name_prefix="clone")
    for module in modules:
        CLONE_WALKS[module.__name__] = threads.submit(module.walk, tmp_path_factory.mktemp(module.__name__))
    yield
    threads.shutdown(wait=True)  # a walk ends with `make down`: never leave its stack running


@pytest.fixture
def clone_test_started(request) -> Future:
    """The walk of this clone test's module, started at the suite's first test (see CLONE_WALKS)."""
    return CLONE_WALKS[request.module.__name__]


@pytest.fixture(scope="session")
def course_tree(running_stack):
    """The labs whose solutions the working tree holds (course_tree.py); git's tree again at the end."""
    tree = CourseTree()
    yield tree
    tree.reset()


@pytest.fixture(scope="module")
def broken(lab_settings, course_tree):
    """The stack running the broken app, as a learner meets it (no lab solved)."""
    course_tree.hold(set())
    return lab_settings


@pytest.fixture(scope="session")
def lab_settings():
    return settings_module.load()


@pytest.fixture(scope="session")
def free_port():
    """A function that returns a port nothing listens on right now (the kernel's pick): for a server a
    test starts, or a service a test wants to find absent."""

    def pick() -> int:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            return probe.getsockname()[1]

    return pick


@pytest.fixture
def stack_down_settings(lab_settings, free_port):
    """The lab's settings with nginx's port moved to one where nothing listens: the stack seen as down."""
    return settings_module.Settings({**lab_settings.values, "SCALELAB_HTTP_PORT": str(free_port())})


@pytest.fixture(scope="session")
def running_stack(lab_settings):
    """The stack's status; fails the test at once, with the fix, when a service is down."""
    report = stack.current(lab_settings).status()
    down = [name for name, info in report.items() if not info["healthy"]]
    if down:
        pytest.fail(f"the lab stack is not running ({', '.join(down)} down): run `make up`", pytrace=False)
    return report


@pytest.fixture(scope="session")
def lab_postgres_admin_url(lab_settings, running_stack):
    """A superuser URL to the lab's own PostgreSQL (never the machine's own on 5432)."""
    return lab_settings.postgres_url("postgres")


@pytest.fixture(scope="session")
def artifacts_dir():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS

