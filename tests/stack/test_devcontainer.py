"""The dev container (.devcontainer/devcontainer.json), for learners whose laptop cannot run the stack:
VS Code or GitHub Codespaces builds it from the Dockerfile's `devcontainer` stage (the images' pinned
Debian), and the stack starts inside it in native mode with the README's own commands."""

from __future__ import annotations

import json
import re
from pathlib import Path

from scalelab.stack.settings import parse_env_file

REPO = Path(__file__).resolve().parents[2]
CONFIG = json.loads((REPO / ".devcontainer" / "devcontainer.json").read_text())
ENV_EXAMPLE = parse_env_file(REPO / ".env.example")
# What a learner opens in the browser: Chirp, JupyterLab, Prometheus, Locust and the delivered mail.
FORWARDED = ("HTTP", "JUPYTER", "PROMETHEUS", "LOCUST", "SMTP_API")


def test_it_builds_the_dockerfile_s_stage_on_the_pinned_debian():
    build = CONFIG["build"]
    assert (REPO / ".devcontainer" / build["dockerfile"]).resolve() == REPO / "Dockerfile"
    assert (REPO / ".devcontainer" / build["context"]).resolve() == REPO
    stage = re.search(rf"^FROM (\S+) AS {build['target']}$", (REPO / "Dockerfile").read_text(), re.MULTILINE)
    assert stage and stage.group(1) == "debian", "the dev container builds on the images' Debian stage"


def test_the_stack_starts_with_the_readme_s_commands():
    assert CONFIG["postCreateCommand"] == "make install"
    assert CONFIG["postStartCommand"] == "make up"
    assert CONFIG["remoteUser"] == "root"  # `make up` installs Debian's packages with apt-get as root


def test_it_forwards_the_pages_a_learner_opens_on_env_example_s_ports():
    ports = [int(ENV_EXAMPLE[f"SCALELAB_{key}_PORT"]) for key in FORWARDED]
    assert CONFIG["forwardPorts"] == ports
    assert set(CONFIG["portsAttributes"]) == {str(port) for port in ports}
    assert all(attributes["label"] for attributes in CONFIG["portsAttributes"].values())
