"""Lab checks: each grades the running stack's behaviour under load, from outside.

A check is a module `scalelab.course.checks.labN` with `run(settings) -> CheckResult`. It raises
StackNotRunning when the stack (or the part it needs) is down; `scalelab check` turns that into
exit code 2. It never edits the learner's code.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class CheckResult:
    passed: bool
    measurements: dict = field(default_factory=dict)
    # One line per failed criterion: what was seen, and what to look at.
    reasons: list[str] = field(default_factory=list)

    def as_json(self, lab_id: str) -> dict:
        return {"lab": lab_id, "passed": self.passed, "measurements": self.measurements, "reasons": self.reasons}
