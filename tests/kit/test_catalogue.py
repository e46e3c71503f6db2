"""The lab catalogue (labs/labs.toml) and the files it promises, in the spirit of rustlings' `dev check`.

Structure is checked for every lab; completeness (README, notebooks, hints, check, solution) only for
labs marked `available = true`, since later labs are written one at a time.
"""

from __future__ import annotations

import importlib
import inspect
import json

import pytest

from scalelab.course import catalogue, overlays
from scalelab.errors import LabError
from scalelab.paths import REPO

LABS = catalogue.all_labs()
AVAILABLE = [lab for lab in LABS if lab.available]


def by_id(lab: catalogue.Lab) -> str:
    return lab.id


# --- The real catalogue ---------------------------------------------------------------------------


def test_labs_are_in_course_order_and_aliases_are_their_positions():
    for position, lab in enumerate(LABS):
        assert lab.id.startswith(f"{position:02d}-"), f"{lab.id} is lab number {position} in labs.toml"
        assert lab.alias == str(position), f"{lab.id}: make its alias {position}"


@pytest.mark.parametrize("lab", LABS, ids=by_id)
def test_every_listed_module_exists(lab):
    missing = [module for module in lab.modules if not (REPO / module).is_file()]
    assert not missing, f"{lab.id} lists modules that are not in the repo: {missing}"


@pytest.mark.parametrize("lab", AVAILABLE, ids=by_id)
def test_available_lab_is_complete(lab):
    problems = [
        f"{path.relative_to(REPO)} is missing"
        for path in (lab.readme, lab.notebook_source, lab.notebook_learner)
        if not path.is_file()
    ]
    if len(lab.hints) < 3:
        problems.append(f"it has {len(lab.hints)} hints: write three levels")
    try:
        importlib.import_module(lab.check)
    except ImportError as exc:
        problems.append(f"its check {lab.check} does not import: {exc}")
    unsolved = sorted(set(lab.modules) - set(lab.overlay()))
    if unsolved:
        problems.append(f"solutions/{lab.id}/ has no solution for {', '.join(unsolved)}")
    assert not problems, f"lab {lab.id}: " + "; ".join(problems)


def test_no_stray_lab_files():
    """Every file under labs/, solutions/ and notebooks/ belongs to a lab of the catalogue.

    Solution overlays may replace only their lab's modules, which exist (see above), so every
    overlay file replaces a file that exists.
    """
    ids = {lab.id for lab in LABS}
    notebook_names = {lab.notebook for lab in LABS}
    stray = [
        *unknown_entries("labs", ids | {"labs.toml"}),
        *unknown_entries("solutions", ids | {"notebooks"}),
        *unknown_entries("solutions/notebooks", notebook_names),
        *unknown_entries("notebooks", notebook_names),
    ]
    for lab in LABS:
        stray += [f"solutions/{lab.id}/{path}" for path in lab.overlay() if path not in lab.modules]
    assert not stray, f"files no lab in labs/labs.toml knows about: {stray}"


def unknown_entries(folder: str, known: set[str]) -> list[str]:
    path = REPO / folder
    if not path.is_dir():
        return []
    return [
        f"{folder}/{entry.name}"
        for entry in sorted(path.iterdir())
        if entry.name not in known and entry.name not in catalogue.IGNORED_PARTS
    ]


def test_find_by_id_and_by_alias():
    assert catalogue.find("01-connection-pool") == catalogue.find("1")
    assert catalogue.find("0").title == "Meet Chirp"


def test_find_unknown_lab_names_the_choices():
    with pytest.raises(LabError) as raised:
        catalogue.find("99")
    message = str(raised.value)
    assert message.startswith(f"unknown lab '99': choose one of 0-{len(LABS) - 1} or 00-meet-chirp, 01-connection-pool,")
    assert "\n" not in message


def test_derived_paths():
    lab = catalogue.find("1")
    assert lab.readme == REPO / "labs/01-connection-pool/README.md"
    assert lab.solution_dir == REPO / "solutions/01-connection-pool"
    assert lab.notebook_source == REPO / "solutions/notebooks/01-connection-pool.ipynb"
    assert lab.notebook_learner == REPO / "notebooks/01-connection-pool.ipynb"


# --- Validation, on small catalogues in a temporary repo ------------------------------------------


def lab_table(lab_id: str, alias: str, **changes) -> dict:
    table = {
        "id": lab_id,
        "alias": alias,
        "title": f"Lab {alias}",
        "available": False,
        "modules": [],
        "requires": [],
        "notebook": f"{lab_id}.ipynb",
        "check": f"checks.lab{alias}",
        "hints": ["nudge", "more", "nearly the answer"],
    }
    table.update(changes)
    return {key: value for key, value in table.items() if value is not None}


def write_catalogue(tmp_path, *tables: dict):
    # JSON strings, lists and booleans are valid TOML values.
    text = "\n".join(
        "[[lab]]\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in table.items()) for table in tables
    )
    path = tmp_path / "labs" / "labs.toml"
    path.parent.mkdir()
    path.write_text(text)
    return path


def test_a_valid_catalogue_loads_with_paths_in_its_repo(tmp_path):
    path = write_catalogue(tmp_path, lab_table("00-a", "0"), lab_table("01-b", "1", requires=["00-a"]))
    first, second = catalogue.load(path)
    assert second.requires == ("00-a",)
    assert first.solution_dir == tmp_path / "solutions" / "00-a"
    assert first.overlay() == []


@pytest.mark.parametrize(
    ("tables", "expected"),
    [
        ([lab_table("00-a", "0"), lab_table("00-a", "1")], "two labs have the id '00-a'"),
        ([lab_table("00-a", "0"), lab_table("01-b", "0")], "two labs have the alias '0'"),
        ([lab_table("00-a", "0", requires=["01-b"]), lab_table("01-b", "1")], "requires '01-b', which is not a lab"),
        ([lab_table("00-a", "0", hints=None)], "lacks hints"),
        ([lab_table("00-a", "0", hint=["typo"])], "unknown keys hint"),
        ([lab_table("00-a", "0", available="yes")], "make available true or false"),
        ([lab_table("00-a", "0", modules=[1])], "make modules a list of strings"),
    ],
)
def test_a_malformed_catalogue_is_refused_in_one_line(tmp_path, tables, expected):
    path = write_catalogue(tmp_path, *tables)
    with pytest.raises(LabError, match=expected) as raised:
        catalogue.load(path)
    assert "\n" not in str(raised.value)


def test_invalid_toml_names_the_line(tmp_path):
    path = tmp_path / "labs" / "labs.toml"
    path.parent.mkdir()
    path.write_text("[[lab]]\nid = \n")
    with pytest.raises(LabError, match=r"labs/labs.toml is not valid TOML .*line 2"):
        catalogue.load(path)


def test_overlay_lists_solution_files_but_not_caches(tmp_path):
    path = write_catalogue(tmp_path, lab_table("00-a", "0", modules=["app/db.py"]))
    solution = tmp_path / "solutions" / "00-a" / "app"
    (solution / "__pycache__").mkdir(parents=True)
    (solution / "db.py").write_text("# fixed\n")
    (solution / "__pycache__" / "db.cpython-311.pyc").write_bytes(b"")
    (lab,) = catalogue.load(path)
    assert lab.overlay() == ["app/db.py"]


# --- What the checks above leave to the stack (docs/maintainers.md, "Which test catches what") -------


@pytest.mark.parametrize("lab", AVAILABLE, ids=by_id)
def test_available_lab_s_check_has_a_run_function(lab):
    """`scalelab check` calls run(settings); a check module without it fails only on the running stack."""
    from scalelab.course.checks import runner

    try:
        module = runner.load_check(lab)
    except runner.CheckUnavailable as exc:
        pytest.fail(str(exc))
    parameters = inspect.signature(module.run).parameters
    assert len(parameters) == 1, f"lab {lab.id}: {lab.check}.run takes {list(parameters)}: make it run(settings)"


def broken_version(path: str) -> bytes | None:
    """The broken module as git's HEAD has it (a checkout may be solved), else as the working tree has it
    (a lab not committed yet); None if there is none (test_every_listed_module_exists says so)."""
    from scalelab.course import overlays

    try:
        committed = overlays.pristine(REPO, path)
    except LabError:  # no git
        committed = None
    if committed is not None:
        return committed
    return (REPO / path).read_bytes() if (REPO / path).is_file() else None


@pytest.mark.parametrize("lab", [lab for lab in LABS if lab.overlay()], ids=by_id)
def test_every_solution_file_differs_from_the_broken_module(lab):
    """An overlay file equal to the module it replaces solves nothing: a copy never edited, or a solution
    committed as the broken module (after `scalelab solve`)."""
    unchanged = [path for path in lab.overlay() if (lab.solution_dir / path).read_bytes() == broken_version(path)]
    assert not unchanged, f"solutions/{lab.id}/ holds the broken version of {', '.join(unchanged)}: write the fix there"


# --- The course order, said where a learner looks ---------------------------------------------------


@pytest.mark.parametrize("lab", AVAILABLE, ids=by_id)
def test_each_readme_opens_with_the_labs_it_builds_on(lab):
    assert f"> {catalogue.builds_on(lab)}" in lab.readme.read_text().splitlines()[:4]


@pytest.mark.parametrize("lab", [lab for lab in LABS if lab.requires], ids=by_id)
def test_solving_the_last_lab_required_solves_every_lab_required(lab):
    """builds_on says `scalelab solve <the last lab required>` applies them all."""
    last = [each for each in LABS if each.id in lab.requires][-1]
    assert {each.id for each in overlays.solve_order(last, LABS)} == set(lab.requires)


def test_the_readme_names_each_lab_by_its_catalogue_title():
    readme = (REPO / "README.md").read_text()
    assert [lab.alias for lab in LABS if f"| {lab.alias} {lab.title} |" not in readme] == []
