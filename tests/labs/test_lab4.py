"""Lab 4's reference fix, on the real stack: every query of the Grafana dashboards and alert rules returns
data from the real Prometheus scraping the solved app under load, and the multiprocess metrics are
done right (a fresh count after a restart, a dead worker's gauges dropped).

Grafana itself cannot run here (Docker mode only); its dashboards' JSON is checked statically by
tests/kit/test_dashboards.py. The check failing on the broken app is tested by
tests/labs/test_checks_fail_then_pass.py; passing after `scalelab solve 4`, by the solution notebook
under nbval (tests/notebooks/test_nbval.py).
"""

from __future__ import annotations

import signal
import time

import pandas as pd
import psutil
import pytest
import requests

from scalelab import stack
from scalelab.course import catalogue
from scalelab.course.checks import lab4
from scalelab.kit import dashboards, exposition, plots, prom
from scalelab.kit.clients import signup_wave
from scalelab.stack.native import process

LAB = catalogue.find("4")  # the lab the `solved` fixture (conftest.py) solves
LOAD_S = 20  # 4 scrapes at Prometheus's 5 s interval: enough for rate() over 1m


@pytest.fixture(scope="module")
def scraped_under_load(solved):
    """The solved stack after LOAD_S of signups (so email jobs) and feed reads, as Prometheus saw it."""
    wave = signup_wave(solved.app_url, 2, 4, LOAD_S)
    refused = [outcome for outcome in wave.signups if outcome.status != 201]
    assert wave.signups and not refused, f"signups that did not answer 201: {refused}"
    time.sleep(6)  # one more scrape after the load
    return solved


@pytest.mark.parametrize("where, expr", dashboards.promql_expressions(), ids=lambda value: value[:60])
def test_every_dashboard_and_alert_query_returns_data(scraped_under_load, where, expr):
    result = prom.query(expr)
    assert not result.empty, f"{where}: `{expr}` returned no data from Prometheus"


def test_a_restarted_instance_counts_from_zero_over_all_its_workers(solved):
    """on_starting wipes PROMETHEUS_MULTIPROC_DIR: the last run's files would add to this run's counts.
    And a scrape reaches one worker process, yet counts the requests of all of them."""
    stack.current(solved).restart(["app1"])
    for _ in range(30):  # a new connection each: gunicorn's workers take turns accepting
        assert requests.get(f"http://{solved.address('app1')}/api/feed?limit=5", timeout=10).status_code == 200
    samples = exposition.scrape(solved, "app1")
    assert exposition.total(samples, "chirp_http_request_duration_seconds_count", route="/api/feed") == 30


def test_a_dead_workers_gauges_stop_counting(solved):
    """child_exit marks a dead worker's files dead, so livesum gauges (the pools' size) drop it."""
    app1 = f"http://{solved.address('app1')}"

    def pool_size() -> float:
        for _ in range(20):  # every worker checks a connection out, and so reports its pool
            requests.get(f"{app1}/api/feed?limit=5", timeout=10)
        return exposition.total(exposition.scrape(solved, "app1"), "chirp_db_pool_size")

    before = pool_size()
    assert before > 0
    workers = psutil.Process(process.running_pid("app1")).children()
    workers[0].send_signal(signal.SIGKILL)
    psutil.wait_procs([workers[0]], timeout=10)
    deadline = time.monotonic() + 30  # gunicorn's master starts a new worker
    while len(psutil.Process(process.running_pid("app1")).children()) < len(workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert pool_size() == before, "a killed worker's pool is still counted: call mark_process_dead in child_exit"


@pytest.mark.parametrize("name", sorted(p.stem for p in dashboards.DASHBOARDS.glob("*.json")))
def test_the_notebook_draws_each_dashboard_from_prometheus(scraped_under_load, name):
    end = pd.Timestamp.now(tz="UTC")
    figure = plots.dashboard(name, end - pd.Timedelta(minutes=2), end)
    drawn = [axes for axes in figure.axes if axes.get_visible()]
    assert drawn and all(axes.lines for axes in drawn), f"{name}: a panel drew no line"


# --- check 4's measurements of labels, request ids, user ids and SQL spans, shown to fail on half fixes ------

# Three half fixes a learner could make, one per module, in one run of the check: each measurement reads
# one module's work only (the metrics' labels and buckets, the log lines' fields, the trace's spans), and
# each reason names its module, so one run shows what three would, for a third of the CI minutes.
HALF_FIXES = {
    "broken_app/metrics.py": [
        ("0.2, OBJECTIVE_S, 0.5", "0.25, 0.5"),  # no bucket edge at the objective
        ("REQUEST_DURATION.labels(request.method, route, str(response.status_code))",
         'REQUEST_DURATION.labels(request.method, request.path, "200")'),  # the path, one status
    ],
    "broken_app/logs.py": [
        ('request.headers.get("X-Request-ID") or uuid.uuid4().hex', "uuid.uuid4().hex"),  # the caller's id ignored
        ("if context.is_valid and context.trace_flags.sampled:", "if context.is_valid:"),  # unkept traces' ids
        ("user_id=user.id if user is not None else None", "user_id=None"),
    ],
    "broken_app/tracing.py": [("def trace_sql(connection) -> None:\n", "def trace_sql(connection) -> None:\n    return\n")],
}


def half_fixed_module(path: str) -> bytes:
    text = (LAB.solution_dir / path).read_text()
    for old, new in HALF_FIXES[path]:
        assert old in text, f"{path} no longer holds {old!r}: update HALF_FIXES"
        text = text.replace(old, new)
    return text.encode()


@pytest.mark.wall
def test_check_4_fails_on_half_fixes_of_metrics_logs_and_tracing(half_fixed, monkeypatch):
    monkeypatch.setattr(lab4, "SECONDS", 5)  # what is graded here needs a few requests, not the check's 12 s
    with half_fixed({path: half_fixed_module(path) for path in HALF_FIXES}) as settings:  # app1 and app2
        result = lab4.run(settings)
    reasons = "\n".join(result.reasons)
    assert not result.passed
    for expected in ("labelled by its URL rule", 'status="401"', "bucket edge at 0.3 s", "no user_id",
                     "take the caller's X-Request-ID", "did not sample that trace", "no SQL statement's span"):
        assert expected in reasons, f"{expected!r} not among the reasons:\n{reasons}"
