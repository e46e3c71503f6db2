"""A clone of the committed repository with a stack of its own: for the tests that run the course as a
new user would, beside the stack the rest of the suite uses. (tests/ is on sys.path: its conftest.py
sits there, outside any package.)"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from scalelab.paths import REPO

PORT_LINE = re.compile(r"^(SCALELAB_\w+_PORT)=(\d+)$", re.MULTILINE)


def clone_repo(folder: Path, port_shift: int, settings: str = "") -> tuple[Path, dict[str, int], dict[str, str]]:
    """The committed repository (not this working tree) cloned into folder, with a .env whose ports are
    .env.example's moved up by port_shift, plus the given lines. Returns (clone, ports, env): env is
    this process's environment without the suite's SCALELAB_* variables and virtualenv, so that the
    clone's commands read only the clone's settings.

    Keep every shifted port below 32768, where Linux's ephemeral ports begin: a port up there can be
    held by any outgoing connection of the moment (one made nginx's bind fail here).
    """
    clone = folder / "scale-wall-lab"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True, timeout=120)
    example = (clone / ".env.example").read_text()
    (clone / ".env").write_text(PORT_LINE.sub(lambda m: f"{m[1]}={int(m[2]) + port_shift}", example) + settings)
    ports = {key: int(port) for key, port in PORT_LINE.findall((clone / ".env").read_text())}
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCALELAB_") and k != "VIRTUAL_ENV"}
    return clone, ports, env
