"""Docker mode: the same stack from docker-compose.yml (Grafana and Mailpit included).

`DockerStack` is the stack interface (scalelab/stack/__init__.py) over `docker compose`. What it cannot
do yet (restart, kill, read logs and spans for the checks, the drill and the notebooks) raises
NotInThisMode, whose one line names the native mode or the compose command that does it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from collections.abc import Iterable, Iterator
from typing import BinaryIO

import psutil

from scalelab.errors import LabError
from scalelab.paths import REPO
from scalelab.stack import NotInThisMode, Say, Stack, describe_unavailable
from scalelab.stack.appsecret import chirp_secret_key
from scalelab.stack.services import SERVICES
from scalelab.stack.settings import Settings


def engine_available() -> bool:
    """True when a Docker engine answers (the client alone is not enough)."""
    if shutil.which("docker") is None:
        return False
    try:
        result = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, timeout=10)
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0


def engine_memory() -> int | None:
    """Bytes of memory the engine's containers share (Docker Desktop's VM limit), or None if unknown."""
    try:
        command = ["docker", "info", "--format", "{{.MemTotal}}"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return parse_memory(result.stdout) if result.returncode == 0 else None


def parse_memory(info_output: str) -> int | None:
    """`docker info --format '{{.MemTotal}}'` prints bytes as a bare integer."""
    try:
        return int(info_output.strip())
    except ValueError:
        return None


def require_engine() -> None:
    if shutil.which("docker") is None:
        raise LabError("Docker is not installed: install Docker, or run `scalelab up --native` (needs no Docker)")
    if not engine_available():
        raise LabError("no Docker engine answers (`docker info` fails): start Docker, or run `scalelab up --native`")


def _compose(*args: str, capture: bool = False, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    command = ["docker", "compose", "--project-directory", str(REPO), *args]
    result = subprocess.run(command, cwd=REPO, capture_output=capture, text=True, env={**os.environ, **(env or {})})
    if result.returncode != 0:
        detail = (result.stderr or "").strip().splitlines()[-1:] if capture else []
        raise LabError(f"`{' '.join(command)}` failed{': ' + detail[0] if detail else ''}")
    return result


# The services docker-compose.yml lets you run several of (Lab 5's scale-out), and what they are.
SCALABLE = {"app": "Chirp instances beyond app1 and app2", "locust-worker": "Locust load generators"}


def parse_scale(text: str) -> tuple[str, int]:
    """`app=4` -> ("app", 4), or a one-line error with an example."""
    service, _, count = text.partition("=")
    if service not in SCALABLE or not count.isdigit():
        choices = ", ".join(f"{name} ({meaning})" for name, meaning in SCALABLE.items())
        raise LabError(f"--scale takes SERVICE=N, e.g. --scale app=4; SERVICE is one of {choices}, not {text!r}")
    return service, int(count)


def up(settings: Settings, scale: dict[str, int] | None = None) -> None:
    require_engine()
    # Through here rather than a bare `docker compose up --scale`: compose must get the app's secret key
    # (scalelab/stack/appsecret.py), or it recreates app1 and app2 with an empty one.
    scaled = [f"--scale={service}={count}" for service, count in (scale or {}).items()]
    # Compose reads .env itself; the toolkit's settings go on top, with what the machine size
    # (scalelab/stack/machines.py) adds to them. --wait returns once every service's healthcheck passes.
    env = {**settings.values, "SCALELAB_CHIRP_SECRET_KEY": chirp_secret_key(settings)}
    _compose("up", "--detach", "--build", "--wait", *scaled, env=env)


def down() -> None:
    require_engine()
    _compose("down", "--remove-orphans")


def status(settings: Settings) -> dict[str, dict]:
    require_engine()
    lines = _compose("ps", "--all", "--format", "json", capture=True).stdout.strip().splitlines()
    # Compose prints one JSON object per line (older releases: one JSON array).
    rows = json.loads(lines[0]) if len(lines) == 1 and lines[0].startswith("[") else [json.loads(l) for l in lines]
    state = {row["Service"]: row for row in rows}
    report = {}
    for service in SERVICES:
        row = state.get(service.name)
        healthy = bool(row) and row.get("State") == "running" and row.get("Health", "healthy") in ("healthy", "")
        report[service.name] = {"port": settings.port(service.port_key), "pid": None, "healthy": healthy}
    return report


def logs(service: str, lines: int, follow: bool) -> None:
    require_engine()
    _compose("logs", "--tail", str(lines), *(["--follow"] if follow else []), service)


class DockerStack(Stack):
    mode = "docker"

    def up(self, say: Say, scale: dict[str, int] | None = None) -> None:
        up(self.settings, scale)

    def down(self, say: Say) -> None:
        down()

    def status(self) -> dict[str, dict]:
        return status(self.settings)

    def running(self, service: str) -> bool:
        return self.status().get(service, {}).get("healthy", False)

    def require(self, services: Iterable[str], purpose: str) -> None:
        raise describe_unavailable(list(services), purpose)

    def restart(self, services: list[str], *, env: dict[str, str] | None = None, stop_signal: int | None = None) -> None:
        raise NotInThisMode(f"under Docker, restart with compose: `docker compose restart {' '.join(services)}`")

    def kill(self, service: str, stop_signal: int = signal.SIGTERM) -> bool:
        raise NotInThisMode(f"under Docker, stop a service with compose: `docker compose kill {service}`")

    def logs(self, service: str) -> BinaryIO:
        raise NotInThisMode(
            f"the app logs to Docker, not to files: run `docker compose logs {service} | grep PATTERN` in a terminal instead"
        )

    def tail(self, service: str, lines: int, follow: bool) -> int:
        logs(service, lines, follow)
        return 0

    def span_lines(self) -> Iterator[str]:
        raise NotInThisMode(
            "in Docker mode the traces go to Jaeger: open Jaeger at "
            f"http://127.0.0.1:{self.settings.port('JAEGER')}/"
        )

    def processes(self, service: str) -> list[psutil.Process]:
        return []  # the containers' processes live in the engine's VM on Docker Desktop: not measurable here
