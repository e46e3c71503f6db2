"""Tracing: fixed in Lab 4 (observability before you need it), with OpenTelemetry.

What changed from the broken version, and why:
- Every request is a trace: a span for the Flask request, with a child span for each SQL
  statement (SQLAlchemy), each Redis command (sessions, the queue) and each job it queues (Celery).
- The trace goes on in the worker: Celery's instrumentation puts the trace context in the job's
  headers, so the worker's span for the welcome email is a descendant of the signup that queued it.
- The SDK starts after the fork, in each process: in gunicorn's post_fork hook and in Celery's
  worker_process_init. Its BatchSpanProcessor runs a background thread, and threads do not survive
  fork(): an SDK started in the master would export nothing from the workers.
- Traces are sampled at the head, and the budget is the reason: keeping every trace cost about
  0.45 ms of CPU per request, a seventh of what the fixed app spends (Lab 4's README). The SDK reads
  its sampler from the environment, as in production: OTEL_TRACES_SAMPLER=parentbased_traceidratio
  and OTEL_TRACES_SAMPLER_ARG=0.1 (SCALELAB_TRACE_SAMPLE_RATIO). A request that starts a trace keeps
  it one time in ten; whatever it calls (the worker's job) follows that decision, and so does a
  request whose caller sent a sampled traceparent header (a client debugging one request).
- Where the spans go: to CHIRP_TRACES_DIR, one JSON object per span and line, one file per process,
  which `scalelab.kit.traces` reads (both modes); and with OTEL_EXPORTER_OTLP_ENDPOINT set (Docker mode
  with Jaeger), by OTLP over HTTP as well. Spans leave in batches every second, so a trace can be read
  a second or two after its request ended.
"""

import os
import threading

from celery.signals import worker_process_init
from opentelemetry import trace
from opentelemetry.instrumentation.celery import CeleryInstrumentor
from opentelemetry.instrumentation.flask import FlaskInstrumentor
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
from sqlalchemy import event
from sqlalchemy.engine import Engine

EXPORT_EVERY_MS = 1000  # the SDK's default is 5 s: too long for a lab that reads its traces right away


def _exporters(service: str) -> list:
    folder = os.environ.get("CHIRP_TRACES_DIR", "traces")
    os.makedirs(folder, exist_ok=True)
    spans = open(os.path.join(folder, f"{service}-{os.getpid()}.jsonl"), "a", encoding="utf-8")
    exporters = [ConsoleSpanExporter(out=spans, formatter=lambda span: span.to_json(indent=None) + "\n")]
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporters.append(OTLPSpanExporter())  # reads the endpoint from the environment
    return exporters


def start_tracing() -> None:
    """Once per process, after the fork."""
    service = os.environ.get("CHIRP_INSTANCE", "chirp")
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    for exporter in _exporters(service):
        provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=EXPORT_EVERY_MS))
    trace.set_tracer_provider(provider)
    RedisInstrumentor().instrument()
    CeleryInstrumentor().instrument()


# db.py creates its engine on first use, from a create_engine it imported before tracing started, so
# the engine is instrumented when it first connects, whichever engine db.py (or a lab) creates. Under a
# lock: instrumenting adds SQLAlchemy event listeners, and a thread that runs a query meanwhile fails
# with "deque mutated during iteration" (a 500, seen on the first requests after a restart).
_instrumenting = threading.Lock()


@event.listens_for(Engine, "engine_connect")
def trace_sql(connection) -> None:
    instrumentor = SQLAlchemyInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        return
    with _instrumenting:
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument(engine=connection.engine, enable_commenter=False)


def init_app(app) -> None:
    FlaskInstrumentor().instrument_app(app, excluded_urls="metrics,healthz")


def init_worker() -> None:
    worker_process_init.connect(lambda **_: start_tracing(), weak=False)


def post_fork(server, worker) -> None:
    start_tracing()
