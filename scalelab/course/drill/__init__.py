"""The incident drill (Lab 5): one hidden fault in the fully fixed stack, found with the dashboards, logs
and traces of Lab 4, and named with `scalelab drill answer CAUSE`.

    from scalelab.course import drill
    drill.start()                      # or start(seed=7): the same seed hides the same fault
    drill.status()                     # running, for how long, how many wrong answers: never which fault
    drill.answer("redis-down")         # a Verdict; a right one restores the stack and records the time
    drill.stop()                       # restores the stack (nothing to do when no drill is on)
    drill.CAUSES["slow-query"].symptom
    drill.signal_query("slow-query")   # the PromQL in which that cause shows

The state lives in .lab/drill.json (seed, fault, start time, wrong answers), so that the verbs work from
separate commands; it names the fault, because `stop` must know what to restore. Each finished drill
(answered or stopped) is appended to .lab/drill-results.json.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass

from scalelab.course.drill.causes import CAUSES, Cause, signal_query
from scalelab.errors import LabError
from scalelab.kit import exposition, faults
from scalelab.paths import STATE
from scalelab.stack import Stack, current

__all__ = ["CAUSES", "Cause", "DrillStatus", "Verdict", "answer", "cause_for", "signal_query", "start", "status", "stop"]

STATE_FILE = STATE / "drill.json"
RESULTS_FILE = STATE / "drill-results.json"
INSTANCES = ("app1", "app2")


class NoDrill(LabError):
    def __init__(self):
        super().__init__("no drill is running: start one with `scalelab drill start`")


class DrillRunning(LabError):
    pass


class UnknownCause(LabError):
    pass


class NeedsLab4(LabError):
    pass


@dataclass(frozen=True)
class DrillStatus:
    running: bool
    seconds: float = 0.0
    wrong_answers: int = 0

    def __str__(self) -> str:
        if not self.running:
            return "no drill is running: start one with `scalelab drill start`"
        wrong = f"; {self.wrong_answers} wrong answer{'s' * (self.wrong_answers != 1)} so far" if self.wrong_answers else ""
        return f"a drill is running for {duration(self.seconds)}{wrong}: answer with `scalelab drill answer CAUSE`"


@dataclass(frozen=True)
class Verdict:
    correct: bool
    cause: str  # the answer given
    attempts: int  # answers so far, this one included
    seconds: float  # from start to this answer

    def __str__(self) -> str:
        if not self.correct:
            return f"not {self.cause}: look again and answer again (attempt {self.attempts})"
        return (
            f"right: the cause was {self.cause}, found in {duration(self.seconds)} at attempt {self.attempts}; "
            "the stack is restored"
        )


def duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


def cause_for(seed: int) -> str:
    """The cause a seed hides: the same on every machine (random.Random does not depend on the platform)."""
    return random.Random(seed).choice(list(CAUSES))


def start(seed: int | None = None, settings=None) -> None:
    """Hide the fault `seed` picks (a random seed when None) in the running stack."""
    stack = current(settings)
    if STATE_FILE.exists():
        raise DrillRunning(f"{status()}, or give up with `scalelab drill stop`")
    _require_lab4(stack)
    seed = random.SystemRandom().randrange(2**32) if seed is None else seed
    state = {"seed": seed, "fault": cause_for(seed), "started_at": time.time(), "attempts": 0}
    # Written before the fault goes in, so that `stop` restores a fault that went in half-way.
    _write(state)
    try:
        CAUSES[state["fault"]].inject(stack)
    except BaseException:
        _restore(state, stack)
        STATE_FILE.unlink()
        raise
    # The clock starts once the fault is in: stopping an instance can take some seconds.
    _write({**state, "started_at": time.time()})


def status() -> DrillStatus:
    state = _read()
    if state is None:
        return DrillStatus(False)
    return DrillStatus(True, time.time() - state["started_at"], state["attempts"])


def answer(cause: str, settings=None) -> Verdict:
    """Grade an answer. A right one restores the stack and records the result; a wrong one counts."""
    if cause not in CAUSES:
        raise UnknownCause(f"unknown cause {cause!r}: choose one of {', '.join(CAUSES)}")
    state = _read()
    if state is None:
        raise NoDrill()
    state = {**state, "attempts": state["attempts"] + 1}
    verdict = Verdict(cause == state["fault"], cause, state["attempts"], time.time() - state["started_at"])
    if verdict.correct:
        _finish(state, current(settings), solved=True)
    else:
        _write(state)
    return verdict


def stop(settings=None) -> str | None:
    """Restore the stack and end the drill. Returns the cause it hid, or None when no drill was on."""
    state = _read()
    if state is None:
        return None
    _finish(state, current(settings), solved=False)
    return state["fault"]


def _require_lab4(stack: Stack) -> None:
    stack.require(INSTANCES, "the drill stops and restarts services")
    for name in INSTANCES:
        if exposition.scrape(stack.settings, name) is None:
            raise NeedsLab4(
                f"{name} serves no /metrics, and the drill is investigated with Lab 4's metrics: "
                "run `scalelab solve 4`, or finish Lab 4"
            )


def _restore(state: dict, stack: Stack) -> None:
    CAUSES[state["fault"]].restore(stack)
    faults.clear()  # and any fault set by hand meanwhile: the drill hands back a clean stack


def _finish(state: dict, stack: Stack, solved: bool) -> None:
    # The state goes only once the stack is restored: if restoring fails, `stop` can try again.
    _restore(state, stack)
    ended = time.time()
    results = json.loads(RESULTS_FILE.read_text()) if RESULTS_FILE.exists() else []
    results.append({**state, "ended_at": ended, "seconds": ended - state["started_at"], "solved": solved})
    RESULTS_FILE.write_text(json.dumps(results, indent=1) + "\n")
    STATE_FILE.unlink()


def _read() -> dict | None:
    return json.loads(STATE_FILE.read_text()) if STATE_FILE.exists() else None


def _write(state: dict) -> None:
    STATE.mkdir(parents=True, exist_ok=True)
    STATE_FILE.write_text(json.dumps(state) + "\n")
