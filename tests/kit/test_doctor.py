"""`scalelab doctor`'s decisions, on given numbers, paths and real processes (no stack needed)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from scalelab.stack import docker, doctor
from scalelab.stack.native import binaries

GIB = 1024**3
MIB = 1024**2
CHILD_MIB = 200


def test_docker_info_memory_is_read_as_bytes():
    assert docker.parse_memory("8232701952\n") == 8232701952
    assert docker.parse_memory("") is None
    assert docker.parse_memory("<no value>") is None


def test_docker_below_four_gib_is_a_note_with_the_fix_when_native_mode_can_run():
    blocking, line = doctor.docker_memory_problem(2 * GIB, native_ok=True, wsl=False)
    assert blocking is False
    assert line == (
        "Docker gives its containers only 2.0 GiB of memory, Docker mode needs 4: raise Docker Desktop's memory "
        "limit to at least 4 GiB: Settings > Resources > Memory; or run `scalelab up --native`"
    )


def test_docker_below_four_gib_blocks_when_native_mode_cannot_run():
    blocking, line = doctor.docker_memory_problem(3.5 * GIB, native_ok=False, wsl=False)
    assert blocking is True
    assert "only 3.5 GiB" in line and "--native" not in line


def test_docker_under_wsl_is_raised_in_wslconfig():
    _, line = doctor.docker_memory_problem(2 * GIB, native_ok=False, wsl=True)
    assert line.endswith("`memory=4GB` under [wsl2] in %UserProfile%\\.wslconfig, then `wsl --shutdown`")


def test_docker_with_enough_memory_or_no_engine_says_nothing():
    assert doctor.docker_memory_problem(4 * GIB, native_ok=False, wsl=False) is None
    assert doctor.docker_memory_problem(16 * GIB, native_ok=False, wsl=False) is None
    assert doctor.docker_memory_problem(None, native_ok=False, wsl=False) is None


def test_a_small_docker_blocks_with_the_missing_programs_when_native_cannot_run(monkeypatch):
    monkeypatch.setattr(docker, "engine_available", lambda: True)
    monkeypatch.setattr(docker, "engine_memory", lambda: 2 * GIB)
    find = binaries.find
    monkeypatch.setattr(binaries, "find", lambda program: None if program == "pgbouncer" else find(program))
    blocking, _ = doctor._mode_problems()
    assert blocking[0].startswith("Docker gives its containers only 2.0 GiB") and "--native" not in blocking[0]
    assert "missing programs for native mode (pgbouncer): run `sudo apt-get install -y pgbouncer`" in blocking


@pytest.mark.parametrize(
    ("release", "wsl"),
    [
        ("5.15.153.1-microsoft-standard-WSL2\n", True),
        ("4.4.0-19041-Microsoft\n", True),  # WSL 1
        ("6.1.0-18-amd64\n", False),
        ("6.8.0-45-generic\n", False),
    ],
)
def test_wsl_is_told_by_its_kernel_release(release, wsl):
    assert doctor.is_wsl(release) is wsl


@pytest.mark.parametrize(
    ("path", "windows"),
    [
        ("/mnt/c/Users/ana/scale-wall-lab", True),
        ("/mnt/d/lab", True),
        ("/mnt/c", True),
        ("/home/ana/scale-wall-lab", False),
        ("/mnt/data/scale-wall-lab", False),  # a Linux disk mounted under /mnt
        ("/media/c/scale-wall-lab", False),
    ],
)
def test_windows_drives_are_the_one_letter_folders_of_mnt(path, windows):
    assert doctor.on_windows_drive(Path(path)) is windows


def test_a_repo_on_the_windows_drive_blocks_without_docker(monkeypatch):
    monkeypatch.setattr(docker, "engine_available", lambda: False)
    monkeypatch.setattr(doctor, "_kernel_release", lambda: "5.15.153.1-microsoft-standard-WSL2\n")
    monkeypatch.setattr(doctor, "REPO", Path("/mnt/c/Users/ana/scale-wall-lab"))
    blocking, _ = doctor._mode_problems()
    assert blocking[-1] == (
        "the repo is on the Windows filesystem (/mnt/c/Users/ana/scale-wall-lab), where native mode's PostgreSQL "
        "refuses its data folder and every file access is slow: clone the repo inside the Linux filesystem, "
        "e.g. ~/scale-wall-lab"
    )


def test_low_memory_counts_what_the_running_stack_holds():
    alone = doctor.low_memory(1.0, 0.0)
    assert alone == "only 1.0 GiB of memory available, the stack needs about 2: close other programs"
    assert doctor.low_memory(0.9, 1.3) is None
    assert doctor.low_memory(0.3, 1.3) == (
        "only 1.6 GiB of memory available with the 1.3 the running stack holds, the stack needs about 2: "
        "close other programs"
    )


@pytest.fixture
def child():
    """A child of this test's process holding CHILD_MIB of its own memory."""
    script = f"import time; block = b'x' * ({CHILD_MIB} * 2**20); print('ready', flush=True); time.sleep(120)"
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "ready\n"
    yield proc
    proc.kill()
    proc.wait()


def test_a_child_counts_once_for_its_parent_or_for_itself(child):
    alone = doctor.stack_memory({"tests": os.getpid()})["tests"]
    both = doctor.stack_memory({"tests": os.getpid(), "child": child.pid})
    assert both["child"][0] >= CHILD_MIB * MIB and both["child"][1] >= CHILD_MIB * MIB
    assert alone[0] >= both["child"][0] + 10 * MIB  # the parent's own memory comes on top of the child's
    assert both["tests"][0] < alone[0] - CHILD_MIB * MIB  # a named child counts for its own name only
    for kind in (0, 1):  # PSS and RSS: the same total either way round
        assert abs(alone[kind] - (both["tests"][kind] + both["child"][kind])) < 16 * MIB


def test_the_memory_line_names_the_largest_first(child):
    usage = doctor.stack_memory({"tests": os.getpid(), "child": child.pid})
    line = doctor.memory_line(usage)
    # The pytest process may be larger or smaller than the child, depending on what the suite imported.
    first, second = sorted(usage, key=lambda name: usage[name][0], reverse=True)
    found = re.fullmatch(
        r"the running stack uses (\d+\.\d) GiB of memory \(PSS; its processes' RSS adds up to (\d+\.\d) GiB, "
        rf"counting shared pages in each\): {first} (\d+), {second} (\d+) MiB",
        line,
    )
    assert found, line
    mib = {first: int(found[3]), second: int(found[4])}
    assert mib["child"] >= CHILD_MIB and mib["tests"] > 0
    assert float(found[1]) == round((usage["child"][0] + usage["tests"][0]) / GIB, 1)


def test_the_memory_line_names_five_and_sums_the_rest():
    sizes = {"redis": 6, "app1": 300, "postgres": 150, "worker": 250, "nginx": 10, "app2": 290, "locust": 40}
    usage = {name: (mib * MIB, 2 * mib * MIB) for name, mib in sizes.items()}
    assert doctor.memory_line(usage) == (
        "the running stack uses 1.0 GiB of memory (PSS; its processes' RSS adds up to 2.0 GiB, counting shared "
        "pages in each): app1 300, app2 290, worker 250, postgres 150, locust 40, 2 more 16 MiB"
    )
    assert doctor.memory_line({}) is None
