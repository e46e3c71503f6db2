"""scalelab.kit.traces and applogs.records, on files written here the way Lab 4's reference fix writes them:
spans by OpenTelemetry's own SDK and console exporter (as solutions/04-observability/broken_app/tracing.py
sets it up), log lines as one JSON object each, timestamp first (as its logs.py renders them)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from datetime import datetime, timedelta, timezone

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import format_trace_id
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from scalelab import stack
from scalelab.errors import LabError
from scalelab.kit import applogs, traces
from scalelab.stack import native
from scalelab.stack.native import spanfiles


@pytest.fixture
def state(tmp_path, monkeypatch):
    folder = tmp_path / ".lab"
    (folder / "traces").mkdir(parents=True)
    (folder / "logs").mkdir()
    (folder / "mode").write_text("native\n")
    monkeypatch.setattr(stack, "MODE_FILE", folder / "mode")
    for module in (stack, spanfiles):  # both modes read the spans there (Stack.span_lines)
        monkeypatch.setattr(module, "TRACES", folder / "traces")
    monkeypatch.setattr(native, "log_file", lambda service: folder / "logs" / f"{service}.log")
    return folder


def tracer(state, service: str, sampler=None):
    spans = open(state / "traces" / f"{service}-1.jsonl", "a", encoding="utf-8")
    provider = TracerProvider(resource=Resource.create({"service.name": service}), sampler=sampler)
    exporter = ConsoleSpanExporter(out=spans, formatter=lambda span: span.to_json(indent=None) + "\n")
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider.get_tracer("test")


def test_a_trace_is_gathered_from_every_process_and_keeps_its_parents(state):
    with tracer(state, "app1").start_as_current_span("POST /api/signup", attributes={"chirp.request_id": "r1"}) as request:
        with tracer(state, "app1").start_as_current_span("apply_async/send_email") as publish:
            context = publish.get_span_context()
    # The worker's span, in another process's file, with the publisher as its parent (as Celery's headers carry it).
    from opentelemetry import trace as otel

    parent = otel.set_span_in_context(otel.NonRecordingSpan(context))
    with tracer(state, "worker").start_as_current_span("run/send_email", context=parent) as job:
        pass
    with tracer(state, "app2").start_as_current_span("GET /api/feed"):  # another trace
        pass
    trace_id = format_trace_id(request.get_span_context().trace_id)

    spans = traces.trace(trace_id)
    assert list(spans.name) == ["POST /api/signup", "apply_async/send_email", "run/send_email"]
    assert set(spans.service) == {"app1", "worker"}
    assert spans.attributes.iloc[0] == {"chirp.request_id": "r1"}
    root, job_id = spans.span_id.iloc[0], format(job.get_span_context().span_id, "016x")
    assert traces.descends_from(spans, job_id, root)
    assert not traces.descends_from(spans, root, job_id)
    outline = traces.tree(spans).splitlines()
    assert [line.split()[1] for line in outline] == ["POST", "apply_async/send_email", "run/send_email"]
    assert [len(line) - len(line.lstrip()) for line in outline] == [0, 2, 4]


def test_a_request_sent_with_keep_is_traced_where_the_ratio_keeps_none(state):
    """Chirp's sampler as the stack sets it (parentbased_traceidratio), at a ratio of 0: only a request whose
    caller sent traces.keep()'s traceparent is traced, and entry() finds its first span inside Chirp."""
    headers = traces.keep()
    assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-01", headers["traceparent"]), headers
    chirp = tracer(state, "app1", sampler=ParentBased(TraceIdRatioBased(0)))
    with chirp.start_as_current_span("GET /api/feed"):  # no traceparent: dropped
        pass
    with chirp.start_as_current_span("GET /api/timeline", context=TraceContextTextMapPropagator().extract(headers)) as kept:
        with chirp.start_as_current_span("SELECT chirp"):
            pass
    spans = traces.trace(headers["traceparent"].split("-")[1])
    assert list(spans.name) == ["GET /api/timeline", "SELECT chirp"]
    assert spans.parent_id.iloc[0] == headers["traceparent"].split("-")[2]  # the caller's span, never recorded
    assert traces.entry(spans) == format(kept.get_span_context().span_id, "016x")
    assert traces.keep() != headers  # a new trace each time


def test_a_trace_id_is_32_hex_digits(state):
    with pytest.raises(LabError, match="32 hex digits"):
        traces.trace("not-a-trace")
    assert traces.trace("0" * 31 + "1").empty


def test_records_parse_json_lines_and_leave_the_rest(state):
    t0 = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)

    def line(at, **fields):
        return json.dumps({"timestamp": at.isoformat(timespec="milliseconds"), **fields})

    (state / "logs" / "app1.log").write_text(
        "\n".join(
            [
                "[2026-11-28 11:59:00 +0000] [42] [INFO] Booting worker with pid: 43",
                line(t0, event="request", route="/api/feed", status=200, duration_ms=3.1, request_id="a"),
                line(t0 + timedelta(seconds=10), event="request", route="/api/me", status=401, request_id="b"),
            ]
        )
        + "\n"
    )
    (state / "logs" / "app2.log").write_text(line(t0 + timedelta(seconds=20), event="unexpected error", level="error") + "\n")
    every = applogs.records()
    assert list(every.request_id.fillna("-")) == ["a", "b", "-"]
    assert list(every.service) == ["app1", "app1", "app2"]
    later = applogs.records(since=t0 + timedelta(seconds=5))
    assert list(later.event) == ["request", "unexpected error"]
    # grep still finds JSON lines by their time
    assert len(applogs.grep('"status": 401', since=t0 + timedelta(seconds=5))) == 1


def test_prune_keeps_live_and_recent_span_files(state):
    folder = state / "traces"
    gone = subprocess.Popen(["true"])
    gone.wait()  # a pid that has exited
    old_dead, new_dead = folder / f"app1-{gone.pid}.jsonl", folder / f"app2-{gone.pid}.jsonl"
    old_live = folder / f"worker-{os.getpid()}.jsonl"
    for path in (old_dead, new_dead, old_live):
        path.write_text("{}\n")
    hour_ago = time.time() - 2 * spanfiles.KEEP_S
    os.utime(old_dead, (hour_ago, hour_ago))
    os.utime(old_live, (hour_ago, hour_ago))
    assert spanfiles.prune() == 1
    assert sorted(p.name for p in folder.iterdir()) == sorted([new_dead.name, old_live.name])
