"""Who the infrastructure services run as, and where their files live.

PostgreSQL and PgBouncer refuse to run as root, and CI runs as root. So when the lab is started by
root, the infrastructure services run as an unprivileged system user, `scalelab`, and their data
lives where that user can reach it. A learner's own account needs none of this.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

from scalelab.errors import LabError
from scalelab.paths import REPO, STATE

SERVICE_USER = "scalelab"


@dataclass(frozen=True)
class Account:
    uid: int
    gid: int
    name: str

    @property
    def is_current(self) -> bool:
        return self.uid == os.getuid()


def current_account() -> Account:
    return Account(os.getuid(), os.getgid(), pwd.getpwuid(os.getuid()).pw_name)


def service_account() -> Account:
    """The account infrastructure services run as: the current user, or `scalelab` under root."""
    if os.getuid() != 0:
        return current_account()
    try:
        entry = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        result = subprocess.run(
            ["useradd", "--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVICE_USER],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise LabError(f"could not create the service user {SERVICE_USER!r}: {result.stderr.strip()}")
        entry = pwd.getpwnam(SERVICE_USER)
    return Account(entry.pw_uid, entry.pw_gid, entry.pw_name)


def _reachable_by_others(path: Path) -> bool:
    """True when every folder above `path` lets other users through (o+x)."""
    for folder in [path, *path.parents]:
        if folder.exists() and not folder.stat().st_mode & stat.S_IXOTH:
            return False
    return True


def services_root() -> Path:
    """Where services keep data: `.lab/services`, or under /var/tmp when the service user can't reach it.

    A clone under /root (mode 700) is out of reach of the `scalelab` user. Then the data goes to
    /var/tmp/scalelab-<hash of the repo path> and `.lab/services` is a link to it, so it is still
    found in the usual place.
    """
    inside = STATE / "services"
    if os.getuid() != 0 or _reachable_by_others(STATE):
        if inside.is_symlink():
            inside.unlink()
        inside.mkdir(parents=True, exist_ok=True)
        return inside
    outside = Path("/var/tmp") / f"scalelab-{hashlib.sha256(str(REPO).encode()).hexdigest()[:10]}"
    outside.mkdir(mode=0o755, exist_ok=True)
    if not inside.is_symlink():
        if inside.exists():
            raise LabError(f"{inside} is a folder, but its services must live in {outside}: remove it and run `make up`")
        STATE.mkdir(parents=True, exist_ok=True)
        inside.symlink_to(outside)
    return outside


def service_dir(name: str, account: Account) -> Path:
    """A folder the service's account owns, for its data, rendered config, pid and temp files."""
    path = services_root() / name
    path.mkdir(parents=True, exist_ok=True)
    if not account.is_current:
        os.chown(path, account.uid, account.gid)
    return path
