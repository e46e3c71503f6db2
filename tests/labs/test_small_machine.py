"""The smallest machine profile, 4gib (scalelab/machines.py), keeps every failure reproducible: each
lab's check fails on the broken app and passes on its solution there too, and the stack stays within
what a 4 GiB laptop can give it, through the checks and through the biggest load run the profile allows.

Like tests/newuser, it clones the committed repository and runs a second stack there (SCALELAB_MACHINE=
4gib, ports moved by PORT_SHIFT), beside the suite's own idle stack. It takes about a quarter of an
hour (12 min measured), so it runs where .ci/run asks for it (SCALELAB_CLONE_TESTS=1) and is skipped elsewhere.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest
import sqlalchemy

from clones import clone_repo
from scalelab import health, machines
from scalelab.settings import Settings, parse_env_file
from test_checks_fail_then_pass import SOLVABLE, fail_then_pass, run_verb

pytestmark = [pytest.mark.clone, pytest.mark.wall]
# Clear of the default ports, of those + 10000 (a course author's second stack) and of tests/newuser's
# (+ 12000; 13000 would put this PostgreSQL on its PgBouncer's port), and below 32768 (see clone_repo).
PORT_SHIFT = 13020
SMALL = machines.get("4gib")
# A 4 GiB laptop's operating system, desktop and browser hold 1.5-2 GiB of it: the lab has about 2.
MEMORY_BUDGET_GIB = 2.0
GIB = machines.GIB


class MemorySampler(threading.Thread):
    """The peak of the summed PSS of the clone's processes, sampled every 2 s: its services with their
    children, found by their pid files (as root, the services work in a folder outside the clone:
    scalelab/native/account.py), and every process working in the clone (the checks and their
    Locust). PSS splits shared pages among their processes (doctor.py)."""

    def __init__(self, folder: Path):
        super().__init__(daemon=True)
        self.folder, self.peak, self.running = folder, 0, True

    def processes(self) -> dict[int, psutil.Process]:
        found: dict[int, psutil.Process] = {}
        for pid_file in (self.folder / ".lab" / "run").glob("*.pid"):
            try:
                service = psutil.Process(int(pid_file.read_text().split()[0]))
                found.update({proc.pid: proc for proc in (service, *service.children(recursive=True))})
            except (psutil.Error, OSError, ValueError, IndexError):
                continue  # stopped, or restarting
        for proc in psutil.process_iter():
            try:
                if proc.cwd().startswith(str(self.folder)):
                    found.setdefault(proc.pid, proc)
            except psutil.Error:
                continue
        return found

    def total(self) -> int:
        total = 0
        for proc in self.processes().values():
            try:
                total += proc.memory_full_info().pss
            except psutil.Error:
                continue  # gone since
        return total

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, self.total())
            time.sleep(2)


@dataclass
class SmallStack:
    clone: Path
    settings: Settings  # the clone's .env: its ports, and the 4gib profile
    verb: Callable  # verb(*args, timeout=...) runs `scalelab ARGS` in the clone
    memory: MemorySampler
    loads_run: set[str] = field(default_factory=set)  # what the memory test waits to have been measured


def measure_profile(clone: Path, settings: Settings) -> dict[str, str]:
    """What the clone's stack runs with, read off the running stack: the settings the profile sets."""
    engine = sqlalchemy.create_engine(settings.postgres_url(user="chirp", sqlalchemy=True))
    with engine.connect() as connection:
        users = connection.execute(sqlalchemy.text("SELECT count(*) FROM users")).scalar()
        posts = connection.execute(sqlalchemy.text("SELECT count(*) FROM posts")).scalar()
        shared_buffers = connection.execute(sqlalchemy.text("SHOW shared_buffers")).scalar()
    engine.dispose()
    worker = str(clone / ".lab" / "worker")
    celery = [p for p in psutil.process_iter(["cwd", "cmdline"]) if p.info["cwd"] == worker and "celery" in str(p.info["cmdline"])]
    return {
        "SEED_USERS": str(users), "SEED_POSTS": str(posts), "POSTGRES_SHARED_BUFFERS": shared_buffers,
        "WORKER_CONCURRENCY": str(len(celery) - 1),  # the worker's own process and its pool's
    }


@pytest.fixture(scope="module")
def small_stack(tmp_path_factory):
    clone, ports, env = clone_repo(tmp_path_factory.mktemp("small-machine"), PORT_SHIFT, "SCALELAB_MACHINE=4gib\n")
    memory = MemorySampler(clone)

    def verb(*args: str, timeout: float = 600):
        return run_verb([str(clone / ".venv" / "bin" / "scalelab")], args, clone, env, timeout)

    try:
        assert run_verb(["make"], ["up"], clone, env, timeout=1800).returncode == 0
        settings = Settings(parse_env_file(clone / ".env"))
        # Before any check signs users up: the seed as the profile sized it.
        assert measure_profile(clone, settings) == SMALL.settings, "the clone's stack does not run the 4gib profile"
        memory.start()
        yield SmallStack(clone, settings, verb, memory)
    finally:
        memory.running = False
        down = run_verb(["make"], ["down"], clone, env, timeout=300)
    assert down.returncode == 0
    assert not [port for port in ports.values() if health.port_in_use(port)]


@pytest.mark.parametrize("lab", SOLVABLE, ids=lambda lab: lab.id)
def test_check_fails_on_the_broken_app_and_passes_after_solve(lab, small_stack):
    fail_then_pass(lab, small_stack.verb)
    small_stack.loads_run.add(lab.id)


def test_a_bigger_load_run_is_cut_to_the_profile_s_users(small_stack):
    """The notebooks' biggest run (Lab 0's ramp to 2,000 users) on the broken app, cut to 500."""
    result = small_stack.verb("load", "launch-day", "--users", "2000", "--duration", "60", timeout=600)
    assert result.returncode == 0
    assert "2,000 users is more than the 4gib machine profile's 500" in result.stderr
    assert "500 users for 60 s" in result.stdout
    small_stack.loads_run.add("launch-day")


def test_the_stack_stays_within_a_4_gib_laptop_s_means(small_stack):
    """Measured through every check above and the capped run; doctor prints the stack's own share."""
    if small_stack.loads_run != {*(lab.id for lab in SOLVABLE), "launch-day"}:
        pytest.skip("this measures through every check and the capped run: run the whole module")
    doctor = small_stack.verb("doctor")
    assert "the running stack uses" in doctor.stdout
    peak = small_stack.memory.peak / GIB
    print(f"the 4gib stack, its checks and their load peaked at {peak:.2f} GiB (PSS)")
    assert 0.2 < peak <= MEMORY_BUDGET_GIB, f"the 4gib profile's stack peaked at {peak:.2f} GiB"
