"""Install the Debian/Ubuntu packages native mode needs: with apt-get when root, else say the command."""

from __future__ import annotations

import os
import shutil
import subprocess

from scalelab.errors import LabError
from scalelab.stack.native import binaries


def ensure(for_tests: bool = False, say=print) -> None:
    missing = binaries.missing(for_tests)
    if not missing:
        return
    packages = sorted(set(missing.values()))
    command = ["apt-get", "install", "-y", *packages]
    if os.getuid() != 0 or shutil.which("apt-get") is None:
        raise LabError(f"missing {', '.join(sorted(missing))}: run `sudo apt-get update && sudo {' '.join(command)}`")
    say(f"installing {' '.join(packages)} with apt-get…")
    # Debian's packages would start their own nginx/prometheus on the default ports; the lab runs
    # private instances instead, so keep the package scripts from starting anything.
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive", "RUNLEVEL": "1"}
    for step in (["apt-get", "update", "-q"], command):
        result = subprocess.run(step, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            tail = "\n".join(result.stderr.strip().splitlines()[-5:])
            raise LabError(f"`{' '.join(step)}` failed:\n{tail}")
    still = binaries.missing(for_tests)
    if still:
        raise LabError(f"still missing after apt-get: {', '.join(still)}")
