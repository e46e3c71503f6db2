"""The pinned Debian base that every image of Docker mode builds FROM (the Dockerfile's DEBIAN_BASE).

On a laptop Docker pulls it. Where no registry is reachable (CI, some company networks), `scalelab
docker-base` makes the same Debian release with debootstrap from Debian's archive and tags it with the
pinned name, so the Dockerfile builds unchanged. The packages in the images come from Debian's
archive either way.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from scalelab.errors import LabError
from scalelab.paths import REPO
from scalelab.stack import Say

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
SOURCES = f"""Types: deb
URIs: {MIRROR}
Suites: {SUITE} {SUITE}-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: {SUITE}-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""
LOCAL_CAS = Path("/usr/local/share/ca-certificates")
MAKE_IT = "sudo .venv/bin/scalelab docker-base"


def pinned() -> str:
    """The base image's name, as the Dockerfile pins it (its one source)."""
    match = re.search(r"^ARG DEBIAN_BASE=(\S+)$", (REPO / "Dockerfile").read_text(), re.MULTILINE)
    if not match:
        raise LabError("the Dockerfile pins no DEBIAN_BASE: restore it with `git checkout Dockerfile`")
    return match.group(1)


def present(image: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode == 0


def ensure(say: Say) -> None:
    """Pull the pinned base unless Docker has it; where it cannot be pulled, say how to make it."""
    image = pinned()
    if present(image):
        return
    say(f"pulling the images' Debian base, {image}…")
    pulled = subprocess.run(["docker", "pull", image], capture_output=True, text=True)
    if pulled.returncode != 0:
        reason = (pulled.stderr.strip().splitlines() or ["no reason given"])[-1]
        raise LabError(f"the Debian base {image} cannot be pulled ({reason}): make it from Debian's archive with `{MAKE_IT}`")


def make(say: Say) -> str:
    """debootstrap a minimal Debian into a temporary folder and import it as the pinned base."""
    image = pinned()
    if shutil.which("debootstrap") is None:
        raise LabError("debootstrap is missing: `sudo apt-get install debootstrap`, then run this again")
    with tempfile.TemporaryDirectory(prefix="scalelab-base-") as folder:
        root = Path(folder) / "rootfs"
        say(f"debootstrap {SUITE} from {MIRROR} (about half a minute)…")
        started = time.monotonic()
        result = subprocess.run(
            ["debootstrap", "--variant=minbase", SUITE, str(root), MIRROR], capture_output=True, text=True
        )
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-5:])
            raise LabError(f"debootstrap failed (it needs root and Debian's archive):\n{tail}")
        # As Debian's own images: the release, its updates and its security archive; no package lists or
        # downloaded packages in the image.
        (root / "etc/apt/sources.list").unlink()
        (root / "etc/apt/sources.list.d/debian.sources").write_text(SOURCES)
        for leftover in ("var/lib/apt/lists", "var/cache/apt/archives"):
            for path in (root / leftover).glob("*"):
                if path.is_file():
                    path.unlink()
        # The certificate authorities this machine adds to Debian's (a company's or a sandbox's TLS proxy,
        # as in CI): the images' builds download from PyPI and npm through the same network.
        local_cas = root / "usr/local/share/ca-certificates"
        local_cas.mkdir(parents=True, exist_ok=True)
        for certificate in LOCAL_CAS.glob("*.crt"):
            shutil.copyfile(certificate, local_cas / certificate.name)
        say(f"importing it as {image}…")
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run(["docker", "import", "-", image], stdin=tar.stdout, capture_output=True, text=True)
        tar.wait()
        if imported.returncode != 0:
            raise LabError(f"`docker import` failed: {imported.stderr.strip()}")
    say(f"{image} is ready ({time.monotonic() - started:.0f} s)")
    return image
