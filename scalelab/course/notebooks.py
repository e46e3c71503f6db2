"""The learner notebooks, generated from the solution notebooks.

The source of every lab notebook is solutions/notebooks/<name>.ipynb, with the answers in it and
run through nbval by the test suite. The learner copy notebooks/<name>.ipynb is generated from it:
- in code cells, the lines between `### BEGIN SOLUTION` and `### END SOLUTION` (the nbgrader
  convention) become a TODO that raises NotImplementedError, at the block's indentation;
- in markdown cells, such a block becomes `_Your answer here._`;
- outputs, execution counts and nbval's marker comments are removed; cell ids are kept.
The output depends only on the source, so building twice gives byte-identical files, and
`scalelab notebooks build --check` can tell whether the committed learner copies are current.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from scalelab.course.overlays import Backups
from scalelab.errors import LabError
from scalelab.paths import REPO

if TYPE_CHECKING:
    import nbformat

SOURCE_DIR = REPO / "solutions" / "notebooks"
LEARNER_DIR = REPO / "notebooks"

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
CODE_PLACEHOLDER = ("# TODO: your code here", "raise NotImplementedError()")
MARKDOWN_PLACEHOLDER = ("_Your answer here._",)
# nbval reads these comments to decide how to check a cell; they mean nothing to a learner.
NBVAL_MARKERS = {"NBVAL_CHECK_OUTPUT", "NBVAL_IGNORE_OUTPUT", "NBVAL_SKIP", "NBVAL_RAISES_EXCEPTION"}

FIX = "run `scalelab notebooks build`"


@dataclass(frozen=True)
class Outdated:
    """A learner notebook that does not match its source: "missing", "stale" or "stray" (no source)."""

    path: Path
    problem: str
    backup: Path | None = None  # where an edited copy was saved before it was replaced


PROBLEM_TEXT = {
    "missing": "is missing",
    "stale": "is out of date with its source",
    "stray": "has no source in solutions/notebooks/",
}


def build(check: bool = False, source_dir: Path = SOURCE_DIR, learner_dir: Path = LEARNER_DIR) -> list[Outdated]:
    """Bring the learner notebooks in line with their sources, and return what was out of date.

    With check=True nothing is written. Otherwise missing and stale learner notebooks are written,
    and stray ones (whose source is gone) are deleted: learner_dir holds generated files only.
    """
    expected = {source.name: learner_text(source) for source in sorted(source_dir.glob("*.ipynb"))}
    present = {path.name for path in learner_dir.glob("*.ipynb")}
    outdated = []
    for name in sorted(expected.keys() | present):
        target = learner_dir / name
        if name not in expected:
            outdated.append(Outdated(target, "stray"))
        elif name not in present:
            outdated.append(Outdated(target, "missing"))
        elif target.read_text(encoding="utf-8") != expected[name]:
            outdated.append(Outdated(target, "stale"))
    if check:
        return outdated
    backups = Backups(learner_dir.parent)
    written = []
    for item in outdated:
        saved = None
        if item.problem != "missing" and _edited(item.path):
            saved = backups.save(f"{learner_dir.name}/{item.path.name}")
        if item.problem == "stray":
            item.path.unlink()
        else:
            learner_dir.mkdir(parents=True, exist_ok=True)
            item.path.write_text(expected[item.path.name], encoding="utf-8")
        written.append(dataclasses.replace(item, backup=saved))
    return written


def _edited(path: Path) -> bool:
    """Whether the file differs from what git's HEAD holds for it: then it holds someone's work."""
    committed = subprocess.run(
        ["git", "show", f"HEAD:./{path.name}"], cwd=path.parent, capture_output=True, timeout=30
    )
    return committed.returncode != 0 or committed.stdout != path.read_bytes()


def learner_text(source: Path) -> str:
    """The learner copy of the solution notebook at `source`, as the exact text of its file."""
    # Imported here: nbformat takes seconds to import, and every other `scalelab` verb would pay it.
    import nbformat
    from nbformat.warnings import MissingIDFieldWarning

    try:
        # nbformat gives a cell without an id a random one; that would make every build differ.
        with warnings.catch_warnings():
            warnings.simplefilter("error", MissingIDFieldWarning)
            solution = nbformat.read(source, as_version=4)
    except MissingIDFieldWarning:
        raise LabError(f"{source.name} has cells without an id: open it in JupyterLab 4 and save it") from None
    except nbformat.reader.NotJSONError:
        raise LabError(f"{source.name} is not a notebook file: restore it from git or save it again") from None
    text = nbformat.writes(learner_notebook(solution, source.name))
    # The same trailing newline that nbformat.write and JupyterLab give a file.
    return text if text.endswith("\n") else text + "\n"


def learner_notebook(solution: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """A copy of `solution` with the solutions replaced, outputs and nbval markers removed."""
    learner = copy.deepcopy(solution)
    for number, cell in enumerate(learner.cells, start=1):
        where = f"{name}, cell {number}"
        if cell.cell_type == "code":
            cell.source = _without_nbval_markers(_replace_solutions(cell.source, CODE_PLACEHOLDER, where))
            cell.outputs = []
            cell.execution_count = None
        elif cell.cell_type == "markdown":
            cell.source = _replace_solutions(cell.source, MARKDOWN_PLACEHOLDER, where)
    return learner


def _replace_solutions(source: str, placeholder: tuple[str, ...], where: str) -> str:
    lines: list[str] = []
    inside = False
    for line in source.split("\n"):
        marker = line.strip()
        if marker == BEGIN_SOLUTION:
            if inside:
                raise LabError(f"{where}: a second `{BEGIN_SOLUTION}` before `{END_SOLUTION}`: close the first block")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            lines.extend(indent + text for text in placeholder)
        elif marker == END_SOLUTION:
            if not inside:
                raise LabError(f"{where}: `{END_SOLUTION}` without `{BEGIN_SOLUTION}`: add the opening line")
            inside = False
        elif not inside:
            lines.append(line)
    if inside:
        raise LabError(f"{where}: `{BEGIN_SOLUTION}` is never closed: add `{END_SOLUTION}` after the solution")
    return "\n".join(lines)


def _without_nbval_markers(source: str) -> str:
    # Matched the way nbval matches them: a comment line, however many #s and spaces.
    def is_marker(line: str) -> bool:
        stripped = line.strip()
        return stripped.startswith("#") and stripped.lstrip("#").strip() in NBVAL_MARKERS

    return "\n".join(line for line in source.split("\n") if not is_marker(line))


def cmd_build(args: argparse.Namespace, settings) -> int:
    outdated = build(check=args.check)
    for item in outdated:
        shown = item.path.relative_to(REPO)
        if args.check:
            print(f"{shown} {PROBLEM_TEXT[item.problem]}: {FIX}", file=sys.stderr)
        else:
            print(f"{'removed' if item.problem == 'stray' else 'wrote'} {shown}")
            if item.backup:
                print(f"  your edited copy is saved in {item.backup.relative_to(REPO)}")
    if not outdated:
        print("the learner notebooks are up to date")
    return 1 if args.check and outdated else 0


def register(verbs: argparse._SubParsersAction) -> None:
    """Add `notebooks build [--check]` to the subcommands of the `scalelab` parser."""
    notebooks = verbs.add_parser("notebooks", help="the lab notebooks (for course authors)")
    actions = notebooks.add_subparsers(dest="notebooks_action", required=True, metavar="ACTION")
    build_verb = actions.add_parser(
        "build", help="generate notebooks/ from solutions/notebooks/ (overwrites the learner copies)"
    )
    build_verb.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 and list each learner notebook that is not current"
    )
    build_verb.set_defaults(func=cmd_build)
