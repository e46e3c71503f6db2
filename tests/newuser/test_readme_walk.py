"""A new user's first minutes, as the README tells them: clone the repository, `make up`, open Chirp
through nginx, pass Lab 0's check, `make down`. This guards the README's main commands.

It clones the committed repository (not this working tree) into a temporary folder and runs a second
stack there, on the ports of .env.example moved up by PORT_SHIFT so that it does not meet the stack
the rest of the suite uses. It takes minutes (a fresh .venv, the stack's start, the check), so it
runs where .ci/run asks for it (SCALELAB_NEWUSER_TEST=1) and is skipped elsewhere.
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest
import requests

from scalelab import health
from scalelab.paths import REPO

pytestmark = [
    pytest.mark.newuser,
    pytest.mark.skipif(os.environ.get("SCALELAB_NEWUSER_TEST") != "1", reason="CI only: set SCALELAB_NEWUSER_TEST=1"),
]
# Keeps every port below 32768, where Linux's ephemeral ports begin: a port up there can be held by
# any outgoing connection of the moment (one made nginx's bind fail here), and clear of the default
# ports and of those ports + 10000 (a second stack that course authors run beside theirs).
PORT_SHIFT = 12000
PORT_LINE = re.compile(r"^(SCALELAB_\w+_PORT)=(\d+)$", re.MULTILINE)


def run(command: list[str], folder, env: dict, timeout: float) -> subprocess.CompletedProcess:
    result = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=timeout)
    print(f"$ {' '.join(command)}  -> exit {result.returncode}\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    return result


def test_clone_make_up_open_chirp_pass_lab_0_make_down(tmp_path):
    clone = tmp_path / "scale-wall-lab"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True, timeout=120)
    example = (clone / ".env.example").read_text()
    (clone / ".env").write_text(PORT_LINE.sub(lambda m: f"{m[1]}={int(m[2]) + PORT_SHIFT}", example))
    ports = {key: int(port) for key, port in PORT_LINE.findall((clone / ".env").read_text())}
    # The clone's own settings only: none of this suite's SCALELAB_* variables, nor its virtualenv.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCALELAB_") and k != "VIRTUAL_ENV"}
    try:
        assert run(["make", "up"], clone, env, timeout=1200).returncode == 0
        chirp = requests.get(f"http://127.0.0.1:{ports['SCALELAB_HTTP_PORT']}/", timeout=30)
        assert chirp.status_code == 200 and "Chirp" in chirp.text
        assert chirp.headers["X-Served-By"] in ("app1", "app2")
        assert run([".venv/bin/scalelab", "check", "0"], clone, env, timeout=600).returncode == 0
    finally:
        down = run(["make", "down"], clone, env, timeout=300)
    assert down.returncode == 0
    assert not [port for port in ports.values() if health.port_in_use(port)]
