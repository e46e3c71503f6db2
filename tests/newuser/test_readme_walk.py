"""A new user's first minutes, as the README tells them: clone the repository, `make up`, open Chirp
through nginx, pass Lab 0's check, `make down`. This guards the README's main commands.

The clone runs .env.example's machine size, `full`, while the rest of the suite runs `4gib` in CI
(.ci/run): so this is also where CI proves that `full` seeds, caches and queues as it says.

It clones the committed repository (not this working tree) into a temporary folder and runs a second
stack there, on the ports of .env.example moved up by PORT_SHIFT so that it does not meet the stack
the rest of the suite uses. It takes minutes (a fresh .venv, the stack's start, the check), so it
runs where .ci/run asks for it (SCALELAB_CLONE_TESTS=1) and is skipped elsewhere. Those minutes
overlap the parts of the suite that time nothing: tests/conftest.py starts `walk` on a thread at the
suite's first test, and this test waits for it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import requests
from clones import clone_repo
from machine_size import measure_machine

from scalelab.stack import health, machines
from scalelab.stack.settings import Settings, parse_env_file

pytestmark = pytest.mark.clone
# Clear of the default ports and of those ports + 10000 (a second stack that course authors run
# beside theirs), and below 32768 (see clone_repo).
PORT_SHIFT = 12000


def walk(folder: Path) -> list[str]:
    """The README's commands in a clone made in folder, asserting as they go; returns what each command
    printed. It runs on a thread beside other tests (tests/conftest.py), so it keeps its transcript
    instead of printing it."""
    clone, ports, env = clone_repo(folder, PORT_SHIFT)
    # Native mode's walk, on a machine without Docker: CI runs an engine for the docker suite
    # (tests/docker), which `make up` would otherwise pick. The docker suite walks Docker mode.
    env["DOCKER_HOST"] = "unix:///nonexistent/docker.sock"
    transcript: list[str] = []

    def run(command: list[str], timeout: float) -> subprocess.CompletedProcess:
        result = subprocess.run(command, cwd=clone, env=env, capture_output=True, text=True, timeout=timeout)
        transcript.append(f"$ {' '.join(command)}  -> exit {result.returncode}\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
        return result

    try:
        assert run(["make", "up"], timeout=1200).returncode == 0, transcript[-1]
        chirp = requests.get(f"http://127.0.0.1:{ports['SCALELAB_HTTP_PORT']}/", timeout=30)
        assert chirp.status_code == 200 and "Chirp" in chirp.text
        assert chirp.headers["X-Served-By"] in ("app1", "app2")
        full = Settings(parse_env_file(clone / ".env"))
        assert measure_machine(clone, full) == machines.get("full").settings
        assert run([".venv/bin/scalelab", "check", "0"], timeout=600).returncode == 0, transcript[-1]
    finally:
        down = run(["make", "down"], timeout=300)
    assert down.returncode == 0, transcript[-1]
    assert not [port for port in ports.values() if health.port_in_use(port)]
    return transcript


def test_clone_make_up_open_chirp_pass_lab_0_make_down(clone_test_started):
    """Waits for walk, started at the suite's first test; its failure is raised here."""
    print("\n".join(clone_test_started.result(timeout=1800)))
