"""Knee detection on synthetic load histories, and the Little's law capacity calculator."""

from __future__ import annotations

import pytest

from scalelab.errors import LabError
from scalelab.kit import analysis
from scalelab.kit.analysis import ConnectionLimits

# --- Knee ----------------------------------------------------------------------------------------


def test_knee_is_the_level_before_p95_crosses_the_objective(ramp):
    # p95 reaches 300 ms at 600 users; errors start only at 700.
    assert analysis.knee(ramp) == 500


def test_errors_alone_make_the_wall(make_ramp):
    history = make_ramp(p95_ms=lambda users: 50, error_rate=lambda users: 0.02 if users >= 800 else 0.005)
    assert analysis.knee(history) == 700


def test_a_stricter_objective_moves_the_knee(ramp):
    assert analysis.knee(ramp, p95_ms=100) == 400


def test_a_level_that_passes_after_the_wall_does_not_count(make_ramp):
    history = make_ramp(p95_ms=lambda users: 900 if users in (600, 700) else 50, error_rate=lambda users: 0)
    assert analysis.knee(history) == 500


def test_no_knee_when_the_first_level_already_misses(make_ramp):
    assert analysis.knee(make_ramp(p95_ms=lambda users: 400)) is None


def test_the_highest_level_when_the_run_never_hit_the_wall(make_ramp):
    assert analysis.knee(make_ramp(p95_ms=lambda users: 50, error_rate=lambda users: 0)) == 1000


def test_the_first_seconds_of_each_level_are_skipped(ramp):
    # Locust's windows still show the previous level then: a slow start of every level must not count.
    slow_start = ramp.copy()
    first_seconds = slow_start.groupby((slow_start.users != slow_start.users.shift()).cumsum()).cumcount() < 12
    slow_start.loc[first_seconds, "p95_ms"] = 5000
    assert analysis.knee(slow_start) == 500
    # The two seconds of spawning between levels never become levels of their own.
    assert analysis.by_level(ramp).users.tolist() == list(range(100, 1001, 100))


def test_by_level_error_rate_is_failures_over_requests(make_ramp):
    levels = analysis.by_level(make_ramp(levels=[100], error_rate=lambda users: 0.25))
    assert levels.seconds.tolist() == [30 - 12]
    assert levels.error_rate.tolist() == pytest.approx([0.25])


def test_a_continuous_ramp_needs_bins(make_history):
    history = make_history(range(1, 1001), p95_ms=lambda users: 80 if users <= 520 else 400, error_rate=lambda users: 0)
    with pytest.raises(LabError, match="level_width=100, settle_s=0"):
        analysis.knee(history)
    # Bins (400, 500] and below are all fast; in (500, 600] most seconds are slow.
    assert analysis.knee(history, level_width=100, settle_s=0) == 500


def test_a_history_without_the_runner_columns_is_refused(ramp):
    with pytest.raises(LabError, match="lacks p95_ms"):
        analysis.knee(ramp.drop(columns="p95_ms"))


# --- Little's law ----------------------------------------------------------------------------------

FOUR_PROCESSES = ConnectionLimits(processes=4)  # 2 instances × 2 workers, SQLAlchemy and PostgreSQL defaults


def test_littles_law_numbers():
    estimate = analysis.capacity(1000, FOUR_PROCESSES, think_s=(10, 20), response_ms=50)
    assert estimate.think_s == 15
    assert estimate.requests_per_s == pytest.approx(1000 / 15.05)
    assert estimate.connections_busy == pytest.approx(1000 / 15.05 * 0.050)
    held_longer = analysis.capacity(1000, FOUR_PROCESSES, think_s=15, response_ms=50, hold_ms=500)
    assert held_longer.connections_busy == pytest.approx(1000 / 15.05 * 0.5)


def test_limits_of_each_layer():
    assert [(layer.name, layer.allows) for layer in FOUR_PROCESSES.layers()] == [
        ("your app pools", 60),
        ("PostgreSQL", 97),
    ]
    with_pgbouncer = ConnectionLimits(processes=4, pool_size=3, max_overflow=0, pgbouncer_pool_size=10)
    assert with_pgbouncer.tightest().name == "PgBouncer"


def test_explain_reads_like_a_sentence():
    text = analysis.capacity(1000, FOUR_PROCESSES, response_ms=135).explain()
    assert "At 1,000 users" in text
    assert "about 9 connections busy" in text
    assert "your app pools 60" in text and "PostgreSQL 97" in text
    assert "That fits" in text


def test_explain_says_which_limit_breaks_first():
    estimate = analysis.capacity(5000, ConnectionLimits(processes=16), response_ms=400)
    assert not estimate.fits
    assert "does not fit the tightest limit, PostgreSQL (97)" in estimate.explain()
    assert "sorry, too many clients already" in estimate.explain()


def test_predicted_wall_is_where_connections_run_out():
    wall = analysis.predicted_wall(FOUR_PROCESSES, think_s=(10, 20), response_ms=50)
    assert wall == 18061  # 60 connections × 15.05 s per request cycle / 0.05 s held, plus one
    assert analysis.capacity(wall, FOUR_PROCESSES).connections_busy > 60
    assert analysis.capacity(wall - 1, FOUR_PROCESSES).connections_busy <= 60


def test_hikari_rule_of_thumb():
    assert analysis.hikari_pool_size(cores=4, effective_spindles=1) == 9
    assert analysis.hikari_pool_size(cores=2) == 4
