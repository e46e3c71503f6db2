"""Lab 4's check: under load, Chirp's metrics count what the load generator sent, its logs are JSON lines
that lead to traces, a signup's trace reaches into the worker's email job, and with a fault the
learner did not choose, the metrics point at the endpoint it slows down.

What it does (about 20 s, native mode: it reads the app's log and trace files):
1. Reads each instance's /metrics (app1, app2 and the worker), as Prometheus does.
2. Injects a fault: every query of the home timeline (GET /api/timeline, and no other endpoint the
   check calls) sleeps 300 ms in PostgreSQL. 6 logged-in users then read the feed, their timeline
   and "who am I" in turn for 12 s, while 2 clients sign up; every response's X-Request-ID is kept.
   The signups ask for their traces to be kept (a sampled traceparent header: kit.traces.keep), since
   Chirp samples its traces at the head and would keep only one in ten (SCALELAB_TRACE_SAMPLE_RATIO).
3. Sends app1 directly (nginx would replace the request id) an anonymous GET /api/me, a 401, with its
   own X-Request-ID and a trace context its caller chose not to sample, and 3 profile pages
   (/users/<int:user_id>: a URL rule with a parameter).
4. Waits for the welcome emails (Lab 3's worker sends them), then reads /metrics again.

Passing means:
- the request counts per route in the metrics (chirp_http_request_duration_seconds_count, summed
  over both instances) agree with the load generator's counts within 5%, the profile pages counted
  under their URL rule; the 401 is counted with status="401"; a bucket edge sits at 0.3 s, the
  objective;
- the pool metrics exist (chirp_db_pool_size above 0, chirp_db_pool_checked_out, and
  chirp_db_pool_wait_seconds counting checkouts), and the worker counted each email job
  (chirp_celery_task_duration_seconds_count);
- the route with the highest mean latency, from the metrics alone, is /api/timeline;
- every line Chirp logged meanwhile (gunicorn's own lines aside) is a JSON object, and each
  request's line has request_id, route, status, duration_ms and user_id (a value on every logged-in
  reader's line), and trace_id when its trace was kept (every signup's here) and only then (not on
  the 401's line, whose caller did not sample it); the 401's line has the request id its caller sent,
  and so does its X-Request-ID header;
- a signup's request_id leads, through its log line, to a trace whose request span carries the same
  request_id, and that trace holds the SQL statements' spans and the worker's span for the welcome
  email, below the signup.
"""

from __future__ import annotations

import collections
import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests

from scalelab.course.checks import CheckResult
from scalelab.kit import applogs, faults, mailbox, traces
from scalelab.kit.clients import closed_loop, log_in, route_reader, seeded_credentials, signup_sender
from scalelab.kit.exposition import scrape, total
from scalelab.stack import current

USERS, SIGNUP_CLIENTS, SECONDS = 6, 2, 12
FAULT_MS, FAULT_MATCH = 300, "UNION ALL"  # only the home timeline's query has it
FAULTED_ROUTE = "/api/timeline"
ROUTES = ("/api/feed", FAULTED_ROUTE, "/api/me")
LOGGED_IN_ROUTES = (FAULTED_ROUTE, "/api/me")
PROFILE_RULE, PROFILES = "/users/<int:user_id>", (1, 2, 3)
OBJECTIVE_BUCKET = "0.3"  # the lab's p95 objective, 300 ms: an exact count of the requests within it
COUNT_TOLERANCE = 0.05
EMAIL_DEADLINE_S = 20
SPAN_EXPORT_S = 3  # the app's spans leave in batches every second; a margin for a busy laptop
# trace_id is on the lines of traced requests only: the signups' lines must have it (_follow_a_signup).
REQUEST_FIELDS = {"request_id", "route", "status", "duration_ms", "user_id"}
INSTANCES = ("app1", "app2")


def run(settings) -> CheckResult:
    current(settings).require((*INSTANCES, "worker"), "check 4 reads the app's log and trace files")
    started = time.time()
    before = {name: scrape(settings, name) for name in (*INSTANCES, "worker")}
    cookies = _log_in(settings)
    faults.set_fault("db_latency_match", FAULT_MATCH)
    faults.set_fault("db_latency_ms", FAULT_MS)
    try:
        sent, signups = _load(settings, cookies)
        probe = _probe(settings, sent)
    finally:
        faults.clear()
    created = {o.email for o in signups if o.status == 201}
    delivered = mailbox.deliveries(created, within_s=EMAIL_DEADLINE_S)
    time.sleep(SPAN_EXPORT_S)
    after = {name: scrape(settings, name) for name in (*INSTANCES, "worker")}

    reasons: list[str] = []
    measurements: dict = {
        "requests_sent": dict(sent), "signups": len(created), "emails_delivered": len(delivered), "probe": probe
    }
    if len(delivered) < len(created):
        reasons.append(
            f"{len(created) - len(delivered)} of {len(created)} welcome emails did not arrive within {EMAIL_DEADLINE_S} s: "
            "Lab 4 builds on Lab 3's worker (`scalelab check 3`)"
        )
    _metrics(before, after, sent, len(created), measurements, reasons)
    request_lines = _logs(started, measurements, reasons)
    _probe_line(probe, request_lines, measurements, reasons)
    problem = _follow_a_signup(signups, request_lines, measurements)
    if problem:
        reasons.append(problem)
    return CheckResult(not reasons, measurements, reasons)


# --- load ----------------------------------------------------------------------------------------------


class Signup:
    def __init__(self, response: requests.Response, email: str):
        self.status = response.status_code
        self.email = email
        self.request_id = response.headers.get("X-Request-ID")


def _log_in(settings) -> list[dict]:
    with ThreadPoolExecutor(max_workers=USERS) as pool:
        return list(pool.map(lambda pair: log_in(settings.app_url, *pair), seeded_credentials(USERS)))


def _load(settings, cookies: list[dict]) -> tuple[collections.Counter, list[Signup]]:
    """Readers cycle through ROUTES; signup clients sign up. Returns requests sent per route, and signups."""
    url = settings.app_url
    sent: collections.Counter = collections.Counter()
    signups: list[Signup] = []
    lock = threading.Lock()
    sign_up = signup_sender(url, f"obs-{uuid.uuid4().hex[:8]}", headers=traces.keep)

    def signup(client: int, n: int) -> requests.Response:
        response = sign_up(client, n)
        with lock:
            signups.append(Signup(response, json.loads(response.request.body)["email"]))
        return response

    with ThreadPoolExecutor(max_workers=1) as pool:
        signing_up = pool.submit(closed_loop, signup, SIGNUP_CLIENTS, SECONDS)
        closed_loop(route_reader(url, ROUTES, cookies, sent), USERS, SECONDS)
        signing_up.result()
    sent["/api/signup"] = len(signups)
    return sent, signups


def _probe(settings, sent: collections.Counter) -> dict:
    """Requests whose every detail the check chooses (step 3); returns what it sent and what came back."""
    app1 = f"http://{settings.address('app1')}"
    request_id = f"check4-{uuid.uuid4().hex[:12]}"
    not_sampled = f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-00"  # W3C traceparent, flags 00
    me = requests.get(f"{app1}/api/me", headers={"X-Request-ID": request_id, "traceparent": not_sampled}, timeout=30)
    sent["/api/me"] += 1
    for user_id in PROFILES:
        requests.get(f"{app1}/users/{user_id}", timeout=30)
    sent[PROFILE_RULE] += len(PROFILES)
    return {"request_id": request_id, "status": me.status_code, "x_request_id": me.headers.get("X-Request-ID")}


# --- metrics -------------------------------------------------------------------------------------------


def _delta(before: dict, after: dict, services, name: str, **labels) -> float:
    return sum(total(after[s], name, **labels) - total(before[s], name, **labels) for s in services)


def _metrics(before, after, sent: dict, signups: int, measurements: dict, reasons: list[str]) -> None:
    missing = [name for name in (*INSTANCES, "worker") if after[name] is None]
    if missing:
        reasons.append(
            f"{', '.join(missing)} answer 404 on /metrics: Chirp exports no metrics for Prometheus "
            "(broken_app/metrics.py; the worker's page is metrics.exposition())"
        )
    if any(after[name] is None for name in INSTANCES):
        return
    counted = {
        route: round(_delta(before, after, INSTANCES, "chirp_http_request_duration_seconds_count", route=route))
        for route in sent
    }
    measurements["requests_counted"] = counted
    off = {route: (counted[route], sent[route]) for route in sent if abs(counted[route] - sent[route]) > COUNT_TOLERANCE * sent[route]}
    if off:
        reasons.append(
            "chirp_http_request_duration_seconds_count, per route over app1 and app2, is off by more than 5% "
            f"(counted, sent): {off}: count every request once, labelled by its URL rule"
        )
    unauthorised = _delta(before, after, INSTANCES, "chirp_http_request_duration_seconds_count", route="/api/me", status="401")
    objective_bucket = any(
        name == "chirp_http_request_duration_seconds_bucket" and dict(labels).get("le") == OBJECTIVE_BUCKET
        for name, labels in after["app1"]
    )
    measurements["metrics_labels"] = {"me_401_counted": unauthorised, "bucket_at_0_3_s": objective_bucket}
    if unauthorised < 1:
        reasons.append(
            "the check's 401 on /api/me is not counted with status=\"401\": label each request with its status, "
            "or the errors cannot be told from the successes (broken_app/metrics.py)"
        )
    if not objective_bucket:
        reasons.append(
            "chirp_http_request_duration_seconds has no bucket edge at 0.3 s, the objective: the share of requests "
            "within 300 ms is then an estimate, not a count (broken_app/metrics.py)"
        )
    mean_ms = {
        route: round(
            1000 * _delta(before, after, INSTANCES, "chirp_http_request_duration_seconds_sum", route=route) / counted[route]
        )
        for route in ROUTES
        if counted[route]
    }
    measurements["mean_ms_by_route"] = mean_ms
    if not mean_ms or max(mean_ms, key=mean_ms.get) != FAULTED_ROUTE:
        reasons.append(
            f"with the check's hidden fault ({FAULT_MS} ms on one query), the metrics' slowest route is "
            f"{max(mean_ms, key=mean_ms.get) if mean_ms else 'none'}, not {FAULTED_ROUTE}: time every request, whole"
        )
    pool_size = sum(total(after[s], "chirp_db_pool_size") for s in INSTANCES)
    waits = _delta(before, after, INSTANCES, "chirp_db_pool_wait_seconds_count")
    has_checked_out = all(any(k[0] == "chirp_db_pool_checked_out" for k in after[s]) for s in INSTANCES)
    measurements["pool"] = {"size": pool_size, "checkouts_timed": waits, "checked_out_exported": has_checked_out}
    if pool_size <= 0 or waits <= 0 or not has_checked_out:
        reasons.append(
            "the DB pool metrics are missing: chirp_db_pool_size (above 0), chirp_db_pool_checked_out and "
            "chirp_db_pool_wait_seconds (one observation per checkout) on both instances"
        )
    if after["worker"] is not None:
        jobs = _delta(before, after, ("worker",), "chirp_celery_task_duration_seconds_count", outcome="success")
        measurements["email_jobs_counted"] = jobs
        if jobs < signups:
            reasons.append(
                f"the worker counted {jobs:.0f} successful jobs for {signups} signups: observe "
                "chirp_celery_task_duration_seconds for every task (task_prerun/task_postrun)"
            )


# --- logs and traces -----------------------------------------------------------------------------------


def _logs(started: float, measurements: dict, reasons: list[str]):
    # gunicorn's own lines ("[2026-11-29 05:04:16 +0000] [42] [INFO] ...") are gunicorn's, not Chirp's.
    lines = applogs.grep(r"^(?!\[\d{4}-)", since=started)
    not_json = lines[~lines.line.str.startswith("{")]
    records = applogs.records(since=started)
    measurements["log_lines"] = len(lines)
    measurements["log_lines_not_json"] = len(not_json)
    if len(not_json):
        reasons.append(
            f"{len(not_json)} of {len(lines)} lines logged by app1 and app2 are not JSON, for example: "
            f"{not_json.line.iloc[0][:100]!r} (broken_app/logs.py: structlog's JSONRenderer)"
        )
    if records.empty or "event" not in records:
        return None
    request_lines = records[records.event == "request"].reindex(columns=sorted({*records.columns, *REQUEST_FIELDS, "trace_id"}))
    ours = request_lines[request_lines.route.isin(ROUTES)]  # /metrics and /healthz are not traced
    lacking = REQUEST_FIELDS - set(records.columns)
    # user_id is null for a signup, whose user is not logged in yet; every other field has a value.
    incomplete = ours[ours[sorted(REQUEST_FIELDS - {"user_id"})].isna().any(axis=1)]
    if lacking or len(incomplete):
        reasons.append(
            f"request log lines lack {sorted(lacking) or 'some values'} ({len(incomplete)} of {len(ours)} incomplete): "
            f"log {', '.join(sorted(REQUEST_FIELDS))} on each request's line"
        )
    readers = ours[ours.route.isin(LOGGED_IN_ROUTES) & (ours.status == 200)]
    anonymous = readers[readers.user_id.isna()]
    measurements["logged_in_lines_without_user_id"] = f"{len(anonymous)} of {len(readers)}"
    if len(anonymous):
        reasons.append(
            f"{len(anonymous)} of {len(readers)} lines of logged-in readers ({', '.join(LOGGED_IN_ROUTES)}, 200) have no "
            "user_id: log the logged-in user's id (g.user) on each request's line (broken_app/logs.py)"
        )
    return request_lines


def _probe_line(probe: dict, request_lines, measurements: dict, reasons: list[str]) -> None:
    """The 401 of step 3: the caller's request id, on its answer and its line; no trace_id, as none was kept.
    Its line is found by the id it answered with, so that each of the two is graded on its own."""
    logs_py = "(broken_app/logs.py)"
    if probe["x_request_id"] != probe["request_id"]:
        reasons.append(
            f"app1 was sent X-Request-ID {probe['request_id']} and answered X-Request-ID {probe['x_request_id']}: take "
            f"the caller's X-Request-ID (nginx sets one), make one up only when there is none {logs_py}"
        )
    lines = request_lines[request_lines.request_id == probe["x_request_id"]] if request_lines is not None else None
    measurements["probe_lines"] = 0 if lines is None else len(lines)
    if lines is not None and lines.trace_id.notna().any():
        reasons.append(
            f"request {probe['x_request_id']}'s line carries trace_id {lines.trace_id.dropna().iloc[0]}, but its caller "
            "did not sample that trace (traceparent flags 00), so none of its spans was kept: a trace_id that leads "
            f"nowhere; log it only when the span is sampled (span.get_span_context().trace_flags.sampled) {logs_py}"
        )


def _follow_a_signup(signups: list[Signup], request_lines, measurements: dict) -> str | None:
    """From a signup's X-Request-ID to its log line, its trace, and the email job inside it."""
    ids = [s.request_id for s in signups if s.status == 201 and s.request_id]
    if not ids:
        return "no signup answered with an X-Request-ID header: return the request id to the caller"
    if request_lines is None or request_lines.empty:
        return "no JSON request line carries request_id and trace_id: a request id cannot lead to a trace"
    logged = request_lines[request_lines.request_id.isin(ids) & request_lines.trace_id.notna()]
    if logged.empty:
        return f"none of the {len(ids)} signups' request ids appears with a trace_id in the app logs"
    line = logged.iloc[-1]
    spans = traces.trace(line.trace_id)
    measurements["followed_trace"] = {"request_id": line.request_id, "trace_id": line.trace_id, "spans": len(spans)}
    servers = spans[spans.attributes.map(lambda a: a.get("chirp.request_id")) == line.request_id]
    if servers.empty:
        return (
            f"trace {line.trace_id} (from request {line.request_id}'s log line) has no span carrying that request id "
            "(attribute chirp.request_id): the log line and the trace must belong to the same request"
        )
    # db.system is also on Redis's spans; newer semantic conventions call it db.system.name.
    statements = spans[spans.attributes.map(lambda a: a.get("db.system", a.get("db.system.name")) == "postgresql")]
    measurements["followed_trace"]["sql_spans"] = len(statements)
    if statements.empty:
        return (
            f"trace {line.trace_id} holds no SQL statement's span (db.system postgresql): the signup's INSERT must "
            "show, or a slow query cannot be found in a trace (SQLAlchemyInstrumentor, broken_app/tracing.py)"
        )
    email_jobs = spans[spans.name.str.startswith("run/") & (spans.service == "worker")]
    root = servers.iloc[0].span_id
    if not any(traces.descends_from(spans, job, root) for job in email_jobs.span_id):
        return (
            f"trace {line.trace_id} holds no worker span (run/...) below the signup: instrument Celery on both "
            "sides, and start tracing in each worker process (worker_process_init)"
        )
    return None
