"""Preflight: can the lab run here? One line per problem, each with its fix."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import psutil

from scalelab.paths import REPO
from scalelab.stack import docker, health, machines
from scalelab.stack.native import binaries, npm, process
from scalelab.stack.native.lifecycle import ports_of
from scalelab.stack.services import native_services
from scalelab.stack.settings import Settings, parse_env_file

GIB = machines.GIB
MIB = 1024**2
MIN_AVAILABLE_MEMORY_GIB = 2.0
MIN_FREE_DISK_GIB = 2.0
# Docker mode keeps 19 containers running: the native stack's 15 plus Grafana, Mailpit, Flower and Jaeger, and
# PostgreSQL, two app instances, the Celery worker and Locust grow under load. The native stack holds
# about 1 GiB idle; the extra containers, the engine's own VM and the first `up`'s image builds need
# the rest.
DOCKER_MIN_MEMORY_GIB = 4

WINDOWS_DRIVE_FIX = "clone the repo inside the Linux filesystem, e.g. ~/scale-wall-lab"


def _available_memory_gib() -> float | None:
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return None


def _kernel_release() -> str:
    try:
        return Path("/proc/sys/kernel/osrelease").read_text()
    except OSError:
        return ""


def is_wsl(kernel_release: str) -> bool:
    """WSL's kernels name themselves: 5.15.153.1-microsoft-standard-WSL2, or 4.4.0-19041-Microsoft (WSL 1)."""
    return "microsoft" in kernel_release.lower()


def on_windows_drive(path: Path) -> bool:
    """True under /mnt/<letter>/, where WSL mounts the Windows drives (DrvFs)."""
    parts = path.parts
    return len(parts) >= 3 and parts[:2] == ("/", "mnt") and len(parts[2]) == 1 and parts[2].isalpha()


def docker_memory_problem(memory: int | None, native_ok: bool, wsl: bool) -> tuple[bool, str] | None:
    """(blocking, line) when the Docker engine's memory is too small for Docker mode; None when it is
    enough, or unknown (no engine answers)."""
    if memory is None or memory >= DOCKER_MIN_MEMORY_GIB * GIB:
        return None
    # Under WSL 2, Docker Desktop's Settings only point at Windows' .wslconfig, which sets the VM's memory.
    where = (
        f"`memory={DOCKER_MIN_MEMORY_GIB}GB` under [wsl2] in %UserProfile%\\.wslconfig, then `wsl --shutdown`"
        if wsl
        else "Settings > Resources > Memory"
    )
    line = (
        f"Docker gives its containers only {memory / GIB:.1f} GiB of memory, Docker mode needs "
        f"{DOCKER_MIN_MEMORY_GIB}: raise Docker Desktop's memory limit to at least {DOCKER_MIN_MEMORY_GIB} GiB: {where}"
    )
    # Only a note when native mode can run: but `up` picks Docker whenever an engine answers, so say how.
    return (False, f"{line}; or run `scalelab up --native`") if native_ok else (True, line)


def _process_memory(proc: psutil.Process) -> tuple[int, int]:
    """(PSS, RSS) bytes. PSS splits each shared page among the processes sharing it; RSS counts it in each."""
    try:
        info = proc.memory_full_info()
        return info.pss, info.rss
    except psutil.AccessDenied:  # another user's smaps: RSS overstates, but leaves nothing out
        rss = proc.memory_info().rss
        return rss, rss


def stack_memory(pids: dict[str, int]) -> dict[str, tuple[int, int]]:
    """(PSS, RSS) bytes of each named process with all its descendants, each process counted once.

    A descendant that is itself one of the named processes counts for its own name only. PSS is the
    figure to add up: PostgreSQL's backends and the forked gunicorn and Celery workers share most of
    their pages, which summing RSS counts again in every process (about twice the real total here).
    """
    roots = set(pids.values())
    usage = {}
    for name, pid in pids.items():
        pss = rss = 0
        todo = [pid]
        while todo:
            try:
                proc = psutil.Process(todo.pop())
                share, resident = _process_memory(proc)
                todo += [child.pid for child in proc.children() if child.pid not in roots]
            except psutil.NoSuchProcess:  # it exited while we looked
                continue
            pss += share
            rss += resident
        usage[name] = (pss, rss)
    return usage


def memory_line(usage: dict[str, tuple[int, int]]) -> str | None:
    """The stack's total memory and its five largest services, or None when nothing runs."""
    if not usage:
        return None
    ranked = sorted(usage.items(), key=lambda item: item[1][0], reverse=True)
    parts = [f"{name} {pss / MIB:.0f}" for name, (pss, _) in ranked[:5]]
    if rest := ranked[5:]:
        parts.append(f"{len(rest)} more {sum(pss for _, (pss, _) in rest) / MIB:.0f}")
    pss_total = sum(pss for pss, _ in usage.values())
    rss_total = sum(rss for _, rss in usage.values())
    return (
        f"the running stack uses {pss_total / GIB:.1f} GiB of memory (PSS; its processes' RSS adds up to "
        f"{rss_total / GIB:.1f} GiB, counting shared pages in each): {', '.join(parts)} MiB"
    )


def _mode_problems() -> tuple[list[str], list[str]]:
    """What stops native mode or Docker mode. Blocking only when neither mode can run."""
    blocking: list[str] = []
    notes: list[str] = []
    docker_ok = docker.engine_available()
    if not docker_ok:
        notes.append("no Docker engine answers: the lab will run in native mode (fine on Debian/Ubuntu)")
    wsl = is_wsl(_kernel_release())
    # DrvFs shows every file as writable by all unless mounted with `metadata`, so PostgreSQL refuses its
    # data folder under .lab/; and each file access crosses into Windows, slowly.
    on_windows = wsl and on_windows_drive(REPO.resolve())
    missing = binaries.missing()
    too_old = npm.node_problem()
    native_ok = not (missing or too_old or on_windows)
    too_small = docker_memory_problem(docker.engine_memory() if docker_ok else None, native_ok, wsl)
    if too_small:
        (blocking if too_small[0] else notes).append(too_small[1])
    docker_fits = docker_ok and too_small is None
    if missing and not docker_fits:
        blocking.append(
            f"missing programs for native mode ({', '.join(sorted(missing))}): run "
            f"`sudo apt-get install -y {' '.join(sorted(set(missing.values())))}`"
        )
    if too_old and not docker_fits:
        blocking.append(too_old)
    if on_windows:
        # Docker mode keeps PostgreSQL's data in a volume inside its VM: it runs, only its mounts are slow.
        (notes if docker_fits else blocking).append(
            f"the repo is on the Windows filesystem ({REPO.resolve()}), where native mode's PostgreSQL "
            f"refuses its data folder and every file access is slow: {WINDOWS_DRIVE_FIX}"
        )
    return blocking, notes


def low_memory(available_gib: float, stack_gib: float) -> str | None:
    """The blocking line when the lab would have too little memory; stack_gib is 0 when nothing runs."""
    # A running stack's own memory is the lab's too: MemAvailable alone would count it against the lab.
    if available_gib + stack_gib >= MIN_AVAILABLE_MEMORY_GIB:
        return None
    held = f" with the {stack_gib:.1f} the running stack holds" if stack_gib else ""
    return (
        f"only {available_gib + stack_gib:.1f} GiB of memory available{held}, the stack needs about "
        f"{MIN_AVAILABLE_MEMORY_GIB:.0f}: close other programs"
    )


def machine_too_big(machine: machines.Machine, total_memory: int) -> str | None:
    """The note when SCALELAB_MACHINE names a size for more memory than this machine has."""
    fits = machines.suggested(total_memory)
    if machine.memory_gib <= fits.memory_gib:
        return None
    return (
        f"SCALELAB_MACHINE={machine.name} is for {machine.memory_gib} GiB of memory and this machine has "
        f"{total_memory / GIB:.1f}: set SCALELAB_MACHINE={fits.name} in .env, then `make down` and `make up` "
        f"(a smaller seed needs a fresh database: before `make up`, `rm -rf .lab/services/postgres`, "
        f"or in Docker mode `docker compose down --volumes`)"
    )


def pinned_by_env(machine: machines.Machine, env: dict[str, str]) -> str | None:
    """The note when .env sets a value its machine size sets otherwise. A .env copied from an older
    .env.example holds the full-size seed and cache, and would keep them under a smaller size."""
    pinned = {key: env[f"SCALELAB_{key}"] for key, value in machine.settings.items() if env.get(f"SCALELAB_{key}", value) != value}
    if not pinned:
        return None
    lines = ", ".join(f"SCALELAB_{key}={value}" for key, value in pinned.items())
    return (
        f".env sets {lines}, where the {machine.name} machine size says "
        f"{', '.join(machine.settings[key] for key in pinned)}: delete those lines from .env to take the size's"
    )


def problems(settings: Settings) -> tuple[list[str], list[str]]:
    """(blocking problems, notes). Each is one line that names the fix."""
    blocking: list[str] = []
    notes: list[str] = []
    if sys.version_info < (3, 11):
        blocking.append(f"Python {sys.version.split()[0]} is too old: install Python 3.11 or newer")
    mode_blocking, mode_notes = _mode_problems()
    blocking += mode_blocking
    notes += mode_notes
    running = {s.name: pid for s in native_services() if (pid := process.running_pid(s.name)) is not None}
    for service in native_services():
        if service.name in running:
            continue
        for key, port in ports_of(service, settings).items():
            if health.port_in_use(port):
                blocking.append(f"port {port} ({service.name}) is taken by another program: set another {key} in .env")
    usage = stack_memory(running)
    if line := memory_line(usage):
        notes.append(line)
    if line := machine_too_big(settings.machine, psutil.virtual_memory().total):
        notes.append(line)
    if line := pinned_by_env(settings.machine, parse_env_file(REPO / ".env")):
        notes.append(line)
    stack_gib = sum(pss for pss, _ in usage.values()) / GIB
    available = _available_memory_gib()
    if available is not None and (line := low_memory(available, stack_gib)):
        blocking.append(line)
    free_disk = shutil.disk_usage(REPO).free / GIB
    if free_disk < MIN_FREE_DISK_GIB:
        blocking.append(f"only {free_disk:.1f} GiB free on the disk of {REPO}: free some space")
    if (os.cpu_count() or 1) < 2:
        notes.append("only 1 CPU core: load runs will saturate it early; numbers will differ from the course's")
    return blocking, notes
