"""Fixtures for the `wall` tests: real load against the real stack (two instances behind nginx)."""

from __future__ import annotations

import contextlib
import csv

import pytest

from scalelab import stack
from scalelab.kit import faults
from scalelab.paths import SEED_CREDENTIALS, log_file

pytestmark = pytest.mark.wall


@pytest.fixture
def no_faults(broken):
    """The broken app, each wall test's subject, with no fault set."""
    faults.clear()
    yield
    faults.clear()


@pytest.fixture(scope="session")
def seeded_credentials(running_stack) -> list[tuple[str, str]]:
    with open(SEED_CREDENTIALS, newline="") as f:
        return [(row["email"], row["password"]) for row in csv.DictReader(f)]


@pytest.fixture
def app_logs():
    """Read what the app instances logged from now on."""
    offsets = {name: log_file(name).stat().st_size for name in ("app1", "app2")}

    def new_lines() -> str:
        text = ""
        for name, offset in offsets.items():
            with open(log_file(name), errors="replace") as f:
                f.seek(offset)
                text += f.read()
        return text

    return new_lines


@pytest.fixture
def apps_started_with(lab_settings):
    """A context manager: both app instances restarted with extra environment, restored afterwards."""

    @contextlib.contextmanager
    def restarted(**env: str):
        try:
            stack.current(lab_settings).restart(["app1", "app2"], env=env)
            yield
        finally:
            stack.current(lab_settings).restart(["app1", "app2"])

    return restarted
