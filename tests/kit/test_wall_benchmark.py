"""The pieces of benchmarks/wall.py, without a stack: knees and their ratio (scalelab.kit.side_by_side) on synthetic
ramps, what saturated first (scalelab.kit.saturation) on a synthetic CPU sample, and the sampler itself on
a busy child process."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass

import pandas as pd
import psutil
import pytest
from matplotlib.figure import Figure

from scalelab.kit import saturation, side_by_side
from scalelab.kit.saturation import LOADGEN, OTHERS


@dataclass
class FakeRun:
    """What walls reads of a load.Run: its per-second history."""

    history: pd.DataFrame
    summary: dict | None = None


def continuous_ramp(make_history, peak: int, ramp_s: int, wall_at: int | None) -> pd.DataFrame:
    """One user level per second up to `peak` in `ramp_s` seconds, then a 20 s hold; p95 jumps past the
    objective from `wall_at` users on (never, if None)."""
    users = [round(peak * (second + 1) / ramp_s) for second in range(ramp_s)] + [peak] * 20
    history = make_history(
        users, p95_ms=lambda u: 900 if wall_at is not None and u > wall_at else 60, error_rate=lambda u: 0
    )
    return history.assign(elapsed_s=(history.time - history.time.iloc[0]).dt.total_seconds())


# --- Knees and their ratio ------------------------------------------------------------------------


def test_a_level_is_as_wide_as_the_users_locust_s_window_sees_arrive(make_history):
    # launch-day: 10,000 users in 300 s, ~33 users/s: 333 per 10 s window, one significant digit.
    assert side_by_side.level_width(continuous_ramp(make_history, 10_000, 300, None)) == 300
    # The demo run: 800 users in 100 s.
    assert side_by_side.level_width(continuous_ramp(make_history, 800, 100, None)) == 80


def test_the_ratio_of_two_knees(make_history):
    broken = side_by_side.Wall("broken", FakeRun(continuous_ramp(make_history, 1000, 100, wall_at=220)))
    fixed = side_by_side.Wall("fixed", FakeRun(continuous_ramp(make_history, 1000, 100, wall_at=None)))
    assert (broken.knee, fixed.knee) == (200, 1000)
    assert fixed.held_everything and not broken.held_everything
    assert side_by_side.ratio(broken, fixed) == (5.0, "5.0x")
    assert "no wall reached" in fixed.knee_text()


def test_a_broken_knee_below_the_first_level_gives_a_lower_bound(make_history):
    broken = side_by_side.Wall("broken", FakeRun(continuous_ramp(make_history, 1000, 100, wall_at=0)))
    fixed = side_by_side.Wall("fixed", FakeRun(continuous_ramp(make_history, 1000, 100, wall_at=None)))
    assert broken.knee is None
    assert broken.knee_text() == "below the first level (< 100 users)"
    value, text = side_by_side.ratio(broken, fixed)
    assert value == 10 and text.startswith("more than 10.0x")
    assert side_by_side.ratio(fixed, broken) == (None, "n/a: the fixed stack missed the objective at its first level too")


def test_both_walls_on_one_figure(make_history):
    runs = {
        "broken": FakeRun(continuous_ramp(make_history, 1000, 100, wall_at=220)),
        "fixed": FakeRun(continuous_ramp(make_history, 1000, 100, wall_at=None)),
    }
    figure = side_by_side.walls(runs)
    assert isinstance(figure, Figure)
    labels = figure.axes[0].get_legend_handles_labels()[1]
    assert {"broken: p95", "fixed: p95", "broken knee: 200 users", "fixed knee: 1,000 users"} <= set(labels)


# --- What saturated first -------------------------------------------------------------------------


def synthetic_samples(start: pd.Timestamp, cpu: dict[str, list[float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"time": start + pd.Timedelta(seconds=second), "service": service, "cpu_percent": value}
            for service, values in cpu.items()
            for second, value in enumerate(values)
        ]
    )


def test_top_consumers_ranks_services_within_the_window(make_history):
    start = pd.Timestamp("2025-01-01 12:00", tz="UTC")
    samples = synthetic_samples(start, {"app1": [10, 10, 90, 90], "postgres": [50, 50, 20, 20], LOADGEN: [5, 5, 5, 5]})
    late = saturation.top_consumers(samples, start + pd.Timedelta(seconds=2))
    assert late.service.tolist() == ["app1", "postgres", LOADGEN]
    assert late.cpu_percent.tolist() == [90, 20, 5]
    assert saturation.top_consumers(samples).iloc[0].service == "app1"  # 50 on average, over postgres's 35


def test_the_wall_window_is_the_first_level_past_the_knee(make_history):
    history = continuous_ramp(make_history, 1000, 100, wall_at=220)  # 10 more users each second
    start, end = saturation.wall_window(history, knee=200, level_width=100)
    assert history.users[history.time == start].item() == 210 and history.users[history.time == end].item() == 300
    # No wall reached: the peak level, hold included; the first level already past it: the first level.
    peak_start, peak_end = saturation.wall_window(history, 1000, 100)
    assert history.users[history.time == peak_start].item() == 910 and peak_end == history.time.max()
    assert history.users[history.time == saturation.wall_window(history, None, 100)[1]].item() == 100


@pytest.mark.parametrize(
    ("cpu", "processes", "expected"),
    [
        ({LOADGEN: 95, "app1": 60}, 1, "the load generator"),
        ({LOADGEN: 95, "app1": 60}, 2, "no CPU ceiling"),
        ({"pgbouncer": 97, "app1": 40}, 1, "pgbouncer: 97%"),
        ({"app1": 80, "app2": 75, "postgres": 30, OTHERS: 5}, 1, "the CPU: 190% of 2 cores"),
        ({"app1": 30, "postgres": 10}, 1, "no CPU ceiling (40% of 200% in use)"),
    ],
)
def test_bottleneck_names_what_reached_its_ceiling(cpu, processes, expected):
    top = pd.DataFrame({"service": list(cpu), "cpu_percent": list(cpu.values())})
    assert saturation.bottleneck(top, cores=2, loadgen_processes=processes).startswith(expected)


def test_the_sampler_counts_a_busy_locust_child_as_the_load_generator_and_no_other_child():
    # The trailing argument names it as Locust would be; the other child is, say, a service restarted from here.
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass", "locust"])
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    sampler = saturation.CpuSampler()
    try:
        child = psutil.Process(busy.pid)
        sampler.sample()
        started, before = time.time(), sum(child.cpu_times()[:2])
        time.sleep(1.5)
        sampler.sample()
        used = 100 * (sum(child.cpu_times()[:2]) - before) / (time.time() - started)
        assert [p.pid for p in saturation.locust_children()] == [busy.pid]
    finally:
        for process in (busy, other):
            process.kill()
            process.wait()
    samples = sampler.samples
    loadgen = samples[samples.service == LOADGEN].cpu_percent.item()
    # What the child itself says it used, whatever share of a core a busy machine left it.
    assert used > 0 and loadgen == pytest.approx(used, abs=15)
    assert set(samples.service) >= {LOADGEN, OTHERS}


def test_cpu_per_request_is_each_services_cpu_seconds_over_the_requests():
    # Two samples a second apart: app1 used half a core, then a whole one (1.5 CPU seconds); nginx 0.1 s.
    samples = pd.DataFrame({"service": ["app1", "nginx", "app1", "nginx"], "cpu_percent": [50, 5, 100, 5]})
    per_request = saturation.cpu_per_request(samples, requests=500)
    assert per_request.to_dict() == pytest.approx({"app1": 3.0, "nginx": 0.2})
    assert list(per_request.index) == ["app1", "nginx"]
    assert saturation.cpu_per_request(samples, requests=0).empty


def test_hashing_demand_counts_every_login_and_signup_asked_for():
    endpoints = {
        "/api/login": {"requests": 3_610, "failures": 2_508},  # a failed login was still asked for
        "/api/signup": {"requests": 1_398, "failures": 702},
        "/api/feed": {"requests": 23_593, "failures": 1_911},
    }
    cores, line = saturation.hashing_demand(endpoints, seconds=360, cost_s=0.135, cores=2)
    assert cores == pytest.approx(5_008 * 0.135 / 360)
    assert line == "password hashing alone asked for 1.9 of 2 cores: 5,008 logins and signups in 360 s, 0.14 s of CPU each here"
    assert saturation.hashing_demand({"/api/feed": {"requests": 9}}, 60, 0.135, 2)[0] == 0


def test_a_password_check_costs_the_app_s_scrypt_time():
    # werkzeug's default scrypt (n=2**15, r=8) is made to cost tens of milliseconds or more on any CPU.
    assert 0.01 < saturation.hash_cost_s(checks=1) < 5
