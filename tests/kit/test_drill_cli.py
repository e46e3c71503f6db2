"""The drill's verbs without a stack: which cause a seed hides, and the one-line answers when there is no
drill or no such cause. The command runs in a temporary course repository (SCALELAB_REPO), so its
.lab/drill.json is the test's own; the stack's side (injecting, restoring) is tests/labs/test_drill.py.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import pytest

from scalelab import stack
from scalelab.course import drill
from scalelab.stack import settings
from scalelab.stack.native import NativeStack

SEEDS = range(40)


def scalelab(repo, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "scalelab", *args],
        cwd=repo,
        env={**os.environ, "SCALELAB_REPO": str(repo)},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def repo(tmp_path):
    (tmp_path / ".lab").mkdir()
    return tmp_path


def test_a_seed_always_hides_the_same_cause_and_the_seeds_cover_all_six():
    picks = [drill.cause_for(seed) for seed in SEEDS]
    assert picks == [drill.cause_for(seed) for seed in SEEDS]
    assert set(picks) == set(drill.CAUSES) and len(drill.CAUSES) == 6


def test_every_cause_has_a_symptom_and_a_signal_query():
    for name, cause in drill.CAUSES.items():
        assert cause.symptom and "\n" not in cause.symptom, name
        query = drill.signal_query(name, "30s")
        assert "$window" not in query and query.count("(") == query.count(")"), name


@pytest.mark.parametrize("verb", [("answer", "redis-down"), ("status",)])
def test_without_a_drill_the_verbs_say_how_to_start_one(repo, verb):
    result = scalelab(repo, "drill", *verb)
    said = result.stderr if verb[0] == "answer" else result.stdout
    assert "no drill is running: start one with `scalelab drill start`" in said
    assert result.returncode == (1 if verb[0] == "answer" else 0)


def test_stop_without_a_drill_is_fine(repo):
    result = scalelab(repo, "drill", "stop")
    assert result.returncode == 0 and "no drill is running" in result.stdout


def test_an_unknown_cause_is_one_line_listing_the_causes(repo):
    result = scalelab(repo, "drill", "answer", "disk-full")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("scalelab: unknown cause 'disk-full': choose one of ")
    assert all(name in result.stderr for name in drill.CAUSES)


def test_status_never_names_the_cause(repo):
    for seed in (0, 1, 2):
        state = {"seed": seed, "fault": drill.cause_for(seed), "started_at": time.time() - 75, "attempts": 1}
        (repo / ".lab" / "drill.json").write_text(json.dumps(state))
        result = scalelab(repo, "drill", "status")
        assert result.returncode == 0
        # 75 s, and the seconds the command takes to start on a busy laptop (up to 34 s pass)
        assert re.search(r"^a drill is running for 1 min (1[5-9]|[2-4]\d) s; 1 wrong answer so far", result.stdout), result.stdout
        assert not any(name in result.stdout for name in drill.CAUSES), result.stdout


def test_a_wrong_answer_is_counted_and_the_drill_goes_on(repo):
    state = {"seed": 3, "fault": "slow-query", "started_at": time.time(), "attempts": 0}
    (repo / ".lab" / "drill.json").write_text(json.dumps(state))
    result = scalelab(repo, "drill", "answer", "redis-down")
    assert result.returncode == 1
    assert "not redis-down: look again and answer again (attempt 1)" in result.stdout
    assert json.loads((repo / ".lab" / "drill.json").read_text())["attempts"] == 1


def test_start_needs_the_native_stack(repo):
    """No app instance runs from this repository: the one line names the fix."""
    result = scalelab(repo, "drill", "start", "--seed", "1")
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        "scalelab: the drill stops and restarts services, which needs app1 and app2 running: run `scalelab up --native`\n"
    )
    assert not (repo / ".lab" / "drill.json").exists()


def test_start_on_apps_without_metrics_names_lab_4(monkeypatch, tmp_path):
    """Instances that run but answer 404 on /metrics (Lab 4 not done): the drill cannot be investigated."""
    monkeypatch.setattr(drill, "STATE_FILE", tmp_path / "drill.json")
    monkeypatch.setattr(stack, "MODE_FILE", tmp_path / "mode")  # no mode recorded: the native stack
    monkeypatch.setattr(NativeStack, "running", lambda self, name: True)
    monkeypatch.setattr(drill.exposition, "scrape", lambda settings, name: None)
    with pytest.raises(drill.NeedsLab4) as error:
        drill.start(seed=1, settings=settings.load())
    assert str(error.value) == (
        "app1 serves no /metrics, and the drill is investigated with Lab 4's metrics: "
        "run `scalelab solve 4`, or finish Lab 4"
    )
    assert not (tmp_path / "drill.json").exists()
