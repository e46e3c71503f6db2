"""Preflight: can the lab run here? One line per problem, each with its fix."""

from __future__ import annotations

import os
import shutil
import sys

from scalelab import docker, health
from scalelab.native import binaries, npm, process
from scalelab.paths import REPO
from scalelab.services import native_services
from scalelab.native.stack import ports_of
from scalelab.settings import Settings

MIN_AVAILABLE_MEMORY_GIB = 2.0
MIN_FREE_DISK_GIB = 2.0


def _available_memory_gib() -> float | None:
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return None


def problems(settings: Settings) -> tuple[list[str], list[str]]:
    """(blocking problems, notes). Each is one line that names the fix."""
    blocking: list[str] = []
    notes: list[str] = []
    if sys.version_info < (3, 11):
        blocking.append(f"Python {sys.version.split()[0]} is too old: install Python 3.11 or newer")
    docker_ok = docker.engine_available()
    if not docker_ok:
        notes.append("no Docker engine answers: the lab will run in native mode (fine on Debian/Ubuntu)")
    missing = binaries.missing()
    if missing and not docker_ok:
        blocking.append(
            f"missing programs for native mode ({', '.join(sorted(missing))}): run "
            f"`sudo apt-get install -y {' '.join(sorted(set(missing.values())))}`"
        )
    too_old = npm.node_problem()
    if too_old and not docker_ok:
        blocking.append(too_old)
    for service in native_services():
        if process.running_pid(service.name) is not None:
            continue
        for key, port in ports_of(service, settings).items():
            if health.port_in_use(port):
                blocking.append(f"port {port} ({service.name}) is taken by another program: set another {key} in .env")
    memory = _available_memory_gib()
    if memory is not None and memory < MIN_AVAILABLE_MEMORY_GIB:
        blocking.append(
            f"only {memory:.1f} GiB of memory available, the stack needs about {MIN_AVAILABLE_MEMORY_GIB:.0f}: close other programs"
        )
    free_disk = shutil.disk_usage(REPO).free / 1024**3
    if free_disk < MIN_FREE_DISK_GIB:
        blocking.append(f"only {free_disk:.1f} GiB free on the disk of {REPO}: free some space")
    if (os.cpu_count() or 1) < 2:
        notes.append("only 1 CPU core: load runs will saturate it early; numbers will differ from the course's")
    return blocking, notes
