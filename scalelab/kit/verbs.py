"""Run a `scalelab` verb from a notebook or a benchmark as a learner types it in a terminal, and show what
it said. The course's machinery (solve, check, reset, progress, the drill) is reached this way: the kit
never imports it, and a notebook shows the learner the very command they would run.

    scalelab("solve", "1")                                   # prints its output; a failure raises
    check = scalelab("check", "1", ok_to_fail=True)          # a failing check is an answer too
    passed = check.returncode == 0
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass

from scalelab.errors import LabError
from scalelab.paths import REPO

TIMEOUT_S = 600  # a check runs its own load for a minute or two; solve restarts services


@dataclass
class VerbRun:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    def _ipython_display_(self) -> None:
        """A cell that ends with a verb shows what the verb said, printed already, and nothing more."""


def scalelab(*args: str, ok_to_fail: bool = False, show: bool = True) -> VerbRun:
    """Run `scalelab ARGS...`; print what it said (show=False: only keep it in the result). Unless
    ok_to_fail, a verb that fails raises LabError (with what it said, when it was not shown)."""
    verb = subprocess.run(
        [sys.executable, "-m", "scalelab", *args], cwd=REPO, capture_output=True, text=True, timeout=TIMEOUT_S
    )
    if show:
        print(verb.stdout + verb.stderr)
    if not ok_to_fail and verb.returncode != 0:
        said = "" if show else f": {(verb.stdout + verb.stderr).strip()}"
        raise LabError(f"`scalelab {' '.join(args)}` failed (exit {verb.returncode}){said}")
    return VerbRun(args, verb.returncode, verb.stdout, verb.stderr)


def edited_labs() -> list[str]:
    """The aliases of the labs whose modules differ from git's HEAD: solved, or being worked on."""
    labs = json.loads(scalelab("progress", "--json", show=False).stdout)["labs"]
    return [lab["alias"] for lab in labs if lab["edited"]]
