"""`.env` on first use: a copy of `.env.example`, with the machine size that fits this machine's
memory (scalelab/stack/machines.py). Run as `python -m scalelab.stack.envfile` by the Makefile."""

from __future__ import annotations

import re

import psutil

from scalelab.paths import REPO
from scalelab.stack import machines


def ensure() -> None:
    env, example = REPO / ".env", REPO / ".env.example"
    if env.exists():
        return
    memory = psutil.virtual_memory().total
    machine = machines.suggested(memory)
    env.write_text(re.sub(r"^SCALELAB_MACHINE=.*$", f"SCALELAB_MACHINE={machine.name}", example.read_text(), flags=re.M))
    print(
        f"created .env from .env.example, with SCALELAB_MACHINE={machine.name} for this machine's "
        f"{memory / machines.GIB:.1f} GiB of memory (edit .env to change ports and knobs)"
    )


if __name__ == "__main__":
    ensure()
