"""The learner notebooks generated from the solution notebooks (scalelab/course/notebooks.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import nbformat
import pytest
from nbformat import v4

from scalelab.course import catalogue, notebooks
from scalelab.errors import LabError

SOLVED_FUNCTION = """\
# NBVAL_CHECK_OUTPUT
def requests_per_second(users, think_s):
    ### BEGIN SOLUTION
    rate = users / think_s
    return rate
    ### END SOLUTION

requests_per_second(1000, 15)"""

LEARNER_FUNCTION = """\
def requests_per_second(users, think_s):
    # TODO: your code here
    raise NotImplementedError()

requests_per_second(1000, 15)"""


def solution_notebook() -> nbformat.NotebookNode:
    result = v4.new_output("execute_result", {"text/plain": "66.7"}, execution_count=3)
    code = v4.new_code_cell(SOLVED_FUNCTION, execution_count=3, outputs=[result])
    answer = v4.new_markdown_cell("Why does p95 bend?\n\n### BEGIN SOLUTION\nThe pool runs out.\n### END SOLUTION")
    warning = v4.new_output("stream", text="warning\n")
    plain = v4.new_code_cell("# NBVAL_IGNORE_OUTPUT\nimport pandas", outputs=[warning])
    return v4.new_notebook(cells=[v4.new_markdown_cell("# Lab"), code, answer, plain])


@pytest.fixture
def folders(tmp_path):
    source, learner = tmp_path / "solutions" / "notebooks", tmp_path / "notebooks"
    source.mkdir(parents=True)
    nbformat.write(solution_notebook(), source / "00-test.ipynb")
    return source, learner


def build(folders, check=False):
    source, learner = folders
    return notebooks.build(check=check, source_dir=source, learner_dir=learner)


def test_solutions_outputs_and_nbval_markers_are_removed(folders):
    build(folders)
    solution = nbformat.read(folders[0] / "00-test.ipynb", as_version=4)
    learner = nbformat.read(folders[1] / "00-test.ipynb", as_version=4)
    title, code, answer, plain = learner.cells
    assert title.source == "# Lab"
    assert code.source == LEARNER_FUNCTION
    assert answer.source == "Why does p95 bend?\n\n_Your answer here._"
    assert plain.source == "import pandas"
    assert all(cell.outputs == [] and cell.execution_count is None for cell in (code, plain))
    assert [cell.id for cell in learner.cells] == [cell.id for cell in solution.cells]


def test_building_twice_gives_identical_bytes(folders):
    learner_file = folders[1] / "00-test.ipynb"
    assert [(item.path.name, item.problem) for item in build(folders)] == [("00-test.ipynb", "missing")]
    first = learner_file.read_bytes()
    assert build(folders) == []
    assert learner_file.read_bytes() == first


def test_check_reports_stale_and_stray_copies_and_writes_nothing(folders):
    build(folders)
    source, learner = folders
    (learner / "00-test.ipynb").write_text("{}")
    (learner / "99-gone.ipynb").write_text("{}")
    found = build(folders, check=True)
    assert [(item.path.name, item.problem) for item in found] == [
        ("00-test.ipynb", "stale"),
        ("99-gone.ipynb", "stray"),
    ]
    assert (learner / "00-test.ipynb").read_text() == "{}"
    build(folders)
    assert sorted(path.name for path in learner.iterdir()) == ["00-test.ipynb"]


def test_a_learners_edited_copy_is_saved_before_it_is_replaced(folders):
    """Outside git (as here) every copy counts as edited; in the repo, only one that differs from HEAD."""
    build(folders)
    source, learner = folders
    (learner / "00-test.ipynb").write_text('{"my": "work"}')
    (learner / "99-gone.ipynb").write_text('{"more": "work"}')
    replaced = {item.path.name: item.backup for item in build(folders)}
    assert replaced["00-test.ipynb"].read_text() == '{"my": "work"}'
    assert replaced["99-gone.ipynb"].read_text() == '{"more": "work"}'
    assert replaced["00-test.ipynb"].relative_to(learner.parent / ".lab" / "backups").parts[1:] == ("notebooks", "00-test.ipynb")
    assert (learner / "00-test.ipynb").read_text() != '{"my": "work"}'


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("### BEGIN SOLUTION\nx = 1", "never closed"),
        ("x = 1\n### END SOLUTION", "without `### BEGIN SOLUTION`"),
        ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "a second"),
    ],
)
def test_unbalanced_solution_blocks_name_the_cell(folders, source, expected):
    nbformat.write(v4.new_notebook(cells=[v4.new_code_cell(source)]), folders[0] / "00-test.ipynb")
    with pytest.raises(LabError, match=f"00-test.ipynb, cell 1: .*{expected}"):
        build(folders)


def test_committed_learner_notebooks_are_current():
    """Fails when someone edits a solution notebook and forgets `scalelab notebooks build`."""
    without_source = [lab.id for lab in catalogue.all_labs() if lab.available and not lab.notebook_source.is_file()]
    assert not without_source, f"available labs without a source notebook: {without_source}"
    outdated = notebooks.build(check=True)
    assert not outdated, [f"{item.path.name} is {item.problem}" for item in outdated]


# The `scalelab notebooks build` verb, in a repository of its own (SCALELAB_REPO) so that it cannot touch
# the real notebooks/. cli.py adds the verb the same way.
CLI = """
import argparse, sys
from scalelab.course import notebooks
parser = argparse.ArgumentParser(prog="scalelab")
notebooks.register(parser.add_subparsers(dest="verb", required=True))
args = parser.parse_args(sys.argv[1:])
sys.exit(args.func(args, None))  # the settings: building notebooks needs none
"""


def scalelab(repo, *arguments):
    environment = {**os.environ, "SCALELAB_REPO": str(repo)}
    return subprocess.run(
        [sys.executable, "-c", CLI, *arguments], env=environment, capture_output=True, text=True, timeout=60
    )


def test_build_check_verb_exits_1_with_one_line_per_file_then_0(folders, tmp_path):
    checked = scalelab(tmp_path, "notebooks", "build", "--check")
    assert checked.returncode == 1
    assert checked.stderr.splitlines() == ["notebooks/00-test.ipynb is missing: run `scalelab notebooks build`"]
    built = scalelab(tmp_path, "notebooks", "build")
    assert (built.returncode, built.stdout) == (0, "wrote notebooks/00-test.ipynb\n")
    current = scalelab(tmp_path, "notebooks", "build", "--check")
    assert (current.returncode, current.stderr) == (0, "")
