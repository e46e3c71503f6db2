"""PromQL queries against the lab's Prometheus, answered as pandas DataFrames for the notebooks.

Instant queries give one row per series; range queries give one row per series and timestamp
(long format, ready for `groupby` or `pivot`). Every label becomes a column, and the number is
in `value`: a float, since Prometheus sends sample values as strings ("NaN" and "+Inf" included).
Times are timezone-aware UTC.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import requests

from scalelab.errors import LabError, StackNotRunning
from scalelab.stack import settings as settings_module

# A query over a long range can take a few seconds; a Prometheus that takes longer is stuck.
TIMEOUT_S = 30


def query(expr: str, at: datetime | float | None = None) -> pd.DataFrame:
    """The value of `expr` at one instant (now by default): one row per series."""
    params = {"query": expr}
    if at is not None:
        params["time"] = _unix_seconds(at, "at")
    data = _get("/api/v1/query", params)
    if data["resultType"] == "string":
        raise LabError(f"{expr!r} is a string, not a number: query a metric or an expression over metrics")
    if data["resultType"] == "scalar":
        return pd.DataFrame({"value": [float(data["result"][1])]})
    rows = [{**series["metric"], "value": float(series["value"][1])} for series in data["result"]]
    return _frame(rows, ["value"])


def query_range(
    expr: str, start: datetime | float, end: datetime | float, step: str | float = "5s"
) -> pd.DataFrame:
    """`expr` evaluated every `step` from start to end: one row per series and time."""
    params = {
        "query": expr,
        "start": _unix_seconds(start, "start"),
        "end": _unix_seconds(end, "end"),
        "step": step,
    }
    data = _get("/api/v1/query_range", params)
    # Prometheus timestamps are unix seconds with millisecond precision; rounding keeps float noise out.
    rows = [
        {**series["metric"], "time": pd.Timestamp(round(timestamp * 1000), unit="ms", tz="UTC"), "value": float(value)}
        for series in data["result"]
        for timestamp, value in series["values"]
    ]
    return _frame(rows, ["time", "value"])


def _get(api_path: str, params: dict) -> dict:
    url = settings_module.load().prometheus_url + api_path
    try:
        response = requests.get(url, params=params, timeout=TIMEOUT_S)
    except requests.ConnectionError:
        raise StackNotRunning("the lab stack is not running: run `make up`") from None
    except requests.Timeout:
        raise LabError(f"Prometheus did not answer within {TIMEOUT_S} s: check it with `scalelab status`") from None
    try:
        body = response.json()
    except ValueError:
        raise LabError(
            f"Prometheus answered HTTP {response.status_code} without JSON: check it with `scalelab status`"
        ) from None
    if body.get("status") != "success":
        # Prometheus's own words, e.g. `parse error: unclosed left parenthesis`, name the mistake.
        raise LabError(f"Prometheus rejected the query {params['query']!r}: {body.get('error', body)}")
    return body["data"]


def _frame(rows: list[dict], last_columns: list[str]) -> pd.DataFrame:
    """Rows as a DataFrame: the label columns first (sorted), then `last_columns`."""
    frame = pd.DataFrame(rows, columns=None if rows else last_columns)
    labels = sorted(column for column in frame.columns if column not in last_columns)
    return frame[labels + last_columns]


def _unix_seconds(moment: datetime | float, name: str) -> float:
    if isinstance(moment, (int, float)):
        return float(moment)
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            # Python reads a naive time as local time and pandas as UTC; refuse to guess.
            raise LabError(
                f"{name} has no timezone: pass an aware time such as pd.Timestamp.now(tz='UTC'), or unix seconds"
            )
        return moment.timestamp()
    raise LabError(f"{name} is a {type(moment).__name__}: pass a timezone-aware datetime or unix seconds")
