"""`scalelab progress`: each lab passed, failed or not started, read from .lab/progress.json.

The summaries use the real catalogue's first labs (a renamed lab is one of them with `formerly` set).
`formerly` itself is checked on small catalogues, made as test_catalogue.py makes them. The command
runs in a temporary course (SCALELAB_REPO) with the real catalogue and a progress file written here.
Nothing needs the stack.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_catalogue import lab_table, write_catalogue  # the synthetic catalogues of the catalogue's own tests

from scalelab import paths
from scalelab.course import catalogue, progress
from scalelab.errors import LabError
from scalelab.paths import REPO

INTRO, POOL = catalogue.all_labs()[:2]


def result(passed: bool, time: str) -> dict:
    return {"passed": passed, "time": time, "measurements": {"error_rate": 0.0}}


def document(**labs: list[dict]) -> dict:
    return {"version": 1, "labs": labs}


def write(path: Path, content: dict | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


# --- Summaries ------------------------------------------------------------------------------------


def test_before_the_first_check_every_lab_is_not_started(tmp_path):
    statuses = progress.summary([INTRO, POOL], progress.read(tmp_path / "progress.json"))
    assert [status.status for status in statuses] == ["not started", "not started"]
    assert all(status.last_check is None and status.checks == 0 for status in statuses)


def test_the_latest_check_decides_and_the_last_pass_is_kept():
    recorded = document(
        **{
            INTRO.id: [result(True, "2025-03-01T09:00:00+00:00")],
            # Out of order on purpose: the time decides, not the position in the file.
            POOL.id: [result(False, "2025-03-01T11:00:00+00:00"), result(True, "2025-03-01T10:00:00+00:00")],
        }
    )
    intro, pool = progress.summary([INTRO, POOL], recorded)
    assert (intro.status, intro.last_check, intro.checks) == ("passed", "2025-03-01T09:00:00+00:00", 1)
    assert (pool.status, pool.last_check, pool.checks) == ("failed", "2025-03-01T11:00:00+00:00", 2)
    assert pool.last_passed == "2025-03-01T10:00:00+00:00"


def test_results_under_a_former_id_count_for_the_renamed_lab():
    renamed = dataclasses.replace(POOL, id="01-pools", formerly=(POOL.id, "01-pool-draft"))
    recorded = document(
        **{
            POOL.id: [result(True, "2025-03-01T10:00:00+00:00")],
            "01-pool-draft": [result(False, "2025-02-01T10:00:00+00:00")],
            "01-pools": [result(False, "2025-03-02T10:00:00+00:00")],
        }
    )
    (status,) = progress.summary([renamed], recorded)
    assert (status.status, status.checks, status.last_passed) == ("failed", 3, "2025-03-01T10:00:00+00:00")


def test_results_under_unknown_ids_are_ignored_and_kept_in_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "STATE", tmp_path)  # and so no classroom is joined
    path = write(tmp_path / "progress.json", document(**{"07-gone": [result(True, "2024-01-01T00:00:00+00:00")]}))
    progress.record(INTRO, True, {"status": 200}, path)
    kept = progress.read(path)
    assert kept["labs"]["07-gone"] == [result(True, "2024-01-01T00:00:00+00:00")]
    intro, pool = progress.summary([INTRO, POOL], kept)
    assert (intro.status, pool.status) == ("passed", "not started")


def test_an_entry_that_is_not_a_result_is_skipped():
    recorded = document(**{INTRO.id: ["hand-edited", {"passed": "yes"}, result(False, "2025-03-01T09:00:00+00:00")]})
    (intro,) = progress.summary([INTRO], recorded)
    assert (intro.status, intro.checks) == ("failed", 1)


@pytest.mark.parametrize("content", ["{not json", "[]", '{"version": 1}'])
def test_an_unreadable_progress_file_is_one_line_naming_the_fix(tmp_path, content):
    path = write(tmp_path / "progress.json", content)
    with pytest.raises(LabError, match=r"is not readable progress .*the next `scalelab check` keeps it aside") as raised:
        progress.read(path)
    assert "\n" not in str(raised.value)


def test_json_has_every_lab_and_the_count():
    statuses = progress.summary([INTRO, POOL], document(**{INTRO.id: [result(True, "2025-03-01T09:00:00+00:00")]}))
    report = progress.as_json(statuses)
    assert (report["passed"], report["total"]) == (1, 2)
    assert report["labs"][0] == {
        "id": INTRO.id,
        "alias": INTRO.alias,
        "title": INTRO.title,
        "available": INTRO.available,
        "status": "passed",
        "last_check": "2025-03-01T09:00:00+00:00",
        "last_passed": "2025-03-01T09:00:00+00:00",
        "checks": 1,
        "edited": None,  # asked only by `scalelab progress --json`
    }


def test_the_table_is_aligned_and_counts_the_passed_labs():
    being_written = dataclasses.replace(POOL, available=False)
    statuses = progress.summary([INTRO, being_written], document(**{INTRO.id: [result(True, "2025-03-01T09:00:00+00:00")]}))
    header, intro, pool, total = progress.table(statuses).splitlines()
    for column in ("title", "status", "last check"):
        start = header.index(column)
        assert intro[start - 2 : start] == "  " and intro[start] != " ", (column, intro)
    assert re.search(r"  passed +2025-03-0[12] \d\d:\d\d$", intro), intro  # local time
    assert pool.endswith("not started  (still being written)")
    assert total == "1 of 2 labs passed"
    assert not any(line.endswith(" ") for line in (header, intro, pool))


# --- `formerly` in the catalogue --------------------------------------------------------------------

def test_formerly_is_optional_and_read_as_a_tuple(tmp_path):
    path = write_catalogue(tmp_path, lab_table("00-a", "0"), lab_table("01-b", "1", formerly=["01-old-b"]))
    first, second = catalogue.load(path)
    assert (first.formerly, second.formerly) == ((), ("01-old-b",))
    assert second.recorded_ids == ("01-b", "01-old-b")


@pytest.mark.parametrize(
    ("tables", "expected"),
    [
        ([lab_table("00-a", "0", formerly="00-old")], "make formerly a list of strings"),
        ([lab_table("00-a", "0", formerly=["00-a"])], "lab '00-a' was formerly '00-a', but that id is another lab's"),
        ([lab_table("00-a", "0"), lab_table("01-b", "1", formerly=["00-a"])], "lab '01-b' was formerly '00-a'"),
        ([lab_table("00-a", "0", formerly=["x"]), lab_table("01-b", "1", formerly=["x"])], "lab '01-b' was formerly 'x'"),
    ],
)
def test_a_former_id_belongs_to_one_lab_only(tmp_path, tables, expected):
    with pytest.raises(LabError, match=expected) as raised:
        catalogue.load(write_catalogue(tmp_path, *tables))
    assert "\n" not in str(raised.value)


# --- The command --------------------------------------------------------------------------------------


def scalelab_progress(course: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "scalelab", "progress", *args],
        cwd=course,
        env={"PATH": "/usr/bin:/bin", "SCALELAB_REPO": str(course)},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def course(tmp_path) -> Path:
    """A temporary course with the real catalogue and lab 0 passed."""
    shutil.copytree(REPO / "labs", tmp_path / "labs", ignore=lambda folder, names: [n for n in names if n != "labs.toml"])
    write(tmp_path / ".lab" / "progress.json", document(**{INTRO.id: [result(True, "2025-03-01T09:00:00+00:00")]}))
    return tmp_path


def test_progress_json_is_one_object_for_scripts(course):
    shown = scalelab_progress(course, "--json")
    assert shown.returncode == 0, shown.stderr
    report = json.loads(shown.stdout)
    assert [lab["id"] for lab in report["labs"]] == [lab.id for lab in catalogue.all_labs()]
    assert report["labs"][0]["status"] == "passed" and report["labs"][1]["status"] == "not started"


def test_progress_prints_a_table(course):
    shown = scalelab_progress(course)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].split() == ["lab", "title", "status", "last", "check"]
    assert lines[1].startswith(INTRO.alias + " ") and f" {INTRO.title} " in lines[1] and " passed " in lines[1]
    assert lines[-1] == f"1 of {len(catalogue.all_labs())} labs passed"


def test_progress_with_an_unreadable_file_is_one_line(course):
    write(course / ".lab" / "progress.json", "{not json")
    shown = scalelab_progress(course)
    assert shown.returncode == 1
    assert shown.stderr.startswith("scalelab: ") and shown.stderr.count("\n") == 1, shown.stderr
    assert "is not readable progress" in shown.stderr


def test_the_latest_failed_check_keeps_its_reasons_and_a_pass_clears_them(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "STATE", tmp_path)  # and so no classroom is joined
    path = tmp_path / "progress.json"
    progress.record(POOL, False, {"peak_direct_connections": 38}, path, reasons=["38 connections straight to PostgreSQL"])
    (failed,) = progress.summary([POOL], progress.read(path))
    assert failed.last_reasons == ("38 connections straight to PostgreSQL",)
    progress.record(POOL, True, {}, path, reasons=[])
    (passed,) = progress.summary([POOL], progress.read(path))
    assert passed.last_reasons == ()
