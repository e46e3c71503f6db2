"""`scalelab solve` and `reset`: move a lab's modules between broken (git's HEAD) and solved (its overlay).

Where the versions of a module come from:
- The solution of a lab is its overlay, solutions/<id>/, which mirrors repository paths (see
  catalogue.Lab.overlay). `solve` copies the overlays of the labs it requires first (in course order),
  then its own, so when two labs solve the same file the later lab's version wins.
- The pristine broken version of a module is the one in git's HEAD (`git show HEAD:<path>`). So
  `reset` undoes what is not committed. If the learner committed a lab's solution, HEAD is no longer
  broken: `reset` then says so, and which git commands bring the course's version back, instead of
  pretending to have reset anything. (Edits the learner committed that are not a solution cannot be
  told apart from the course's own history; git keeps them either way.)

Nothing the learner wrote is lost. Before either verb overwrites a file whose content is neither the
pristine version nor any lab's solution of it (so: the learner's own edits), the file is copied to
.lab/backups/<timestamp>/<path>, and the verb says where.

The files are changed on disk only. The caller (cli.py) restarts what reads them: see `restart_services`.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from scalelab.course import catalogue
from scalelab.course.catalogue import Lab
from scalelab.errors import LabError
from scalelab.stack import Stack

Say = Callable[[str], None]

# Which services read the files under each folder when they start: a change there needs them
# restarted. In order: Redis first, so that restarted apps find their session store up. The Celery
# worker runs the app's code too.
READERS = {"infra/redis/": ("redis",), "broken_app/": ("app1", "app2", "worker")}


@dataclass
class Change:
    path: str  # repo-relative, with /
    action: str  # what happened, for the user: "solution of 01-connection-pool", "restored from git", ...
    changed: bool  # False when the file already had the wanted content
    backup: Path | None = None  # where the learner's edits were saved


@dataclass
class Outcome:
    changes: list[Change] = field(default_factory=list)
    # Problems that did not stop the other files (e.g. a committed solution reset cannot undo).
    problems: list[str] = field(default_factory=list)

    @property
    def changed_paths(self) -> list[str]:
        return [change.path for change in self.changes if change.changed]

    @property
    def services_to_restart(self) -> list[str]:
        return [
            name
            for folder, names in READERS.items()
            if any(path.startswith(folder) for path in self.changed_paths)
            for name in names
        ]


# --- Git: the pristine broken modules --------------------------------------------------------


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess:
    if shutil.which("git") is None:
        raise LabError(
            "git is not installed, and reset takes the broken modules from git: "
            "run `sudo apt-get install -y git`"
        )
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True)


def require_git(repo: Path) -> None:
    if _git(repo, "rev-parse", "--verify", "--quiet", "HEAD").returncode != 0:
        raise LabError(
            f"{repo} is not a git clone with a commit, and reset takes the broken modules from git's HEAD: "
            "work in a `git clone` of the course"
        )


def pristine(repo: Path, path: str) -> bytes | None:
    """The file as in git's HEAD; None if HEAD has no such file. Call require_git first."""
    # "./" makes the path relative to `repo`, even when the course is a folder of a bigger repository.
    result = _git(repo, "show", f"HEAD:./{path}")
    return result.stdout if result.returncode == 0 else None


def _pristine_or_none(repo: Path, path: str) -> bytes | None:
    """For solve, where git is only a help: None if it cannot say."""
    try:
        return pristine(repo, path)
    except LabError:
        return None


# --- Files -------------------------------------------------------------------------------------


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def solution_versions(labs: Iterable[Lab], path: str) -> dict[bytes, str]:
    """Every lab's solution of `path`: content -> the id of the (last) lab whose overlay has it."""
    versions = {}
    for lab in labs:
        content = _read(lab.solution_dir / path)
        if content is not None:
            versions[content] = lab.id
    return versions


class Backups:
    """One folder .lab/backups/<timestamp>/ per command, made only when something is saved."""

    def __init__(self, repo: Path):
        self.repo = repo
        self.folder: Path | None = None

    def save(self, path: str) -> Path:
        if self.folder is None:
            root = self.repo / ".lab" / "backups"
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
            folder, n = root / stamp, 1
            while folder.exists():  # two commands in one second
                n += 1
                folder = root / f"{stamp}-{n}"
            self.folder = folder
        target = self.folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(self.repo / path, target)
        return target


def _write(repo: Path, path: str, content: bytes | None) -> None:
    """Write (or, for None, delete) a file, and drop its stale bytecode.

    A .pyc records its source's mtime in whole seconds, and its size: a solve and a reset within one
    second, of files of equal size, would otherwise leave Python running the old code.
    """
    target = repo / path
    if content is None:
        target.unlink(missing_ok=True)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    if target.suffix == ".py":
        for cached in (target.parent / "__pycache__").glob(f"{target.stem}.*.pyc"):
            cached.unlink(missing_ok=True)


def _relative(repo: Path, path: Path) -> str:
    try:
        return path.relative_to(repo).as_posix()
    except ValueError:
        return str(path)


# --- Solve -------------------------------------------------------------------------------------


def solve_order(lab: Lab, labs: list[Lab]) -> list[Lab]:
    """The labs whose overlays `solve lab` applies: everything it requires (transitively), in course
    order, then the lab itself."""
    by_id = {each.id: each for each in labs}
    needed: set[str] = set()
    pending = [lab.id]
    while pending:
        current = pending.pop()
        if current not in needed:
            needed.add(current)
            pending.extend(by_id[current].requires)
    return [each for each in labs if each.id in needed]


def solve(lab: Lab, labs: list[Lab] | None = None) -> Outcome:
    """Copy the overlays of `lab` and the labs it requires over the working tree."""
    labs = labs if labs is not None else catalogue.load(lab.repo / "labs" / "labs.toml")
    repo = lab.repo
    if not lab.overlay():
        if not lab.modules:
            raise LabError(f"lab {lab.id} has no broken modules, so there is nothing to solve: see its README")
        raise LabError(f"lab {lab.id} has no solution yet (solutions/{lab.id}/ is empty): it is still being written")
    # The final content of each path: the last lab in course order that solves it wins.
    wanted: dict[str, tuple[bytes, str]] = {}
    for each in solve_order(lab, labs):
        overlay = each.overlay()
        if not overlay:
            if each.modules:
                raise LabError(
                    f"lab {lab.id} builds on lab {each.id}, which has no solution yet: "
                    f"solve {each.id} by hand first, or wait for its solution"
                )
            continue
        for path in overlay:
            wanted[path] = ((each.solution_dir / path).read_bytes(), each.id)
    outcome, backups = Outcome(), Backups(repo)
    for path, (content, source) in wanted.items():
        current = _read(repo / path)
        if current == content:
            outcome.changes.append(Change(path, f"already the solution of {source}", changed=False))
            continue
        backup = None
        known = solution_versions(labs, path)
        if current is not None and current not in known and current != _pristine_or_none(repo, path):
            backup = backups.save(path)
        _write(repo, path, content)
        outcome.changes.append(Change(path, f"solution of {source}", changed=True, backup=backup))
    return outcome


def is_pristine(lab: Lab) -> bool:
    """Is every module of the lab as in git's HEAD, i.e. still broken?"""
    require_git(lab.repo)
    return all(_read(lab.repo / path) == pristine(lab.repo, path) for path in lab.modules)


# --- Reset -------------------------------------------------------------------------------------


def reset(selected: list[Lab], labs: list[Lab] | None = None) -> Outcome:
    """Put the modules of the selected labs (and any file their overlays add) back as in git's HEAD."""
    if not selected:
        return Outcome()
    repo = selected[0].repo
    labs = labs if labs is not None else catalogue.load(repo / "labs" / "labs.toml")
    require_git(repo)
    paths: list[str] = []
    for lab in selected:
        for path in (*lab.modules, *lab.overlay()):
            if path not in paths:  # a module is usually in the overlay too: list it once
                paths.append(path)
    outcome, backups = Outcome(), Backups(repo)
    for path in paths:
        original = pristine(repo, path)
        current = _read(repo / path)
        known = solution_versions(labs, path)
        if original is None and any(path in lab.modules for lab in labs):
            outcome.problems.append(f"{path} is not in git's HEAD, so there is no broken version of it: commit it")
            continue
        if original in known:
            outcome.problems.append(
                f"{path} as committed in git's HEAD is the solution of {known[original]}, so reset cannot "
                f"restore it: find the course's version with `git log -- {path}` and run "
                f"`git checkout <that commit> -- {path}`"
            )
            continue
        if current == original:
            outcome.changes.append(Change(path, "already as in git", changed=False))
            continue
        backup = backups.save(path) if current is not None and current not in known else None
        _write(repo, path, original)
        action = "restored from git" if original is not None else "removed (not in git)"
        outcome.changes.append(Change(path, action, changed=True, backup=backup))
    return outcome


# --- Saying what happened, and restarting ------------------------------------------------------


def report(outcome: Outcome, repo: Path, say: Say) -> None:
    width = max((len(change.path) for change in outcome.changes), default=0)
    for change in outcome.changes:
        say(f"  {change.path:<{width}}  {change.action}")
        if change.backup is not None:
            say(f"  {'':<{width}}  your edits are saved in {_relative(repo, change.backup)}")


def restart_services(outcome: Outcome, running: Stack, say: Say) -> None:
    """Make the running stack use the changed files: restart the services that read them (both modes:
    Docker mode's containers run the mounted repo, and render infra/ again when they restart)."""
    names = outcome.services_to_restart
    if not names:
        return
    up = [name for name in names if running.running(name)]
    if not up:
        say(f"{_and(names)} are not running: `make up` starts them with these files")
        return
    say(f"restarting {_and(up)}…")
    running.restart(up)
    say(f"{_and(up)} restarted, healthy")


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
