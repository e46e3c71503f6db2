"""Fixtures for the `wall` tests: real load against the real stack (two instances behind nginx)."""

from __future__ import annotations

import contextlib
import csv

import pytest

from scalelab import faults
from scalelab.native import bootstrap, stack
from scalelab.paths import log_file

pytestmark = pytest.mark.wall


@pytest.fixture
def no_faults(running_stack):
    faults.clear()
    yield
    faults.clear()


@pytest.fixture(scope="session")
def seeded_credentials(running_stack) -> list[tuple[str, str]]:
    with open(bootstrap.CREDENTIALS, newline="") as f:
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
            stack.restart(["app1", "app2"], lab_settings, extra_env=env)
            yield
        finally:
            stack.restart(["app1", "app2"], lab_settings)

    return restarted
