"""The docker suite: the course under Docker Compose, on a real engine (`make test` runs it after the
native suite, on the same ports).

The session starts `dockerd` when no engine answers (root, Debian's docker.io: CI and these machines
have no systemd) and stops it at the end; it makes the pinned Debian base with debootstrap when it
cannot be pulled; `scalelab up --docker` then builds the images and starts the stack without the
upstream-only images (SCALELAB_DOCKER_UPSTREAM=no: no registry is reachable in CI).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from course_tree import scalelab

from scalelab.paths import STATE
from scalelab.stack import docker, dockerbase
from scalelab.stack import settings as settings_module

ENGINE_LOG = STATE / "dockerd.log"
ENGINE_READY_S = 30


def pytest_collection_modifyitems(items):
    # A conftest's hook sees the whole session's items: mark this folder's only.
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.docker)


@pytest.fixture(scope="session")
def engine():
    """A Docker engine: the one that answers, or a `dockerd` started here (and stopped at the end)."""
    if docker.engine_available():
        yield None
        return
    if shutil.which("dockerd") is None or os.getuid() != 0:
        pytest.fail("no Docker engine answers and none can be started here: `sudo apt-get install docker.io`, run as root")
    STATE.mkdir(parents=True, exist_ok=True)
    log = open(ENGINE_LOG, "ab")
    daemon = subprocess.Popen(["dockerd"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + ENGINE_READY_S
    while not docker.engine_available():
        if daemon.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"dockerd did not start; its log: {ENGINE_LOG}")
        time.sleep(0.5)
    yield daemon
    daemon.terminate()
    daemon.wait(timeout=60)
    log.close()


@pytest.fixture(scope="session")
def docker_settings(engine):
    """The stack up in Docker mode, as CI can run it: every service but Grafana, Jaeger and Mailpit."""
    os.environ["SCALELAB_DOCKER_UPSTREAM"] = "no"
    base = dockerbase.pinned()
    if not dockerbase.present(base) and subprocess.run(["docker", "pull", base], capture_output=True).returncode != 0:
        dockerbase.make(print)
    up = scalelab("up", "--docker")
    assert up.returncode == 0, up.stdout + up.stderr
    yield settings_module.load()
    scalelab("down")

