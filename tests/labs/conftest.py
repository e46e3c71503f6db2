"""Fixtures of the lab tests."""

from __future__ import annotations

import contextlib

import pytest
from machine_size import MemorySampler

from scalelab import stack
from scalelab.kit import faults
from scalelab.paths import REPO


@pytest.fixture(scope="module")
def solved(request, lab_settings, course_tree):
    """The stack running the reference fix of the test module's LAB (with the labs it builds on); faults
    cleared afterwards. The tree stays solved for the next module (course_tree.py)."""
    course_tree.hold({request.module.LAB.id})
    try:
        yield lab_settings
    finally:
        faults.clear()


@pytest.fixture
def half_fixed(solved):
    """A context manager: app1 and app2 restarted with some of the solved modules replaced (a learner's
    half fix: {path: content}) and extra environment, then put back and restarted. For the measurements
    a check adds, each shown to fail on its own module broken, the lab's other fixes applied."""

    @contextlib.contextmanager
    def replaced(files: dict[str, bytes], env: dict[str, str] | None = None):
        saved = {path: (REPO / path).read_bytes() for path in files}
        running = stack.current(solved)
        try:
            for path, content in files.items():
                (REPO / path).write_bytes(content)
            running.restart(["app1", "app2"], env=env)
            yield solved
        finally:
            for path, content in saved.items():
                (REPO / path).write_bytes(content)
            running.restart(["app1", "app2"])

    return replaced


@pytest.fixture(scope="session")
def stack_memory(lab_settings, running_stack):
    """The stack's memory, sampled from the first test that asks for it to the session's end: under
    the 4gib profile, whose budget tests/labs/test_small_machine.py judges."""
    sampler = MemorySampler(REPO)
    if lab_settings.machine.name == "4gib":
        sampler.start()
    yield sampler
    sampler.running = False
