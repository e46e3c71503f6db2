"""Search what the app instances logged, as an operator greps their logs (the stack's `logs`: native mode).

    from scalelab.kit import applogs
    started = datetime.now(timezone.utc)
    ...                                   # run some load
    applogs.grep("ERROR .*QueuePool limit", since=started)

In native mode every service writes `.lab/logs/<service>.log` (`scalelab logs app1` shows its tail).
Chirp's own lines begin with an ISO timestamp (broken_app/logs.py); the lines of a traceback follow
the line that logged it and carry none, so they count as logged at that line's time. gunicorn's
lines ("[2026-11-29 00:12:57 +0000] ...") carry a timestamp too.

An error is logged as one `ERROR <method> <path> <exception>: <message>` line, then its traceback,
whose last line repeats the message. A pattern that starts with "ERROR " therefore counts each
failed request once.

After Lab 4 every Chirp line is a JSON object that starts with its timestamp; `applogs.records(since=...)`
parses them into a table (request_id, route, status, duration_ms, trace_id...), and grep() still works.

In Docker mode the app logs to Docker, not to files: `docker compose logs app1 app2` shows them.
"""

from __future__ import annotations

import json
import re
from datetime import datetime

import pandas as pd

from scalelab.errors import LabError
from scalelab.stack import current

APPS = ("app1", "app2")

# Chirp's lines: 2026-11-29T00:12:49.155+00:00 pid=13183 ..., or after Lab 4 {"timestamp": "2026-11-29T00:12:49.155+00:00", ...};
# gunicorn's: [2026-11-29 00:12:57 +0000] ...
_TIMESTAMP = re.compile(
    r'^(?:\{"timestamp": ")?(?:(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?[+-]\d\d:\d\d)|\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4})\])'
)

# Lines of concurrent threads and processes reach the file nearly, not exactly, in time order, and a
# traceback's lines carry no time: searching for where `since` begins starts this much earlier.
_SLACK_S = 60.0
# Below this many bytes the search for where `since` begins reads the rest of the file line by line.
_SCAN_BYTES = 256 * 1024


def grep(pattern: str, since: datetime | float | None = None, services: tuple[str, ...] = APPS) -> pd.DataFrame:
    """The lines of the services' logs that match `pattern` (a regular expression, `re.search`).

    since: only lines logged at or after this moment: an aware datetime, a naive one in local time
    (as `datetime.now()` gives), or unix seconds. None searches the whole log. Only Chirp's and
    gunicorn's timestamps are understood, so `since` suits app1 and app2, not the other services.
    Returns one row per matching line: service, time (UTC; NaT before the first timestamp of the
    log) and line, in the order of each log.
    """
    try:
        regex = re.compile(pattern)
    except re.error as error:
        raise LabError(f"{pattern!r} is not a valid regular expression: {error}") from None
    rows = [
        {"service": service, "time": stamp, "line": line}
        for service, stamp, line in _lines(services, _unix_seconds(since))
        if regex.search(line)
    ]
    frame = pd.DataFrame(rows, columns=["service", "time", "line"])
    frame["time"] = pd.to_datetime(frame["time"], unit="s", utc=True)
    return frame


def records(since: datetime | float | None = None, services: tuple[str, ...] = APPS) -> pd.DataFrame:
    """Chirp's JSON log lines (Lab 4's logs.py), one row per line and one column per field, plus service.

    Lines that are not JSON (the broken app's printed lines, gunicorn's own) are left out; `since`
    is as for grep(). With the broken logs.py this is empty: there is nothing to parse.
    """
    rows = []
    for service, _, line in _lines(services, _unix_seconds(since)):
        if line.startswith("{"):
            try:
                rows.append({"service": service, **json.loads(line)})
            except json.JSONDecodeError:
                continue  # a line cut by a crash
    frame = pd.DataFrame(rows)
    if "timestamp" in frame:
        frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    return frame


def _lines(services: tuple[str, ...], since_s: float | None):
    """(service, unix time or None, line) for each line of each service's log, from `since_s` on."""
    running = current()
    for service in services:
        with running.logs(service) as file:
            if since_s is not None:
                file.seek(_offset_before(file, since_s - _SLACK_S))
            current_s: float | None = None
            for raw in file:
                line = raw.decode("utf-8", errors="replace").rstrip("\n")
                stamp = _line_time(line)
                if stamp is not None:
                    current_s = stamp
                if since_s is not None and (current_s is None or current_s < since_s):
                    continue
                yield service, current_s, line


def _unix_seconds(moment: datetime | float | None) -> float | None:
    if moment is None:
        return None
    if isinstance(moment, datetime):  # pd.Timestamp is one too
        return moment.timestamp()
    if isinstance(moment, (int, float)):
        return float(moment)
    raise LabError(f"since is {moment!r}: pass a datetime, unix seconds, or None")


def _line_time(line: str) -> float | None:
    match = _TIMESTAMP.match(line)
    if match is None:
        return None
    iso, gunicorn = match.groups()
    if iso is not None:
        return datetime.fromisoformat(iso).timestamp()
    return datetime.strptime(gunicorn, "%Y-%m-%d %H:%M:%S %z").timestamp()


def _first_time_after(file, offset: int) -> float | None:
    """The time of the first timestamped line that starts after byte `offset` (None at the end)."""
    file.seek(offset)
    if offset:
        file.readline()  # the rest of a line cut in the middle
    for raw in file:
        stamp = _line_time(raw.decode("utf-8", errors="replace"))
        if stamp is not None:
            return stamp
    return None


def _offset_before(file, moment: float) -> int:
    """A byte offset at a line start before every line logged at or after `moment`: bisects the file."""
    low, high = 0, file.seek(0, 2)
    while high - low > _SCAN_BYTES:
        middle = (low + high) // 2
        stamp = _first_time_after(file, middle)
        if stamp is not None and stamp < moment:
            low = middle
        else:
            high = middle
    if low:
        file.seek(low)
        file.readline()
        return file.tell()
    return 0
