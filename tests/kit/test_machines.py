"""Machine sizes (scalelab/stack/machines.py): how they layer into the settings, which one a machine gets,
how they cut a load run down, and what doctor says. That each failure still shows under the smallest
size is the whole suite's run on a 4gib stack in CI (tests/labs/test_small_machine.py)."""

from __future__ import annotations

import pytest

from scalelab.errors import LabError
from scalelab.kit import profiles
from scalelab.stack import doctor, envfile, machines, settings

GIB = machines.GIB


def write_repo(folder, example: str, env: str | None = None):
    (folder / ".env.example").write_text(example)
    if env is not None:
        (folder / ".env").write_text(env)
    return folder


def test_the_size_sits_between_env_example_and_env(tmp_path, monkeypatch):
    monkeypatch.delenv("SCALELAB_SEED_USERS", raising=False)
    monkeypatch.delenv("SCALELAB_MACHINE", raising=False)
    repo = write_repo(tmp_path, "SCALELAB_MACHINE=full\nSCALELAB_SEED_USERS=1\n", "SCALELAB_MACHINE=4gib\n")
    small = settings.load(repo)
    assert small["SEED_USERS"] == "2000" and small["WORKER_CONCURRENCY"] == "2"  # the size beats .env.example
    assert small.machine.max_users == 500

    (repo / ".env").write_text("SCALELAB_MACHINE=4gib\nSCALELAB_SEED_USERS=777\n")
    assert settings.load(repo)["SEED_USERS"] == "777"  # .env beats the size
    monkeypatch.setenv("SCALELAB_SEED_USERS", "888")
    assert settings.load(repo)["SEED_USERS"] == "888"  # and the environment beats .env


def test_the_shipped_example_is_the_full_size_and_sets_none_of_its_values():
    example = settings.parse_env_file(settings.REPO / ".env.example")
    assert example["SCALELAB_MACHINE"] == "full"
    for machine in machines.MACHINES.values():
        # A value in .env.example would be copied into every .env, where it beats the size.
        assert not {f"SCALELAB_{key}" for key in machine.settings} & example.keys()
    assert set(machines.MACHINES["4gib"].settings) == set(machines.FULL_SCALE)


def test_an_unknown_size_names_the_choices(tmp_path, monkeypatch):
    monkeypatch.delenv("SCALELAB_MACHINE", raising=False)
    repo = write_repo(tmp_path, "SCALELAB_MACHINE=full\n", "SCALELAB_MACHINE=2gib\n")
    with pytest.raises(LabError, match=r"SCALELAB_MACHINE='2gib' in .env: choose one of full, 8gib, 4gib"):
        settings.load(repo)


@pytest.mark.parametrize(
    "total_gib, name",
    [(2, "4gib"), (3.8, "4gib"), (6.7, "4gib"), (7.3, "8gib"), (8, "8gib"), (13.5, "8gib"), (15.3, "full"), (24, "full")],
)
def test_a_machine_gets_the_largest_size_its_memory_holds(total_gib, name):
    assert machines.suggested(int(total_gib * GIB)).name == name


def test_a_new_env_file_names_the_size_for_this_machine(tmp_path, monkeypatch, capsys):
    write_repo(tmp_path, "# ports\nSCALELAB_MACHINE=full\nSCALELAB_HTTP_PORT=18080\n")
    monkeypatch.setattr(envfile, "REPO", tmp_path)
    monkeypatch.setattr(envfile.psutil, "virtual_memory", lambda: type("Memory", (), {"total": int(3.8 * GIB)}))
    envfile.ensure()
    assert (tmp_path / ".env").read_text() == "# ports\nSCALELAB_MACHINE=4gib\nSCALELAB_HTTP_PORT=18080\n"
    assert "SCALELAB_MACHINE=4gib for this machine's 3.8 GiB" in capsys.readouterr().out
    (tmp_path / ".env").write_text("SCALELAB_MACHINE=full\n")  # the learner's own choice stays
    envfile.ensure()
    assert (tmp_path / ".env").read_text() == "SCALELAB_MACHINE=full\n"


def test_a_load_run_is_cut_to_the_machines_users_keeping_its_shape():
    launch = profiles.get("launch-day").scaled(users=2000, duration_s=90)
    small = machines.get("4gib")
    fitted, line = small.fit(launch)
    assert fitted.peak_users == 500 and fitted.duration_s == launch.duration_s
    assert fitted.stages[0].spawn_rate == pytest.approx(launch.stages[0].spawn_rate / 4)
    assert line == "2,000 users is more than the 4gib machine size's 500 (SCALELAB_MACHINE in .env): running 500"
    assert machines.get("8gib").fit(launch) == (launch, None)
    # The full machine size cuts nothing: a bigger machine may run more than the 10,000 of launch day.
    bigger = profiles.get("launch-day").scaled(users=20_000)
    assert machines.get("full").fit(bigger) == (bigger, None)


def test_doctor_notes_a_size_too_big_for_the_machine_with_the_fix():
    line = doctor.machine_too_big(machines.get("full"), int(7.7 * GIB))
    assert line.startswith("SCALELAB_MACHINE=full is for 16 GiB of memory and this machine has 7.7: set SCALELAB_MACHINE=8gib")
    assert doctor.machine_too_big(machines.get("4gib"), int(7.7 * GIB)) is None
    assert doctor.machine_too_big(machines.get("full"), 24 * GIB) is None


def test_doctor_names_env_lines_that_beat_the_size_with_other_values():
    # A .env copied from an older .env.example holds the full-size seed and cache.
    old_env = {"SCALELAB_SEED_USERS": "10000", "SCALELAB_SEED_POSTS": "200000", "SCALELAB_WORKER_CONCURRENCY": "2"}
    line = doctor.pinned_by_env(machines.get("4gib"), old_env)
    assert line == (
        ".env sets SCALELAB_SEED_USERS=10000, SCALELAB_SEED_POSTS=200000, where the 4gib machine size says "
        "2000, 40000: delete those lines from .env to take the size's"
    )
    assert doctor.pinned_by_env(machines.get("full"), old_env | {"SCALELAB_WORKER_CONCURRENCY": "4"}) is None


def test_the_run_scale_comes_from_env_and_refuses_what_is_not_a_share(tmp_path, monkeypatch):
    """SCALELAB_RUN_SCALE, CI's knob for shorter notebook runs (load.run)."""
    monkeypatch.delenv("SCALELAB_RUN_SCALE", raising=False)
    repo = write_repo(tmp_path, "SCALELAB_MACHINE=full\nSCALELAB_RUN_SCALE=1\n", "SCALELAB_MACHINE=full\n")
    assert settings.load(repo).run_scale == 1
    monkeypatch.setenv("SCALELAB_RUN_SCALE", "0.5")
    assert settings.load(repo).run_scale == 0.5
    for wrong in ("0", "2", "half"):
        monkeypatch.setenv("SCALELAB_RUN_SCALE", wrong)
        with pytest.raises(LabError, match=f"SCALELAB_RUN_SCALE={wrong} .*from 0.1 to 1"):
            settings.load(repo).run_scale
