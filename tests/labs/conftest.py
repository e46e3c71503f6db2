"""Fixtures of the lab tests."""

from __future__ import annotations

import subprocess
import sys

import pytest
from machine_size import MemorySampler

from scalelab.kit import faults
from scalelab.paths import REPO


def scalelab(*args: str) -> None:
    result = subprocess.run([sys.executable, "-m", "scalelab", *args], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"scalelab {' '.join(args)}: {result.stdout}{result.stderr}"


@pytest.fixture(scope="module")
def solved(request, lab_settings, running_stack):
    """The stack running the reference fix of the test module's LAB (with the labs it builds on);
    faults cleared and every lab reset afterwards, so the working tree ends as git has it."""
    scalelab("solve", request.module.LAB.id)
    try:
        yield lab_settings
    finally:
        faults.clear()
        scalelab("reset", "--all")


@pytest.fixture(scope="session")
def stack_memory(lab_settings, running_stack):
    """The stack's memory, sampled from the first test that asks for it to the session's end: under
    the 4gib profile, whose budget tests/labs/test_small_machine.py judges."""
    sampler = MemorySampler(REPO)
    if lab_settings.machine.name == "4gib":
        sampler.start()
    yield sampler
    sampler.running = False
