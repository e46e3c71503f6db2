"""Install a service's pinned npm packages (infra/<service>/package-lock.json) with `npm ci`.

Native mode's object store is s3rver, an npm package run on the machine's Node.js. The packages go
into the service's own folder, not next to the lock in infra/: the service account has to read them
(`services_root()` moves that folder out of a clone it cannot reach), and infra/ is copied whole by
the config render and the Docker build. A stamp of the lock they came from means `npm ci`, which
needs the npm registry, runs on the first start and again only when the lock changes.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import time
from pathlib import Path

from scalelab.errors import LabError
from scalelab.paths import INFRA
from scalelab.stack.native import binaries

MANIFESTS = ("package.json", "package-lock.json")
STAMP = "installed-from.sha256"
# s3rver's locked dependencies (color 5, under winston) need Node.js 18; Ubuntu 22.04 ships 12.
MIN_NODE_MAJOR = 18


def _digest(source: Path) -> str:
    return hashlib.sha256(b"".join((source / name).read_bytes() for name in MANIFESTS)).hexdigest()


def ensure(service: str, folder: Path) -> Path:
    """folder/node_modules, installed from infra/<service>/ unless it is there from the same lock."""
    source = INFRA / service
    digest = _digest(source)
    stamp = folder / STAMP
    modules = folder / "node_modules"
    if modules.is_dir() and stamp.exists() and stamp.read_text().strip() == digest:
        return modules
    folder.mkdir(parents=True, exist_ok=True)
    stamp.unlink(missing_ok=True)  # so that an install that fails half-way is retried on the next start
    for name in MANIFESTS:
        shutil.copyfile(source / name, folder / name)
    print(f"  {service}: installing its npm packages (npm ci: first start, or its lock changed)…", flush=True)
    started = time.monotonic()
    result = subprocess.run(
        # No install scripts: s3rver needs none, and under root they would run as root.
        [binaries.require("npm"), "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
        cwd=folder,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-5:])
        raise LabError(f"`npm ci` for {service} failed (the first start needs the npm registry):\n{tail}")
    stamp.write_text(digest + "\n")
    print(f"  {service}: npm packages installed in {time.monotonic() - started:.1f} s", flush=True)
    return modules


def node_problem() -> str | None:
    """One line with its fix when Node.js is too old for s3rver; None when it is not (or is not installed)."""
    node = binaries.find("node")
    if node is None:
        return None
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    if int(version.lstrip("v").split(".")[0]) >= MIN_NODE_MAJOR:
        return None
    return (
        f"Node.js {version} is too old for the object store (s3rver's packages need {MIN_NODE_MAJOR} or newer): "
        f"install a newer nodejs, e.g. NodeSource's package, or use Docker mode"
    )
