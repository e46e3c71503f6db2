"""The system programs native mode runs, and the Debian package each comes from."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from scalelab.errors import LabError

# program -> Debian/Ubuntu package
PACKAGES = {
    "postgres": "postgresql",
    "initdb": "postgresql",
    "psql": "postgresql-client",
    "pgbouncer": "pgbouncer",
    "redis-server": "redis-server",
    "nginx": "nginx",
    "prometheus": "prometheus",
    "prometheus-postgres-exporter": "prometheus-postgres-exporter",
    "prometheus-redis-exporter": "prometheus-redis-exporter",
    "prometheus-nginx-exporter": "prometheus-nginx-exporter",
    # The object store, s3rver, is an npm package (native/npm.py installs it).
    "node": "nodejs",
    "npm": "npm",
}

# Programs the test suite needs beyond the stack: Chromium drives the browser tests; the docker suite
# runs Debian's engine and Compose v1.29, and makes the images' Debian base with debootstrap.
TEST_PACKAGES = {
    "docker-compose": "docker-compose",
    "dockerd": "docker.io",
    "debootstrap": "debootstrap",
    "chromium": "chromium",
}


def _postgres_bindir() -> Path | None:
    """Debian keeps the server programs out of PATH, one folder per major version: take the newest."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parent.parent.name))
    return found[-1].parent if found else None


def find(program: str) -> str | None:
    if program in ("postgres", "initdb"):
        bindir = _postgres_bindir()
        if bindir and (bindir / program).exists():
            return str(bindir / program)
    return shutil.which(program) or (shutil.which(program, path="/usr/sbin:/sbin"))


def require(program: str) -> str:
    path = find(program)
    if path is None:
        raise LabError(f"{program} is not installed: run `sudo apt-get install -y {PACKAGES[program]}` (or `make up`, which installs it)")
    return path


def missing(for_tests: bool = False) -> dict[str, str]:
    """program -> package, for every program that is not installed."""
    wanted = {**PACKAGES, **(TEST_PACKAGES if for_tests else {})}
    return {program: package for program, package in wanted.items() if find(program) is None}


def venv_program(name: str) -> str:
    """A console script installed next to this Python (gunicorn, jupyter, locust)."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        raise LabError(f"{name} is not installed in {path.parent}: run `make up` (it installs the project)")
    return str(path)
