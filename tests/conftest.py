"""Fixtures shared by the whole suite. The suite runs against the real lab stack (`make test` starts it)."""

from __future__ import annotations

import os
import socket

import pytest

from scalelab import settings as settings_module
from scalelab.native import stack as native
from scalelab.paths import REPO

ARTIFACTS = REPO / "artifacts"
# Tests marked `clone` clone the repository and run a second stack in it: minutes each, so they run
# where .ci/run asks for them.
CLONE_TESTS = os.environ.get("SCALELAB_CLONE_TESTS") == "1"


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason="clones the repo and runs a second stack (minutes): set SCALELAB_CLONE_TESTS=1, as CI does")
    for item in items:
        if item.get_closest_marker("clone") and not CLONE_TESTS:
            item.add_marker(skip)


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
    """The native stack's status; fails the test at once, with the fix, when a service is down."""
    report = native.status(lab_settings)
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

