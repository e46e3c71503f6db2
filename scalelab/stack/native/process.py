"""Start, find and stop one background process, remembered by a pid file under `.lab/run/`.

A pid file holds the pid and the process's start time (from /proc), so a pid file left by a crash,
whose pid now belongs to some other process, is recognised as stale and never signalled.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from scalelab.paths import LOGS, RUN, log_file, pid_file
from scalelab.stack.native.account import Account


def _start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces; fields after the closing paren are fixed.
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":  # a zombie has exited; only its parent has not reaped it yet
        return None
    return fields[19]


def running_pid(name: str) -> int | None:
    """The pid of the service's process if it is still the one we started, else None."""
    path = pid_file(name)
    try:
        pid_text, started = path.read_text().split()
        pid = int(pid_text)
    except (OSError, ValueError):
        return None
    return pid if _start_time(pid) == started else None


def clear_stale(name: str) -> bool:
    """Remove a pid file whose process is gone. True if there was one."""
    path = pid_file(name)
    if path.exists() and running_pid(name) is None:
        path.unlink()
        return True
    return False


def spawn(
    name: str,
    argv: Sequence[str],
    *,
    env: dict[str, str],
    cwd: Path,
    account: Account,
) -> int:
    """Start argv in its own session, logging to .lab/logs/<name>.log, and record its pid."""
    LOGS.mkdir(parents=True, exist_ok=True)
    RUN.mkdir(parents=True, exist_ok=True)
    with open(log_file(name), "ab") as log:
        log.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting {name}: {' '.join(argv)}\n".encode())
        log.flush()
        as_other = {} if account.is_current else {"user": account.uid, "group": account.gid, "extra_groups": []}
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            start_new_session=True,
            **as_other,
        )
    pid_file(name).write_text(f"{process.pid} {_start_time(process.pid)}\n")
    return process.pid


def stop(name: str, stop_signal: int = signal.SIGTERM, grace_s: float = 15.0) -> bool:
    """Ask the process to stop, wait, then kill its whole process group. True if it was running."""
    pid = running_pid(name)
    pid_file(name).unlink(missing_ok=True)
    if pid is None:
        return False
    try:
        os.kill(pid, stop_signal)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and _start_time(pid) is not None:
        time.sleep(0.1)
    # Children (gunicorn workers, postgres backends) share the process group started by spawn().
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return True
