"""scalelab.kit.prom against the lab's real Prometheus (the stack must be up: `make up`)."""

from __future__ import annotations

import pandas as pd
import pytest

from scalelab.errors import LabError, StackNotRunning
from scalelab.kit import prom


def test_up_has_one_row_per_scraped_job():
    up = prom.query("up")
    assert {"prometheus", "postgres", "redis", "nginx"} <= set(up.job)
    assert list(up.columns[-1:]) == ["value"] and {"instance", "job"} <= set(up.columns)
    assert up.value.isin([0.0, 1.0]).all()


def test_query_at_a_past_instant_and_a_scalar():
    thirty_seconds_ago = pd.Timestamp.now(tz="UTC") - pd.Timedelta(seconds=30)
    assert not prom.query("up", at=thirty_seconds_ago).empty
    assert prom.query("1 + 1").value.tolist() == [2.0]


def test_query_range_is_long_format_with_utc_times():
    end = pd.Timestamp.now(tz="UTC")
    series = prom.query_range('up{job="prometheus"}', end - pd.Timedelta(minutes=1), end, step="15s")
    assert list(series.columns[-2:]) == ["time", "value"]
    assert str(series.time.dt.tz) == "UTC"
    assert len(series) >= 2 and series.time.is_monotonic_increasing


def test_an_unknown_metric_gives_an_empty_frame():
    assert prom.query("no_such_metric_in_the_lab").empty


def test_a_promql_error_carries_prometheus_text():
    with pytest.raises(LabError, match="parse error") as raised:
        prom.query("rate(up[1m]")
    assert "\n" not in str(raised.value)


def test_a_naive_time_is_refused():
    with pytest.raises(LabError, match="timezone"):
        prom.query("up", at=pd.Timestamp("2025-01-01 12:00"))


def test_no_prometheus_means_the_stack_is_not_running(monkeypatch, free_port):
    monkeypatch.setenv("SCALELAB_PROMETHEUS_PORT", str(free_port()))
    with pytest.raises(StackNotRunning, match="run `make up`"):
        prom.query("up")
