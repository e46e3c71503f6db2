"""The design's own rules, kept by tests (click's and rustlings' habit; docs/maintainers.md explains them).

Layers: the course (scalelab/course) builds on the kit (scalelab/kit), which builds on the stack
(scalelab/stack); scalelab/errors.py and scalelab/paths.py are shared by all, and cli.py is on top.
- the app (broken_app, solutions) and the toolkit never import each other;
- the stack imports neither the kit nor the course, and the kit does not import the course;
- outside scalelab/stack, code reaches the stack through its interface (scalelab/stack/__init__.py),
  never a backend (scalelab.stack.native, scalelab.stack.docker);
- notebooks import the kit only.
And every module a lab lists in labs/labs.toml opens by saying why it is fragile and which lab fixes it.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import re
import sys
import tomllib
from pathlib import Path

import pytest

from scalelab.course import catalogue
from scalelab.paths import REPO

TOOLKIT = "scalelab"
BACKENDS = ("scalelab.stack.native", "scalelab.stack.docker")

# (the files under this path, what they must not import, why): the modules as prefixes of dotted names.
RULES = [
    ("broken_app/", ("scalelab",), "the app runs without the toolkit"),
    ("solutions/", ("scalelab",), "a lab's overlay is app code"),
    ("scalelab/", ("broken_app",), "the toolkit drives the app from outside"),
    ("scalelab/stack/", ("scalelab.kit", "scalelab.course", "scalelab.cli"), "the stack is the bottom layer"),
    ("scalelab/kit/", ("scalelab.course", "scalelab.cli", *BACKENDS), "the kit is below the course, and uses the stack's interface"),
    ("scalelab/course/", ("scalelab.cli", *BACKENDS), "the course uses the stack's interface"),
    ("scalelab/cli.py", BACKENDS, "the command uses the stack's interface"),
    ("benchmarks/", BACKENDS, "benchmarks use the stack's interface"),
]


def imports(source: str) -> set[str]:
    """The absolute modules `source` imports (a relative import stays inside its own package)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def forbidden(source: str, banned: tuple[str, ...]) -> list[str]:
    return sorted(name for name in imports(source) if any(name == ban or name.startswith(ban + ".") for ban in banned))


# A benchmark of one backend may look inside it.
EXEMPT = {"benchmarks/stack.py": "it measures the native backend's own start-up, cold (its data deleted) and warm"}


def violations(files: dict[str, str]) -> list[str]:
    """One line per import that breaks a rule, for files given as repo-relative path -> source."""
    lines = []
    for where, banned, why in RULES:
        for path, source in files.items():
            if path.startswith(where) and path not in EXEMPT:
                lines += [f"{path} imports {name}: {why}" for name in forbidden(source, banned)]
    return lines


def repo_sources() -> dict[str, str]:
    folders = ("broken_app", "solutions", "scalelab", "benchmarks")
    return {
        str(path.relative_to(REPO)): path.read_text()
        for folder in folders
        for path in sorted((REPO / folder).rglob("*.py"))
        if ".ipynb_checkpoints" not in path.parts
    }


def test_no_module_imports_across_the_layers():
    assert violations(repo_sources()) == []


@pytest.mark.parametrize(
    "path, source",
    [
        ("broken_app/db.py", "from scalelab.kit import load"),
        ("solutions/01-connection-pool/broken_app/db.py", "import scalelab.paths"),
        ("scalelab/kit/load.py", "from scalelab.course import catalogue"),
        ("scalelab/kit/clients.py", "import broken_app.seed"),
        ("scalelab/stack/health.py", "from scalelab.kit import prom"),
        ("scalelab/stack/native/process.py", "from scalelab.course.checks import runner"),
        ("scalelab/course/checks/lab9.py", "from scalelab.stack.native import process"),
        ("scalelab/course/drill/causes.py", "from scalelab.stack import docker"),
        ("scalelab/cli.py", "from scalelab.stack.native.packages import ensure"),
        ("benchmarks/pool.py", "import scalelab.stack.native.lifecycle"),
    ],
)
def test_the_rule_catches_an_import_up_the_layers(path, source):
    assert violations({path: source}), f"{path}: `{source}` should break a rule"


def test_the_rule_lets_each_layer_use_the_one_below():
    allowed = {
        "scalelab/course/checks/lab9.py": "from scalelab.kit import clients\nfrom scalelab.stack import current",
        "scalelab/kit/load.py": "from scalelab.stack import settings\nfrom scalelab.errors import LabError",
        "scalelab/stack/native/__init__.py": "from scalelab.stack.native import process",
        "broken_app/api.py": "from . import db",
    }
    assert violations(allowed) == []


def notebook_imports(path: Path) -> set[str]:
    cells = json.loads(path.read_text())["cells"]
    source = "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "code")
    # IPython's magics and shell lines are not Python: leave them out.
    return imports("\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))))


NOTEBOOKS = sorted((REPO / "solutions" / "notebooks").glob("*.ipynb")) + sorted((REPO / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: str(path.relative_to(REPO)))
def test_notebooks_import_the_kit_only(path):
    toolkit = {name for name in notebook_imports(path) if name == TOOLKIT or name.startswith(TOOLKIT + ".")}
    outside = sorted(name for name in toolkit if name != "scalelab.kit" and not name.startswith("scalelab.kit."))
    assert toolkit and not outside, f"{path.name} imports {outside}: import what it needs from scalelab.kit"


# --- The fragile modules --------------------------------------------------------------------------------

# "Fragile on purpose (Lab 1" in a docstring, or in the comment a configuration file opens with.
FRAGILE = re.compile(r"Fragile on purpose \(Lab (\d+)\b")
LISTED = [(lab, module) for lab in catalogue.all_labs() for module in lab.modules]


def opening_text(path: Path) -> str:
    """A Python module's docstring, or the comment lines another file opens with."""
    text = path.read_text()
    if path.suffix == ".py":
        return ast.get_docstring(ast.parse(text)) or ""
    return "\n".join(line.lstrip("# ") for line in text.splitlines()[:20] if line.startswith("#"))


@pytest.mark.parametrize("lab, module", LISTED, ids=lambda value: getattr(value, "alias", value))
def test_every_listed_module_says_why_it_is_fragile_and_which_lab_fixes_it(lab, module):
    found = FRAGILE.search(opening_text(REPO / module))
    assert found, f'{module} (lab {lab.alias}) must open by saying why it is fragile: "Fragile on purpose (Lab {lab.alias}): ..."'
    assert found.group(1) == lab.alias, f"{module} says Lab {found.group(1)}, but labs.toml lists it under lab {lab.alias}"


def test_the_app_package_names_every_fragile_module_with_its_lab():
    docstring = " ".join((ast.get_docstring(ast.parse((REPO / "broken_app" / "__init__.py").read_text())) or "").split())
    for lab, module in LISTED:
        if module.startswith("broken_app/"):
            name = Path(module).name
            named = re.search(rf"{re.escape(name)}[^()]*\(Lab {lab.alias}\)", docstring)
            assert named, f"broken_app/__init__.py's docstring does not name {name} under (Lab {lab.alias})"


# --- What the command needs to run -----------------------------------------------------------------------


def reachable_modules(start: list[str]) -> set[str]:
    """The toolkit's modules that `start` imports, directly or not, lazily (inside a function) or not."""
    seen, todo = set(), list(start)
    while todo:
        name = todo.pop()
        path = REPO / Path(*name.split("."))
        path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
        if name in seen or not path.exists():
            continue
        seen.add(name)
        todo += [imported for imported in imports(path.read_text()) if imported.startswith(TOOLKIT + ".")]
        todo += [name.rsplit(".", 1)[0]] if "." in name else []  # a module's package runs first
    return seen


def canonical(requirement: str) -> str:
    """"prometheus_client>=0.20" -> "prometheus-client" (PEP 503's normal form of the name)."""
    return re.sub(r"[-_.]+", "-", re.split(r"[<>=!~\[ ;]", requirement.strip())[0]).lower()


def test_what_the_command_and_its_checks_import_is_installed_with_it():
    """`pip install .` must be enough for every verb and check: the dependency groups (notebooks, test)
    are for the notebooks and the suite. A library the command imports belongs in [project] dependencies."""
    distributions = importlib.metadata.packages_distributions()
    with open(REPO / "pyproject.toml", "rb") as file:
        declared = {canonical(spec) for spec in tomllib.load(file)["project"]["dependencies"]}
    # What a declared library requires comes with it (boto3 brings botocore).
    requires = [spec for name in list(declared) for spec in importlib.metadata.requires(name) or []]
    declared |= {canonical(spec) for spec in requires if "extra ==" not in spec}
    modules = reachable_modules(["scalelab.cli", *(lab.check for lab in catalogue.all_labs())])
    missing = set()
    for module in modules:
        path = REPO / Path(*module.split("."))
        source = (path / "__init__.py" if path.is_dir() else path.with_suffix(".py")).read_text()
        for name in imports(source):
            top = name.split(".")[0]
            for distribution in distributions.get(top, []):
                if canonical(distribution) not in declared and top not in (TOOLKIT, *sys.stdlib_module_names):
                    missing.add(f"{module} imports {top} ({distribution})")
    assert not missing, sorted(missing)
