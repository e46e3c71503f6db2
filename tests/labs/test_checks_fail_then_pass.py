"""Every lab's check FAILS on the broken app and PASSES after `scalelab solve`, on the real stack.

It runs for each lab of labs/labs.toml that is `available` and has a solution overlay
(solutions/<id>/), so each lab joins as it lands. A lab with no overlay has no broken side to fail
on: Lab 0 ("Meet Chirp") is such a lab, and its check passing on the healthy stack is tested with
that lab, not here. test_the_harness_covers_every_available_lab_with_a_broken_side makes sure no other
lab is left out that way: while no lab has landed, the parametrized test has nothing to run.

The two halves, as the learner would run them:
  FAIL, here: the labs LAB requires solved and no other (`scalelab reset` and `solve`, moved as little
  as can be: tests/course_tree.py), so the app is broken in this lab's way only and a failing check is
  about this lab; `scalelab check LAB --json` exits 1, with at least one reason. Run in course order,
  each lab's broken side is the one before it solved: one `solve` (one restart) per lab.
  PASS, in the lab's solution notebook, which nbval runs (tests/notebooks/test_nbval.py): the learner
  solves the lab there, then runs `scalelab check LAB`, and nbval compares the printed verdict
  ("scalelab check 3 passed: True") with the stored one. Running the check after solve here too cost
  CI minutes and proved nothing more; test_each_solution_notebook_checks_its_lab_after_solving it
  keeps every notebook doing it. `make test PYTEST_ARGS="-k lab3"` runs both halves of Lab 3.
solve and reset restart app1, app2 and the worker when broken_app/ changes. Uncommitted edits to lab
modules in this checkout are saved under .lab/backups/ first (the verbs print where), never lost.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from course_tree import CourseTree, scalelab

from scalelab.course import catalogue
from scalelab.paths import REPO

SOLVABLE = [lab for lab in catalogue.all_labs() if lab.available and lab.overlay()]
# A check drives real load; a slow laptop needs minutes.
CHECK_TIMEOUT_S = 1800


def check(lab_id: str) -> tuple[int, dict]:
    result = scalelab("check", lab_id, "--json", timeout=CHECK_TIMEOUT_S)
    assert result.returncode in (0, 1), f"the check of {lab_id} could not run: {result.stderr.strip()}"
    return result.returncode, json.loads(result.stdout)


def fails_broken_alone(lab: catalogue.Lab, course_tree: CourseTree) -> None:
    """The FAIL half above."""
    course_tree.hold(lab.requires)
    code, report = check(lab.id)
    assert (code, report["passed"]) == (1, False), f"the check of {lab.id} passes on the broken app: {report}"
    assert report["reasons"], f"the check of {lab.id} fails without saying why: {report}"


@pytest.mark.wall
@pytest.mark.parametrize("lab", SOLVABLE, ids=lambda lab: f"lab{lab.alias}")  # `-k lab3` picks one lab
def test_check_fails_on_the_app_broken_in_the_lab_s_way(lab, course_tree, stack_memory):
    fails_broken_alone(lab, course_tree)
    stack_memory.loads_run.add(lab.id)


def code_cells(notebook: Path) -> list[dict]:
    return [cell for cell in json.loads(notebook.read_text())["cells"] if cell["cell_type"] == "code"]


def printed(cell: dict) -> str:
    return "".join("".join(output.get("text", "")) for output in cell.get("outputs", []))


@pytest.mark.parametrize("lab", SOLVABLE, ids=lambda lab: f"lab{lab.alias}")
def test_each_solution_notebook_checks_its_lab_after_solving_it(lab):
    """The PASS half's proof stays in place: the notebook runs `solve` (or reads it in a solution
    cell), then the check, and stores the check's verdict as True in a cell nbval compares."""
    cells = [("".join(cell["source"]), printed(cell)) for cell in code_cells(lab.notebook_source)]
    runs = [i for i, (source, _) in enumerate(cells) if f'"check", "{lab.alias}"' in source]
    verdicts = [
        i for i, (source, output) in enumerate(cells)
        if "# NBVAL_CHECK_OUTPUT" in source and output == f"scalelab check {lab.alias} passed: True\n"
    ]
    solves = [i for i, (source, _) in enumerate(cells) if f'"solve", "{lab.alias}"' in source]
    assert solves and runs and verdicts, f"{lab.notebook}: solve at cells {solves}, check at {runs}, verdict at {verdicts}"
    assert solves[0] < runs[-1] < verdicts[-1], f"{lab.notebook}: solve, check and verdict out of order"


def test_the_harness_covers_every_available_lab_with_a_broken_side():
    """Worked out from labs.toml and solutions/ directly, not through the catalogue code above."""
    with open(REPO / "labs" / "labs.toml", "rb") as file:
        tables = tomllib.load(file)["lab"]
    available = {table["id"]: table for table in tables if table["available"]}

    def has_overlay(lab_id: str) -> bool:
        folder = REPO / "solutions" / lab_id
        return any(
            path.is_file() and not catalogue.IGNORED_PARTS & set(path.relative_to(folder).parts)
            for path in folder.rglob("*")
        )

    without_overlay = {lab_id for lab_id in available if not has_overlay(lab_id)}
    assert {lab.id for lab in SOLVABLE} == available.keys() - without_overlay
    # The only reason to leave an available lab out: it has no broken modules (like Lab 0).
    left_out = {lab_id: available[lab_id]["modules"] for lab_id in without_overlay if available[lab_id]["modules"]}
    assert not left_out, f"available labs with broken modules but no solutions/<id>/ overlay: {left_out}"
