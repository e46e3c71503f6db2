"""Synthetic load histories shaped like the load runner's, for the analysis and plot tests."""

from __future__ import annotations

import pandas as pd
import pytest

START = pd.Timestamp("2025-01-01 12:00", tz="UTC")
THINK_S = 15


def hockey_stick_p95(users: float) -> float:
    """40 ms when idle, bending up to exactly 300 ms at 600 users."""
    return 40 + 260 * (users / 600) ** 6


def errors_after_700(users: float) -> float:
    return 0.0 if users < 700 else min(0.5, (users - 650) / 1000)


def step_ramp(
    levels=range(100, 1001, 100),
    hold_s: int = 30,
    p95_ms=hockey_stick_p95,
    error_rate=errors_after_700,
    start: pd.Timestamp = START,
) -> pd.DataFrame:
    """One row per second: each level held for hold_s seconds, with two seconds of spawning in between
    (user counts halfway to the next level), as a Locust step profile produces."""
    users: list[float] = []
    previous = 0
    for level in levels:
        users += [previous + (level - previous) / 2] * 2 + [level] * hold_s
        previous = level
    return history_for(users, p95_ms, error_rate, start)


def history_for(users, p95_ms=hockey_stick_p95, error_rate=errors_after_700, start=START) -> pd.DataFrame:
    frame = pd.DataFrame({"users": [int(count) for count in users]})
    frame.insert(0, "time", start + pd.to_timedelta(range(len(frame)), unit="s"))
    rps = frame.users / THINK_S
    p95 = frame.users.map(p95_ms)
    return frame.assign(
        rps=rps,
        failures_per_s=rps * frame.users.map(error_rate),
        p50_ms=p95 / 2,
        p95_ms=p95,
        p99_ms=p95 * 1.5,
    )


@pytest.fixture
def ramp() -> pd.DataFrame:
    """Levels 100 to 1,000 users; p95 reaches 300 ms at 600 users, errors start at 700."""
    return step_ramp()


@pytest.fixture
def make_ramp():
    """step_ramp itself, for tests that shape their own levels."""
    return step_ramp


@pytest.fixture
def make_history():
    """history_for itself: a history from one user count per second, e.g. a continuous ramp."""
    return history_for
