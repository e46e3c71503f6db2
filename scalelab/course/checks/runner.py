"""Run a lab's check (`scalelab check`), show its result, record it in .lab/progress.json (format in
scalelab/course/progress.py), and send it to the classroom the learner joined, if any (scalelab/course/classroom.py).

Exit codes of `scalelab check`: 0 the lab passes, 1 it fails, 2 the check could not run (the stack is
down, or the lab has no check yet).
"""

from __future__ import annotations

import importlib

import requests

from scalelab.course import classroom, progress
from scalelab.course.catalogue import Lab, builds_on
from scalelab.course.checks import CheckResult
from scalelab.errors import LabError, StackNotRunning
from scalelab.kit.clients import require_app


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
        raise CheckUnavailable(f"{lab.check} has no run(settings) function: give it one (see scalelab/course/checks/__init__.py)")
    return module


def run(lab: Lab, settings) -> CheckResult:
    module = load_check(lab)
    require_app(settings.app_url)
    try:
        result = module.run(settings)
    except requests.ConnectionError:
        raise StackNotRunning(f"the lab stack stopped answering during the check of lab {lab.id}: run `make up`") from None
    if not isinstance(result, CheckResult):
        raise CheckUnavailable(f"{lab.check}.run returned {type(result).__name__}, not a CheckResult: fix the check")
    return result


def as_json(lab: Lab, result: CheckResult) -> dict:
    return result.as_json(lab.id)


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
        if lab.requires:  # another lab's failure can spoil this check: say which to do first
            lines.append(builds_on(lab))
        lines.append(f"stuck? `scalelab hint {lab.alias}`")
    return "\n".join(lines)


def _number(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1 else f"{value:,.1f}"
    return str(value)


def record(lab: Lab, result: CheckResult) -> None:
    """Keep the result in the learner's progress, then send it to the classroom, if they joined one."""
    entry = progress.record(lab, result.passed, result.measurements, reasons=result.reasons)
    classroom.post_result(lab.id, entry["passed"], entry["time"])
