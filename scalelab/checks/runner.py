"""Run a lab's check (`scalelab check`), show its result, record it in .lab/progress.json (format in
scalelab/progress.py), and send it to the classroom the learner joined, if any (scalelab/classroom.py).

Exit codes of `scalelab check`: 0 the lab passes, 1 it fails, 2 the check could not run (the stack is
down, or the lab has no check yet).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

import requests

from scalelab import classroom
from scalelab.catalogue import Lab
from scalelab.checks import CheckResult
from scalelab.errors import LabError, StackNotRunning
from scalelab.progress import empty_document, parse_document, progress_file

# nginx answers these itself when no app instance behind it does.
NO_UPSTREAM = {502, 504}


class CheckUnavailable(LabError):
    """The lab's check cannot run at all (e.g. it is not written yet): `scalelab check` exits 2."""

    exit_code = 2


def load_check(lab: Lab):
    """The lab's check module. A module that is not there yet is CheckUnavailable."""
    try:
        module = importlib.import_module(lab.check)
    except ModuleNotFoundError as exc:
        # Only the check itself (or its package) being absent means "no check yet"; a missing
        # library inside an existing check is a real error and keeps its traceback.
        if exc.name and (lab.check == exc.name or lab.check.startswith(exc.name + ".")):
            raise CheckUnavailable(
                f"lab {lab.id} has no check yet ({lab.check} does not exist): "
                "it is still being written; `scalelab hint` and the lab's notebook still work"
            ) from None
        raise
    if not callable(getattr(module, "run", None)):
        raise CheckUnavailable(f"{lab.check} has no run(settings) function: give it one (see scalelab/checks/__init__.py)")
    return module


def require_app(settings) -> None:
    """Raise StackNotRunning unless something behind nginx answers."""
    url = f"{settings.app_url}/healthz"
    try:
        response = requests.get(url, timeout=10)
    except requests.Timeout:
        return  # slow, but there: grading a slow app is the check's job
    except requests.RequestException:
        raise StackNotRunning(f"the lab stack is not running (nothing answers {settings.app_url}): run `make up`") from None
    if response.status_code in NO_UPSTREAM:
        raise StackNotRunning(
            f"nginx answers but no app instance does (HTTP {response.status_code} from {url}): "
            "run `scalelab status`, then `make up`"
        )


def run(lab: Lab, settings) -> CheckResult:
    module = load_check(lab)
    require_app(settings)
    try:
        result = module.run(settings)
    except requests.ConnectionError:
        raise StackNotRunning(f"the lab stack stopped answering during the check of lab {lab.id}: run `make up`") from None
    if not isinstance(result, CheckResult):
        raise CheckUnavailable(f"{lab.check}.run returned {type(result).__name__}, not a CheckResult: fix the check")
    return result


def as_json(lab: Lab, result: CheckResult) -> dict:
    # The catalogue's id, whatever the check wrote, so that scripts can rely on it.
    return {**result.as_json(), "lab": lab.id}


def describe(lab: Lab, result: CheckResult) -> str:
    """The human report: a PASS/FAIL line, the measurements, then each reason."""
    lines = [f"{'PASS' if result.passed else 'FAIL'}  lab {lab.alias}, {lab.title}"]
    if result.measurements:
        lines.append("measured:")
        width = max(len(str(key)) for key in result.measurements)
        lines += [f"  {str(key):<{width}}  {_number(value)}" for key, value in result.measurements.items()]
    if result.reasons:
        lines.append("why it fails:" if not result.passed else "notes:")
        lines += [f"  - {reason}" for reason in result.reasons]
    if not result.passed:
        lines.append(f"stuck? `scalelab hint {lab.alias}`")
    return "\n".join(lines)


def _number(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1 else f"{value:,.1f}"
    return str(value)


def record(lab: Lab, result: CheckResult, path: Path | None = None) -> Path:
    """Append the result to the progress file (written whole, then renamed: never half a file), then
    send it to the classroom, if the learner joined one."""
    path = path or progress_file()
    progress = empty_document()
    if path.exists():
        try:
            progress = parse_document(path.read_text())
        except ValueError:
            kept = path.with_name(f"{path.name}.unreadable-{datetime.now():%Y%m%d-%H%M%S}")
            path.rename(kept)
            print(f"scalelab: {path} was not readable progress; kept it as {kept.name} and started a new one", file=sys.stderr)
    entry = {
        "passed": result.passed,
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "measurements": result.measurements,
    }
    progress["labs"].setdefault(lab.id, []).append(entry)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(progress, indent=1, default=str) + "\n")
    os.replace(partial, path)
    classroom.post_result(lab.id, entry["passed"], entry["time"])
    return path
