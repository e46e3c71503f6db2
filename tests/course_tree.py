"""Which labs' solutions the working tree holds, moved with the learner's verbs (`scalelab solve` and
`reset`) at the cost of as few app restarts as can be: each move that changes broken_app/ restarts
app1, app2 and the worker (about 5 s on 2 cores), and the suite makes dozens of moves.

Tests ask for the labs they need (`hold`); the tree stays as the last test left it, and the next
move starts from there. Solving lab N applies the labs it requires too, so the lab tests, run in
course order, mostly move one solve at a time. The tree is reset to git's at the session's end
(tests/conftest.py), and whenever its state is not known (a verb failed, a notebook ran).
"""

from __future__ import annotations

import subprocess
import sys

from scalelab.course import catalogue, overlays
from scalelab.paths import REPO

UNKNOWN = None


def scalelab(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """A verb run in this checkout, as the learner would run it."""
    result = subprocess.run([sys.executable, "-m", "scalelab", *args], cwd=REPO, capture_output=True, text=True, timeout=timeout)
    # Shown by pytest when the test fails: what each verb said.
    print(f"$ scalelab {' '.join(args)} -> exit {result.returncode}\n{result.stdout}{result.stderr}")
    return result


class CourseTree:
    def __init__(self) -> None:
        # The ids of the solved labs; UNKNOWN until the first move (a developer may have solved some).
        self.solved: frozenset[str] | None = UNKNOWN

    def hold(self, lab_ids) -> None:
        """Make the tree hold exactly the solutions of lab_ids, each with the labs it requires (the
        closure: `solve` applies them too); an empty set is the broken app."""
        labs = catalogue.all_labs()
        wanted = closure(set(lab_ids), labs)
        if self.solved == wanted:
            return
        try:
            if self.solved is UNKNOWN or not self.solved <= wanted:
                self._run("reset", "--all")
                self.solved = frozenset()
            # The latest lab first: its solve applies the ones it requires, so one solve (one restart)
            # covers a lab and everything before it.
            for lab in reversed(labs):
                if lab.id in wanted and lab.id not in self.solved:
                    self._run("solve", lab.id)
                    self.solved |= closure({lab.id}, labs)
        except BaseException:
            self.solved = UNKNOWN
            raise

    def forget(self) -> None:
        """Something else moved the tree (a notebook solves and resets what it solved): check next time."""
        self.solved = UNKNOWN

    def reset(self) -> None:
        self.solved = UNKNOWN
        self._run("reset", "--all")
        self.solved = frozenset()

    @staticmethod
    def _run(*args: str) -> None:
        result = scalelab(*args)
        assert result.returncode == 0, f"scalelab {' '.join(args)}: {result.stdout}{result.stderr}"


def pristine(path: str) -> bytes:
    """A lab module broken, as git has it: for the half fixes tests make."""
    return overlays.pristine(REPO, path)


def closure(lab_ids: set[str], labs: list[catalogue.Lab]) -> frozenset[str]:
    by_id = {lab.id: lab for lab in labs}
    return frozenset(each.id for lab_id in lab_ids for each in overlays.solve_order(by_id[lab_id], labs))
