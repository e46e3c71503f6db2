"""Where a learner stands (`scalelab progress`): each lab passed, failed or not started.

`scalelab check` appends every result to .lab/progress.json (`record`, called by checks/runner.py), keyed by the
lab's id, so that a lab added or reordered later leaves the others' results readable:
    {"version": 1,
     "labs": {"01-connection-pool": [{"passed": false, "time": "2025-01-01T12:00:00+00:00",
                                       "measurements": {...}}, ...]}}
A course update that renames a lab lists the old id in labs.toml (`formerly`), so results recorded
under it count for the renamed lab. Results under an id no lab has are old history: they stay in the
file and are left out here. A lab's status is that of its latest check.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from scalelab import paths
from scalelab.course import overlays
from scalelab.course.catalogue import Lab
from scalelab.errors import LabError

FORMAT_VERSION = 1
NOT_STARTED = "not started"


def progress_file() -> Path:
    return paths.STATE / "progress.json"


def empty_document() -> dict:
    return {"version": FORMAT_VERSION, "labs": {}}


def parse_document(text: str) -> dict:
    """The progress document in `text`; ValueError when it is not one."""
    document = json.loads(text)
    if not isinstance(document, dict) or not isinstance(document.get("labs"), dict):
        raise ValueError("no labs object")
    return document


def read(path: Path | None = None) -> dict:
    """The progress document (an empty one before the first check). An unreadable file is a LabError."""
    path = path or progress_file()
    if not path.exists():
        return empty_document()
    try:
        return parse_document(path.read_text())
    except ValueError as exc:
        raise LabError(
            f"{path} is not readable progress ({exc}): the next `scalelab check` keeps it aside and starts a new one"
        ) from None


def record(lab: Lab, passed: bool, measurements: dict, path: Path | None = None, *, reasons: list[str] | None = None) -> dict:
    """Append a check's result to the progress file (written whole, then renamed: never half a file).
    An unreadable file is kept aside, and a new one started. Returns the entry written."""
    path = path or progress_file()
    document = empty_document()
    if path.exists():
        try:
            document = parse_document(path.read_text())
        except ValueError:
            kept = path.with_name(f"{path.name}.unreadable-{datetime.now():%Y%m%d-%H%M%S}")
            path.rename(kept)
            print(f"scalelab: {path} was not readable progress; kept it as {kept.name} and started a new one", file=sys.stderr)
    entry = {
        "passed": passed,
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "measurements": measurements,
        "reasons": list(reasons or []),  # what `scalelab hint` starts from
    }
    document["labs"].setdefault(lab.id, []).append(entry)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(document, indent=1, default=str) + "\n")
    os.replace(partial, path)
    return entry


@dataclass(frozen=True)
class LabProgress:
    lab: Lab
    checks: int
    last_check: str | None  # ISO 8601, as recorded; None before the first check
    last_passed: str | None  # the latest check that passed, which may be older than the latest check
    passed: bool | None  # the latest check's verdict
    edited: bool | None = None  # its modules differ from git's HEAD (solved, or being worked on); None: not asked
    last_reasons: tuple[str, ...] = ()  # why the latest check failed, in its own words (from its measurements)

    @property
    def status(self) -> str:
        return NOT_STARTED if self.passed is None else "passed" if self.passed else "failed"

    def as_json(self) -> dict:
        lab = self.lab
        return {
            "id": lab.id,
            "alias": lab.alias,
            "title": lab.title,
            "available": lab.available,
            "status": self.status,
            "last_check": self.last_check,
            "last_passed": self.last_passed,
            "checks": self.checks,
            "edited": self.edited,
        }


def _is_result(entry) -> bool:
    """What record() writes; a hand-edited entry that is not one is skipped."""
    return isinstance(entry, dict) and isinstance(entry.get("passed"), bool) and isinstance(entry.get("time"), str)


def _when(entry: dict) -> datetime:
    return datetime.fromisoformat(entry["time"])


def of_lab(lab: Lab, document: dict, with_edits: bool = False) -> LabProgress:
    """The lab's results under its id and its former ids, in the order they happened."""
    recorded = document["labs"]
    results = [entry for lab_id in lab.recorded_ids for entry in recorded.get(lab_id, []) if _is_result(entry)]
    results.sort(key=_when)
    passes = [entry for entry in results if entry["passed"]]
    latest = results[-1] if results else None
    return LabProgress(
        lab=lab,
        checks=len(results),
        last_check=latest["time"] if latest else None,
        last_passed=passes[-1]["time"] if passes else None,
        passed=latest["passed"] if latest else None,
        edited=_edited(lab) if with_edits else None,
        last_reasons=tuple(latest.get("reasons") or ()) if latest and not latest["passed"] else (),
    )


def _edited(lab: Lab) -> bool | None:
    """Do the lab's modules differ from git's HEAD? None outside a git clone, where nothing says."""
    try:
        return not overlays.is_pristine(lab)
    except LabError:
        return None


def summary(labs: list[Lab], document: dict, with_edits: bool = False) -> list[LabProgress]:
    """with_edits: also ask git whether each lab's modules were edited (a git command per module)."""
    return [of_lab(lab, document, with_edits) for lab in labs]


def passed_count(statuses: list[LabProgress]) -> int:
    return sum(status.passed is True for status in statuses)


def as_json(statuses: list[LabProgress]) -> dict:
    return {"labs": [status.as_json() for status in statuses], "passed": passed_count(statuses), "total": len(statuses)}


def _local(time: str) -> str:
    return datetime.fromisoformat(time).astimezone().strftime("%Y-%m-%d %H:%M")


def table(statuses: list[LabProgress]) -> str:
    """An aligned table, one lab a row, then how many passed."""
    rows = [("lab", "title", "status", "last check")]
    for status in statuses:
        when = _local(status.last_check) if status.last_check else "-" if status.lab.available else "(still being written)"
        rows.append((status.lab.alias, status.lab.title, status.status, when))
    # Every column but the last is padded, so that no line ends in spaces.
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]) - 1)]
    lines = ["  ".join([*(cell.ljust(width) for cell, width in zip(row, widths)), row[-1]]) for row in rows]
    return "\n".join([*lines, f"{passed_count(statuses)} of {len(statuses)} labs passed"])
