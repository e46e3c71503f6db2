"""Read the traces Chirp writes in native mode, once Lab 4 turns tracing on.

    from scalelab.kit import traces
    spans = traces.trace("df7fb320e349861dfae6365f11c2e724")   # a trace_id from a log line
    print(traces.tree(spans))

Natively there is no Jaeger: each traced process (gunicorn workers, Celery's pool processes) writes
its spans to `.lab/traces/<service>-<pid>.jsonl`, one JSON object per span, as OpenTelemetry's
console exporter formats them. In Docker mode the spans go to Jaeger instead: open its UI.
Spans leave a process in batches, about a second after they end.

Chirp samples its traces at the head (SCALELAB_TRACE_SAMPLE_RATIO, 0.1: one request in ten keeps its
trace), and logs a trace_id only on the lines of requests whose trace it kept. To follow a request of
your own, send it with `headers=traces.keep()`: its trace is kept whatever the ratio.
"""

from __future__ import annotations

import json
import secrets

import pandas as pd

from scalelab.errors import LabError
from scalelab.stack import current

COLUMNS = ["trace_id", "span_id", "parent_id", "name", "service", "start", "end", "duration_ms", "status", "attributes"]


def trace(trace_id: str) -> pd.DataFrame:
    """Every span of one trace (32 hex digits, as logged), from every process, in start order."""
    trace_id = trace_id.lower().removeprefix("0x")
    if len(trace_id) != 32 or any(c not in "0123456789abcdef" for c in trace_id):
        raise LabError(f"{trace_id!r} is not a trace id: it is 32 hex digits, as in a log line's trace_id")
    needle = f'"trace_id": "0x{trace_id}"'
    return _frame(json.loads(line) for line in _lines() if needle in line)


def keep() -> dict[str, str]:
    """Headers that have Chirp trace this request, whatever its sampling ratio: a W3C traceparent with
    the sampled flag set, as a client (or a service upstream) that decided to trace it sends. Chirp's
    parent-based sampler follows the caller's decision. Its request span's parent is then the caller's
    span, which no process of Chirp recorded: see entry()."""
    return {"traceparent": f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"}


def entry(spans: pd.DataFrame) -> str:
    """The span_id of the trace's first span inside Chirp (the request's own span): the earliest span whose
    parent is not in the trace (none, or a caller that sent a traceparent)."""
    outside = spans[~spans.parent_id.isin(set(spans.span_id))]
    if outside.empty:
        raise LabError("this trace has no span whose parent lies outside it: is it complete?")
    return outside.sort_values("start").span_id.iloc[0]


def descends_from(spans: pd.DataFrame, span_id: str, ancestor_id: str) -> bool:
    """Whether span_id is ancestor_id or lies below it, following parent_id within `spans`."""
    parents = dict(zip(spans.span_id, spans.parent_id))
    seen = set()
    while span_id and span_id not in seen:
        if span_id == ancestor_id:
            return True
        seen.add(span_id)
        span_id = parents.get(span_id)
    return False


def tree(spans: pd.DataFrame) -> str:
    """The trace as an indented outline: service, span name and milliseconds, children under parents."""
    children: dict = {}
    for row in spans.itertuples():
        parent = row.parent_id if row.parent_id in set(spans.span_id) else None
        children.setdefault(parent, []).append(row)
    lines: list[str] = []

    def walk(parent, depth: int) -> None:
        for row in sorted(children.get(parent, []), key=lambda r: r.start):
            lines.append(f"{'  ' * depth}{row.service:<7} {row.name}  {row.duration_ms:.1f} ms")
            walk(row.span_id, depth + 1)

    walk(None, 0)
    return "\n".join(lines)


def _lines():
    return current().span_lines()


def _frame(spans) -> pd.DataFrame:
    rows = [
        {
            "trace_id": span["context"]["trace_id"].removeprefix("0x"),
            "span_id": span["context"]["span_id"].removeprefix("0x"),
            "parent_id": (span.get("parent_id") or "").removeprefix("0x") or None,
            "name": span["name"],
            "service": span["resource"]["attributes"].get("service.name"),
            "start": pd.Timestamp(span["start_time"]),
            "end": pd.Timestamp(span["end_time"]),
            "status": span["status"]["status_code"],
            "attributes": span.get("attributes", {}),
        }
        for span in spans
    ]
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["duration_ms"] = [(end - start).total_seconds() * 1000 for start, end in zip(frame.start, frame.end)]
    return frame.sort_values("start", ignore_index=True)
