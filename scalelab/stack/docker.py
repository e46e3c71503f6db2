"""Docker mode: the same stack from docker-compose.yml, through Docker Compose (scalelab/stack/compose.py).

`DockerStack` is the stack interface (scalelab/stack/__init__.py): it builds the images from the pinned
Debian base (scalelab/stack/dockerbase.py), starts and waits for the services, restarts them with an
experiment's environment (a compose override file under .lab/docker/), kills them with a signal, and
reads their logs from the engine. The Python services run the repo's code from a mount, so a restart
runs what `solve` or `reset` just wrote.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

import psutil

from scalelab.errors import LabError
from scalelab.paths import STATE
from scalelab.stack import Say, Stack, compose, describe_unavailable, dockerbase, health
from scalelab.stack.services import BY_NAME, SERVICES, start_waves
from scalelab.stack.settings import PREFIX, Settings

# The experiment a restart's `env` sets up (a compose override file), until a restart without one.
EXPERIMENT_FILE = STATE / "docker" / "experiment.yml"
# A recreated container's log goes with it; restart() keeps it here first (see _keep_logs).
KEPT_LOGS = STATE / "docker" / "logs"
# Seconds for a service to turn healthy once its container starts: JupyterLab's first start is slow.
HEALTHY_WITHIN_S = {"jupyterlab": 180}
DEFAULT_HEALTHY_WITHIN_S = 120
POLL_S = 1.0
# Chirp's instances, whose addresses nginx must look up again when they are recreated.
INSTANCES = {"app1", "app2", "app"}
NGINX_RELOAD_S = 10
# The services that read infra/, rendered into the `lab-config` volume by the `config` helper.
CONFIG_READERS = {"postgres", "redis", "pgbouncer", "nginx", "prometheus", "grafana"}


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


# The services docker-compose.yml lets you run several of (Lab 5's scale-out), and what they are.
SCALABLE = {"app": "Chirp instances beyond app1 and app2", "locust-worker": "Locust load generators"}


def parse_scale(text: str) -> tuple[str, int]:
    """`app=4` -> ("app", 4), or a one-line error with an example."""
    service, _, count = text.partition("=")
    if service not in SCALABLE or not count.isdigit():
        choices = ", ".join(f"{name} ({meaning})" for name, meaning in SCALABLE.items())
        raise LabError(f"--scale takes SERVICE=N, e.g. --scale app=4; SERVICE is one of {choices}, not {text!r}")
    return service, int(count)


def expected_services(settings: Settings) -> list[str]:
    """The catalogue's services this configuration runs: without the upstream images when they are off."""
    upstream = compose.upstream_enabled(settings)
    return [s.name for s in SERVICES if upstream or s.name not in compose.UPSTREAM]


def log_tail(container_id: str, lines: int = 10) -> str:
    result = subprocess.run(["docker", "logs", "--tail", str(lines), container_id], capture_output=True, text=True)
    return "\n".join(f"    {line}" for line in (result.stdout + result.stderr).strip().splitlines())


def wait_healthy(settings: Settings, services: Iterable[str], say: Say | None = None) -> None:
    """Until every container of these services is healthy; a container that exits or stays unhealthy
    raises LabError with its log's tail."""
    wanted = set(services)
    started = time.monotonic()
    shown = -1
    while True:
        mine = [c for c in compose.containers(settings) if c.service in wanted]
        for container in mine:
            if container.state in ("exited", "dead"):
                raise LabError(
                    f"{container.service} stopped (exit code {container.exit_code}) instead of starting; its log ends:\n"
                    f"{log_tail(container.id)}"
                )
        healthy = {c.service for c in mine if c.healthy}
        waiting = sorted(wanted - healthy)
        if not waiting:
            return
        elapsed = time.monotonic() - started
        if say and len(healthy) != shown:
            say(f"  healthy: {len(healthy)} of {len(wanted)} ({elapsed:.0f} s; waiting for {', '.join(waiting)})")
            shown = len(healthy)
        if elapsed > max(HEALTHY_WITHIN_S.get(name, DEFAULT_HEALTHY_WITHIN_S) for name in waiting):
            late = next((c for c in mine if c.service == waiting[0]), None)
            tail = f"; its log ends:\n{log_tail(late.id)}" if late else " (no container)"
            raise LabError(f"{waiting[0]} did not become healthy in {elapsed:.0f} s{tail}")
        time.sleep(POLL_S)


def _failed_helper(settings: Settings) -> str:
    """The log of a one-shot helper (config, seed) that failed, if one did."""
    for container in compose.containers(settings):
        if container.service in ("config", "seed") and container.state == "exited" and container.exit_code != 0:
            return f"\n{container.service} failed (exit code {container.exit_code}); its log ends:\n{log_tail(container.id)}"
    return ""


def up(settings: Settings, say: Say, scale: dict[str, int] | None = None) -> None:
    require_engine()
    dockerbase.ensure(say)
    started = time.monotonic()
    say("building the images from the Debian base (the first time takes 3 to 5 minutes; later, seconds)…")
    compose.run(settings, "build")
    say(f"  built in {time.monotonic() - started:.0f} s; starting the services…")
    # `app` is always named, 0 by default: an `up` without --scale stops the replicas of an earlier one.
    scale = {"app": 0, **(scale or {})}
    profiles = ",".join(["upstream"] * compose.upstream_enabled(settings) + ["scale-out"])
    scaled = [f"--scale={service}={count}" for service, count in scale.items()]
    try:
        compose.run(settings, "up", "--detach", *scaled, profiles=profiles)
    except LabError as error:
        raise LabError(f"{error}{_failed_helper(settings)}") from None
    wait_healthy(settings, [*expected_services(settings), *(["app"] if scale.get("app") else [])], say)
    # Always: an `up` that removed replicas leaves their addresses in nginx, which then waits for each
    # one to time out (3 to 17 s a request, measured) before it tries a live instance.
    reload_nginx(settings)
    say(f"  the stack is up in {time.monotonic() - started:.0f} s")


def reload_nginx(settings: Settings) -> None:
    """nginx looks its upstream (the alias of every Chirp instance) up when it starts or reloads, and a
    recreated container has a new address: reload it, and wait until it reaches an instance again."""
    compose.run(settings, "kill", "-s", "SIGHUP", "nginx", capture=True)
    deadline = time.monotonic() + NGINX_RELOAD_S
    while not health.check(BY_NAME["nginx"], settings)[0]:
        if time.monotonic() > deadline:
            raise LabError(f"nginx reaches no Chirp instance {NGINX_RELOAD_S} s after its reload: `scalelab logs nginx`")
        time.sleep(0.2)


def _experiment(services: list[str], env: dict[str, str]) -> tuple[dict[str, str], Path | None]:
    """(settings with the SCALELAB_* part of env, the override file for the rest or None)."""
    knobs = {k: v for k, v in env.items() if k.startswith(PREFIX)}
    variables = {k: v for k, v in env.items() if not k.startswith(PREFIX)}
    EXPERIMENT_FILE.unlink(missing_ok=True)
    if not variables:
        return knobs, None
    EXPERIMENT_FILE.parent.mkdir(parents=True, exist_ok=True)
    # JSON is YAML: one environment block per restarted service, on top of docker-compose.yml's.
    EXPERIMENT_FILE.write_text(json.dumps({"services": {name: {"environment": variables} for name in services}}, indent=2))
    return knobs, EXPERIMENT_FILE


class DockerStack(Stack):
    mode = "docker"

    def up(self, say: Say, scale: dict[str, int] | None = None) -> None:
        up(self.settings, say, scale)

    def down(self, say: Say) -> None:
        require_engine()
        compose.run(self.settings, "down", "--remove-orphans", profiles=compose.ALL_PROFILES)
        EXPERIMENT_FILE.unlink(missing_ok=True)

    def status(self) -> dict[str, dict]:
        require_engine()
        containers = {c.service: c for c in compose.containers(self.settings) if c.number == 1}
        report = {}
        for name in expected_services(self.settings):
            container = containers.get(name)
            report[name] = {
                "port": self.settings.port(BY_NAME[name].port_key),
                "pid": None,
                "healthy": bool(container) and container.healthy,
            }
        return report

    def running(self, service: str) -> bool:
        return any(c.service == service and c.state == "running" for c in compose.containers(self.settings))

    def require(self, services: Iterable[str], purpose: str) -> None:
        require_engine()
        stopped = [name for name in services if not self.running(name)]
        if stopped:
            raise describe_unavailable(stopped, purpose, "docker")

    def restart(self, services: list[str], *, env: dict[str, str] | None = None, stop_signal: int | None = None) -> None:
        require_engine()
        if stop_signal is not None:
            for service in services:
                self.kill(service, stop_signal)
        knobs, overrides = _experiment(services, env or {})
        settings = Settings({**self.settings.values, **knobs})
        if knobs or CONFIG_READERS & set(services):
            # infra/ may have changed (a lab's solution), or the SCALELAB_* part of env changes how a
            # service is configured (nginx's balancing): render the config volume again first.
            compose.run(settings, "run", "--rm", "-T", "--no-deps", "config", capture=True)
        _keep_logs(settings, services)
        for wave in start_waves([BY_NAME[name] for name in services]):
            names = [service.name for service in wave]
            compose.run(settings, "up", "--detach", "--no-deps", "--force-recreate", *names, overrides=overrides, capture=True)
            wait_healthy(settings, names)
        if INSTANCES & set(services) and "nginx" not in services and self.running("nginx"):
            reload_nginx(settings)

    def kill(self, service: str, stop_signal: int = signal.SIGTERM) -> bool:
        require_engine()
        was_running = self.running(service)
        if was_running:
            compose.run(self.settings, "kill", "-s", signal.Signals(stop_signal).name, service, capture=True)
        return was_running

    def logs(self, service: str) -> BinaryIO:
        require_engine()
        found = [c for c in compose.containers(self.settings) if c.service == service and c.number == 1]
        if not found:
            raise LabError(f"no container for {service}: start the stack with `scalelab up --docker`")
        # The engine keeps each container's output; a file, as the native backend's logs are, which
        # begins with what the service's earlier containers logged.
        file = tempfile.TemporaryFile()
        kept = KEPT_LOGS / f"{service}.log"
        if kept.exists():
            with open(kept, "rb") as earlier:
                shutil.copyfileobj(earlier, file)
            file.flush()
        subprocess.run(["docker", "logs", found[0].id], stdout=file, stderr=subprocess.STDOUT, check=False)
        file.seek(0)
        return file

    def tail(self, service: str, lines: int, follow: bool) -> int:
        require_engine()
        compose.run(self.settings, "logs", "--tail", str(lines), *(["--follow"] if follow else []), service)
        return 0

    def processes(self, service: str) -> list[psutil.Process]:
        """The container's processes, where the engine runs on this machine's kernel (Linux); [] where it
        runs in a VM (Docker Desktop), whose processes this machine cannot see."""
        for container in compose.containers(self.settings):
            if container.service == service and container.number == 1 and container.pid and _same_kernel(container):
                root = psutil.Process(container.pid)
                return [root, *root.children(recursive=True)]
        return []


def _keep_logs(settings: Settings, services: list[str]) -> None:
    """Append the log of each service's container to .lab/docker/logs/<service>.log before it is
    recreated, so that logs() still holds what it logged (Lab 1's notebook greps the log of app
    instances it has since restarted), as native mode's log files do."""
    KEPT_LOGS.mkdir(parents=True, exist_ok=True)
    for container in compose.containers(settings):
        if container.service in services and container.number == 1:
            with open(KEPT_LOGS / f"{container.service}.log", "ab") as kept:
                subprocess.run(["docker", "logs", container.id], stdout=kept, stderr=subprocess.STDOUT, check=False)


def _same_kernel(container: compose.Container) -> bool:
    """Does this pid name the container's first process here? (Under Docker Desktop it names another.)"""
    try:
        with open(f"/proc/{container.pid}/cgroup", encoding="utf-8") as file:
            return container.id in file.read()
    except OSError:
        return False

