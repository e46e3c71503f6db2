"""Running Docker Compose for Docker mode: v2 (`docker compose`, Docker Desktop's) or v1.29
(`docker-compose`, Debian's), with the environment the compose file reads.

Only what both versions do alike is used here: no `up --wait`, no `ps --format json`. Containers
are found with `ps -q` and read with `docker inspect`, which answers the same under both.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from scalelab.errors import LabError
from scalelab.paths import REPO
from scalelab.stack.appsecret import chirp_secret_key
from scalelab.stack.settings import Settings

COMPOSE_FILE = REPO / "docker-compose.yml"
# Grafana, Jaeger and Mailpit: pinned upstream images, not built here (docker-compose.yml).
UPSTREAM = ("grafana", "mailpit", "jaeger")
ALL_PROFILES = "upstream,scale-out"


def project_name() -> str:
    """Compose's own default, named explicitly so that both versions agree: the folder's name, lower
    case, without what compose leaves out."""
    return re.sub(r"[^-_a-z0-9]", "", REPO.name.lower())


@functools.cache
def program() -> tuple[str, ...]:
    """The compose command this machine has: v2 first, as Docker Desktop ships it."""
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ("docker", "compose")
    if shutil.which("docker-compose"):
        return ("docker-compose",)
    raise LabError("Docker Compose is missing: install Docker Desktop (it has Compose v2) or `apt-get install docker-compose`")


def upstream_enabled(settings: Settings) -> bool:
    return settings.values.get("SCALELAB_DOCKER_UPSTREAM", "yes") != "no"


def environment(settings: Settings, profiles: str | None = None) -> dict[str, str]:
    """What compose reads for ${...}: the toolkit's settings (.env, machine size, shell), the app's key,
    and the profiles to run."""
    upstream = upstream_enabled(settings)
    if profiles is None:
        profiles = "upstream" if upstream else ""
    return {
        **os.environ,
        **settings.values,
        "SCALELAB_CHIRP_SECRET_KEY": chirp_secret_key(settings),
        # Spans go to .lab/traces always, and to Jaeger as well when it runs.
        "SCALELAB_OTLP_ENDPOINT": "http://jaeger:4318" if upstream else "",
        "COMPOSE_PROFILES": profiles,
        "COMPOSE_PROJECT_NAME": project_name(),
    }


def run(
    settings: Settings,
    *args: str,
    capture: bool = False,
    overrides: Path | None = None,
    profiles: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """Run one compose command; a failure raises LabError with its last line (captured) or its exit code."""
    files = ["-f", str(COMPOSE_FILE), *(["-f", str(overrides)] if overrides else [])]
    command = [*program(), "--project-directory", str(REPO), *files, *args]
    env = {**environment(settings, profiles), **(extra_env or {})}
    result = subprocess.run(command, cwd=REPO, capture_output=capture, text=True, env=env)
    if result.returncode != 0:
        detail = (result.stderr or "").strip().splitlines()[-1:] if capture else []
        shown = " ".join([*program(), *args])
        raise LabError(f"`{shown}` failed{': ' + detail[0] if detail else f' (exit {result.returncode})'}")
    return result


@dataclass(frozen=True)
class Container:
    id: str
    service: str
    number: int  # 1 for app1; 1, 2, 3 for the replicas of `app`
    state: str  # running, exited, ...
    health: str  # healthy, unhealthy, starting, or "" without a healthcheck
    exit_code: int
    pid: int  # its first process, as the engine's kernel numbers it; 0 when it is not running

    @property
    def healthy(self) -> bool:
        return self.state == "running" and self.health in ("healthy", "")


def containers(settings: Settings) -> list[Container]:
    """Every container of the project, running or not, every profile included."""
    ids = run(settings, "ps", "-q", *(["--all"] if program()[0] == "docker" else []), capture=True, profiles=ALL_PROFILES)
    found = ids.stdout.split()
    if not found:
        return []
    inspected = subprocess.run(["docker", "inspect", *found], capture_output=True, text=True)
    result = []
    # A container can go between `ps` and `inspect`: inspect prints the others and fails.
    for item in json.loads(inspected.stdout or "[]"):
        labels = item["Config"]["Labels"]
        state = item["State"]
        result.append(
            Container(
                id=item["Id"],
                service=labels["com.docker.compose.service"],
                number=int(labels.get("com.docker.compose.container-number", "1")),
                state=state["Status"],
                health=(state.get("Health") or {}).get("Status", ""),
                exit_code=state.get("ExitCode", 0),
                pid=state.get("Pid", 0),
            )
        )
    return result
