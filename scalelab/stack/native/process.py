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


def clear_stale(name: str, grace_s: float = 10.0) -> bool:
    """Remove a pid file whose process is gone, and end what that process left behind. True if there was one.

    A crashed leader can leave its children running: gunicorn's workers, SIGKILLed master or not, keep
    serving on its port for some seconds, and the port looks taken. They are still in the leader's
    process group (spawn() starts each service as a session leader), so that group is killed, unless
    a live process now owns the leader's pid (reused: its group is somebody else's).
    """
    path = pid_file(name)
    if not path.exists() or running_pid(name) is not None:
        return False
    try:
        leader = int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        leader = None
    path.unlink()
    if leader is not None and _start_time(leader) is None:
        _kill_group(leader, grace_s)
    return True


def _kill_group(group: int, grace_s: float) -> None:
    try:
        os.killpg(group, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and _group_alive(group):
        time.sleep(0.1)


def _group_alive(group: int) -> bool:
    """Does a process of the group still run? A zombie holds no port, and nobody may ever reap it.
    Each thread counts: a gunicorn worker's main thread shows as a zombie while its other threads are
    still exiting, and its files (the listening socket among them) close only with the last one."""
    for stat in Path("/proc").glob("[0-9]*/task/[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[2] == str(group) and fields[0] not in ("Z", "X"):  # fields: state, ppid, process group, ...
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
