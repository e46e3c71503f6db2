"""The catalogue of labs, read from labs/labs.toml: the one place that says which labs exist.

The lab verbs, the notebook build and the tests all ask this module about labs. Paths that follow
from a lab's id (its README, its solution overlay, its notebooks) are derived here rather than
written in the TOML, so they cannot disagree with the folders.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from scalelab.errors import LabError
from scalelab.paths import REPO

CATALOGUE = REPO / "labs" / "labs.toml"

# The keys of a [[lab]] table and the type of each value. Lists hold strings only.
FIELDS: dict[str, type] = {
    "id": str,
    "alias": str,
    "title": str,
    "available": bool,
    "modules": list,
    "requires": list,
    "notebook": str,
    "check": str,
    "hints": list,
}
# Keys a [[lab]] table may leave out. `formerly` lists the ids a lab had before a course update
# renamed it, so that results recorded under an old id (.lab/progress.json) count for the lab.
OPTIONAL_FIELDS: dict[str, type] = {"formerly": list}
TYPE_NAMES = {str: "a string", bool: "true or false", list: "a list of strings"}

# Files that tools leave next to real ones; they are never part of a solution.
IGNORED_PARTS = {"__pycache__", ".ipynb_checkpoints", ".DS_Store"}


@dataclass(frozen=True)
class Lab:
    id: str
    alias: str
    title: str
    available: bool
    modules: tuple[str, ...]
    requires: tuple[str, ...]
    notebook: str
    check: str
    hints: tuple[str, ...]
    formerly: tuple[str, ...] = ()
    # The repository the lab belongs to: the folder above labs/.
    repo: Path = REPO

    @property
    def recorded_ids(self) -> tuple[str, ...]:
        """Every id this lab's results may be recorded under: its id, then its former ids."""
        return (self.id, *self.formerly)

    @property
    def readme(self) -> Path:
        return self.repo / "labs" / self.id / "README.md"

    @property
    def solution_dir(self) -> Path:
        """The solution overlay: each file in it replaces the file at the same path in the repo."""
        return self.repo / "solutions" / self.id

    @property
    def notebook_source(self) -> Path:
        """The notebook with its solutions; `scalelab notebooks build` makes the learner copy from it."""
        return self.repo / "solutions" / "notebooks" / self.notebook

    @property
    def notebook_learner(self) -> Path:
        return self.repo / "notebooks" / self.notebook

    def overlay(self) -> list[str]:
        """The repo-relative paths (with /) that the solution overlay replaces, sorted."""
        if not self.solution_dir.is_dir():
            return []
        files = (path for path in self.solution_dir.rglob("*") if path.is_file())
        relative = (path.relative_to(self.solution_dir) for path in files)
        return sorted(path.as_posix() for path in relative if not IGNORED_PARTS & set(path.parts))


def load(path: Path = CATALOGUE) -> list[Lab]:
    """Every lab of the catalogue at `path`, in course order. A malformed catalogue raises LabError."""
    where = path.relative_to(path.parents[1]).as_posix()
    try:
        with path.open("rb") as file:
            document = tomllib.load(file)
    except FileNotFoundError:
        raise LabError(f"the lab catalogue {path} is missing: restore it with `git checkout -- {where}`") from None
    except tomllib.TOMLDecodeError as exc:
        raise LabError(f"{where} is not valid TOML ({exc}): fix that line") from None
    unknown = document.keys() - {"lab"}
    if unknown:
        raise LabError(f"{where} has unknown tables {', '.join(sorted(unknown))}: put every lab in a [[lab]] table")
    tables = document.get("lab")
    if not isinstance(tables, list) or not tables:
        raise LabError(f"{where} lists no labs: add a [[lab]] table for each lab")
    labs = [_lab(table, position, where, repo=path.parents[1]) for position, table in enumerate(tables)]
    _check_references(labs, where)
    return labs


def all_labs() -> list[Lab]:
    return load(CATALOGUE)


def builds_on(lab: Lab, labs: list[Lab] | None = None) -> str:
    """The course order, said once for the README's first lines, `scalelab hint` and a failing check:
    the labs this one needs done first (its `requires`)."""
    labs = labs if labs is not None else all_labs()
    required = [each for each in labs if each.id in lab.requires]
    if not required:
        return "Builds on: no other lab."
    names = [f"Lab {each.alias} ({each.title})" for each in required]
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    last = required[-1].alias
    solutions = "its solution" if len(required) == 1 else "their solutions"
    return f"Builds on: {listed}. Do {'it' if len(required) == 1 else 'them'} first, or `scalelab solve {last}` applies {solutions}."


class UnknownLab(LabError):
    """A lab id or alias the catalogue does not have: a command that cannot run (exit 2)."""

    exit_code = 2


def find(lab_id_or_alias: str) -> Lab:
    labs = all_labs()
    for lab in labs:
        if lab_id_or_alias in (lab.id, lab.alias):
            return lab
    # Aliases are the lab positions 0..n (tests/kit/test_catalogue.py holds the catalogue to that).
    choices = f"{labs[0].alias}-{labs[-1].alias} or {', '.join(lab.id for lab in labs)}"
    raise UnknownLab(f"unknown lab {lab_id_or_alias!r}: choose one of {choices}")


def _lab(table: dict, position: int, where: str, repo: Path) -> Lab:
    name = repr(table.get("id", f"number {position}"))
    missing = FIELDS.keys() - table.keys()
    if missing:
        raise LabError(f"{where}: lab {name} lacks {', '.join(sorted(missing))}: add them (see the top of the file)")
    unknown = table.keys() - FIELDS.keys() - OPTIONAL_FIELDS.keys()
    if unknown:
        keys = ", ".join(sorted(unknown))
        raise LabError(f"{where}: lab {name} has unknown keys {keys}: remove them or fix their spelling")
    for key, kind in {**FIELDS, **OPTIONAL_FIELDS}.items():
        value = table.get(key, kind())
        if not isinstance(value, kind) or (kind is list and not all(isinstance(item, str) for item in value)):
            raise LabError(f"{where}: lab {name}: make {key} {TYPE_NAMES[kind]}")
    values = {key: tuple(value) if isinstance(value, list) else value for key, value in table.items()}
    return Lab(**values, repo=repo)


def _check_references(labs: list[Lab], where: str) -> None:
    """Ids and aliases are unique, a lab requires only labs listed before it, and an old id
    (`formerly`) belongs to one lab only and is no lab's id now."""
    ids: set[str] = set()
    aliases: set[str] = set()
    for lab in labs:
        if lab.id in ids:
            raise LabError(f"{where}: two labs have the id {lab.id!r}: give each lab its own id")
        if lab.alias in aliases:
            raise LabError(f"{where}: two labs have the alias {lab.alias!r}: give each lab its own alias")
        for required in lab.requires:
            if required not in ids:
                raise LabError(
                    f"{where}: lab {lab.id!r} requires {required!r}, which is not a lab above it: "
                    "require only earlier labs, by id"
                )
        ids.add(lab.id)
        aliases.add(lab.alias)
    former: set[str] = set()
    for lab in labs:
        for old in lab.formerly:
            if old in ids or old in former:
                raise LabError(
                    f"{where}: lab {lab.id!r} was formerly {old!r}, but that id is another lab's, now or formerly: "
                    "an old id can count for one lab only, so remove it from formerly"
                )
            former.add(old)
