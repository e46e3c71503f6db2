"""Where things live: the repo, and `.lab/` (gitignored) for everything the native stack writes."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(os.environ.get("SCALELAB_REPO", Path(__file__).resolve().parent.parent))
INFRA = REPO / "infra"
STATE = REPO / ".lab"
LOGS = STATE / "logs"
RUN = STATE / "run"
# Native mode: the spans each traced process writes, one JSON object per line (Lab 4).
TRACES = STATE / "traces"
# The seeded users' emails and passwords, written by the seed (`make up`), read by load runs.
SEED_CREDENTIALS = STATE / "seed" / "credentials.csv"


def log_file(service: str) -> Path:
    return LOGS / f"{service}.log"


def pid_file(service: str) -> Path:
    return RUN / f"{service}.pid"
