"""`up` is idempotent, `down` leaves nothing behind, and a crash (its stale pid file, its orphans) does no harm.

This test takes the stack down and brings it back up (warm), so the rest of the suite still has it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import psutil
import requests

from scalelab.paths import REPO, pid_file
from scalelab.stack import health
from scalelab.stack.native import process
from scalelab.stack.native.lifecycle import ports_of
from scalelab.stack.services import native_services


def scalelab(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scalelab", *args], capture_output=True, text=True, cwd=REPO, timeout=600)


def _listening(settings) -> list[int]:
    return [
        port
        for service in native_services()
        for port in ports_of(service, settings).values()
        if health.port_in_use(port)
    ]


def test_up_twice_down_twice_and_a_stale_pid_file(lab_settings, running_stack):
    again = scalelab("up", "--native")
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("already running") == len(native_services())

    gone = scalelab("down")
    assert gone.returncode == 0, gone.stderr
    assert _listening(lab_settings) == []
    assert all(process.running_pid(s.name) is None for s in native_services())

    assert "nothing was running" in scalelab("down").stdout

    # A crash leaves a pid file behind whose pid is long gone (or reused by something else).
    pid_file("redis").write_text("999999 12345\n")
    back = scalelab("up", "--native")
    assert back.returncode == 0, back.stdout + back.stderr
    assert "redis: removed a stale pid file" in back.stdout
    assert sorted(_listening(lab_settings)) == sorted(
        port for service in native_services() for port in ports_of(service, lab_settings).values()
    )


def test_up_after_an_instance_crashed_starts_it_again(lab_settings, running_stack):
    """Lab 2 has learners kill instances. A SIGKILLed gunicorn master leaves its workers serving on
    its port for a few seconds; `up` ends them (the dead master's process group) and starts app1."""
    master = process.running_pid("app1")
    # Stopped, the workers cannot notice their master is gone and leave on their own: they hold the
    # port until something ends them, as a busy worker would.
    for worker in psutil.Process(master).children():
        worker.suspend()
    os.kill(master, signal.SIGKILL)
    assert health.port_in_use(lab_settings.port("APP1")), "app1's workers should still hold its port"
    back = scalelab("up", "--native")
    assert back.returncode == 0, back.stdout + back.stderr
    assert "app1: removed a stale pid file" in back.stdout
    assert process.running_pid("app1") not in (None, master)
    assert requests.get(f"http://{lab_settings.address('app1')}/healthz", timeout=10).status_code == 200
