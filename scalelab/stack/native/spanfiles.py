"""Native mode's span files (.lab/traces/<service>-<pid>.jsonl, written by Lab 4's tracing): old ones go.

Kept apart from scalelab.kit.traces, which reads them with pandas: the stack's launchers only delete, and
every `scalelab` command imports them.
"""

from __future__ import annotations

import time

import psutil

from scalelab.paths import TRACES

# Span files of processes that are gone are deleted once this old: a notebook reads the traces of the
# instances a solve just restarted, but a day of load runs would otherwise fill gigabytes (one
# session's runs left 146 MB).
KEEP_S = 3600


def prune(keep_s: float = KEEP_S) -> int:
    """Delete the span files of exited processes not written to for keep_s; returns how many. The
    stack calls it whenever it starts an app instance or the worker."""
    removed = 0
    for path in TRACES.glob("*-*.jsonl"):
        pid = path.stem.rsplit("-", 1)[1]
        if pid.isdigit() and not psutil.pid_exists(int(pid)) and time.time() - path.stat().st_mtime > keep_s:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
