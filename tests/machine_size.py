"""What a running stack's machine size (scalelab/stack/machines.py) really gave it, measured from outside:
the settings the size sets, read off the stack, and the memory the stack holds under load.

CI proves both sizes with one stack each: the suite's own stack runs `4gib` (.ci/run writes it into
.env; tests/labs/test_small_machine.py), and the README walk's clone runs `full`, .env.example's
(tests/newuser/test_readme_walk.py). `8gib` runs `full`'s settings with a cap on users.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import psutil
import sqlalchemy

from broken_app.seed import POSTS_END
from scalelab.stack.settings import Settings


def measure_machine(folder: Path, settings: Settings) -> dict[str, str]:
    """The settings a size sets, as the stack of the checkout in `folder` runs them. The seed's rows
    are dated before POSTS_END; those the app adds later (sign-ups, posts) are dated now, so tests
    that have run before do not change the count."""
    engine = sqlalchemy.create_engine(settings.postgres_url(user="chirp", sqlalchemy=True))
    with engine.connect() as connection:
        users, posts = (
            connection.execute(sqlalchemy.text(f"SELECT count(*) FROM {table} WHERE created_at < :end"), {"end": POSTS_END}).scalar()
            for table in ("users", "posts")
        )
        shared_buffers = connection.execute(sqlalchemy.text("SHOW shared_buffers")).scalar()
    engine.dispose()
    worker = str(folder / ".lab" / "worker")
    celery = [p for p in psutil.process_iter(["cwd", "cmdline"]) if p.info["cwd"] == worker and "celery" in str(p.info["cmdline"])]
    return {
        "SEED_USERS": str(users), "SEED_POSTS": str(posts), "POSTGRES_SHARED_BUFFERS": shared_buffers,
        "WORKER_CONCURRENCY": str(len(celery) - 1),  # the worker's own process and its pool's
    }


class MemorySampler(threading.Thread):
    """The peak of the summed PSS of a checkout's stack, sampled every 2 s: its services with their
    children, found by their pid files (as root, the services work in a folder outside the checkout:
    scalelab/stack/native/account.py), and every other process working in the checkout (the checks and
    their Locust), but not the test session sampling it. PSS splits shared pages among their
    processes (doctor.py)."""

    def __init__(self, folder: Path):
        super().__init__(daemon=True)
        self.folder, self.peak, self.running = folder, 0, True
        self.loads_run: set[str] = set()  # the load runs measured so far, for the test that judges the peak

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
                if proc.pid != os.getpid() and proc.cwd().startswith(str(self.folder)):
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
