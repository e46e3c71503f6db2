"""Every service of the running stack answers over its real protocol."""

from __future__ import annotations

import collections
import smtplib
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage

import psycopg2
import pytest
import redis
import requests

from scalelab import stack
from scalelab.stack.smtp_provider import Mailbox


def _query(url: str, sql: str):
    conn = psycopg2.connect(url)
    conn.autocommit = True  # PgBouncer's admin console knows no BEGIN
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()
    finally:
        conn.close()


def test_sql_directly_to_postgres(lab_settings, running_stack):
    rows = _query(lab_settings.postgres_url("chirp", user="chirp"), "SELECT current_user, current_setting('port')")
    assert rows == [("chirp", str(lab_settings.port("POSTGRES")))]


def test_sql_through_pgbouncer_reaches_the_same_database(lab_settings, running_stack):
    direct = _query(lab_settings.postgres_url("chirp", user="chirp"), "SELECT system_identifier FROM pg_control_system()")
    pooled = _query(
        lab_settings.postgres_url("chirp", user="chirp", via_pgbouncer=True),
        "SELECT system_identifier FROM pg_control_system()",
    )
    assert pooled == direct
    pools = _query(lab_settings.postgres_url("pgbouncer", via_pgbouncer=True), "SHOW POOLS")
    assert any(row[0] == "chirp" for row in pools), pools


def test_postgres_has_the_lab_settings(lab_settings, running_stack):
    rows = _query(
        lab_settings.postgres_url("chirp"),
        "SELECT current_setting('max_connections'), current_setting('shared_preload_libraries')",
    )
    assert rows == [(lab_settings["POSTGRES_MAX_CONNECTIONS"], "pg_stat_statements")]


def test_redis_set_and_get(lab_settings, running_stack):
    client = redis.Redis(port=lab_settings.port("REDIS"))
    key = f"test:{uuid.uuid4()}"
    client.set(key, "hello", ex=30)
    assert client.get(key) == b"hello"
    assert client.config_get("port")["port"] == str(lab_settings.port("REDIS"))


def test_smtp_send_is_listed_by_the_provider(lab_settings, running_stack):
    message = EmailMessage()
    marker = f"integration-{uuid.uuid4()}"
    message["From"] = "test@chirp.test"
    message["To"] = "someone@chirp.test"
    message["Subject"] = marker
    message["Message-ID"] = f"<{marker}@chirp.test>"
    message.set_content("hello")
    with smtplib.SMTP("127.0.0.1", lab_settings.port("SMTP"), timeout=10) as smtp:
        smtp.send_message(message)
    listed = requests.get(f"{lab_settings.smtp_api_url}/messages", timeout=5).json()
    matching = [m for m in listed if m["subject"] == marker]
    assert len(matching) == 1
    assert matching[0]["to"] == ["someone@chirp.test"]
    assert matching[0]["message_id"] == f"<{marker}@chirp.test>"


def test_smtp_faults_change_while_it_runs(lab_settings, running_stack):
    api = lab_settings.smtp_api_url
    try:
        assert requests.put(f"{api}/faults", json={"latency_ms": 400}, timeout=5).json()["latency_ms"] == 400
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "t@chirp.test", "u@chirp.test", "slow"
        message.set_content("x")
        started = time.monotonic()
        with smtplib.SMTP("127.0.0.1", lab_settings.port("SMTP"), timeout=10) as smtp:
            smtp.send_message(message)
        assert time.monotonic() - started >= 0.4
        requests.put(f"{api}/faults", json={"latency_ms": 0, "failure_rate": 1.0}, timeout=5)
        with smtplib.SMTP("127.0.0.1", lab_settings.port("SMTP"), timeout=10) as smtp:
            try:
                smtp.send_message(message)
                raise AssertionError("a failure rate of 1.0 must refuse every message")
            except smtplib.SMTPDataError as exc:
                assert exc.smtp_code == 451
        assert requests.put(f"{api}/faults", json={"failure_rate": 2}, timeout=5).status_code == 400
    finally:
        requests.put(f"{api}/faults", json={"latency_ms": 0, "failure_rate": 0}, timeout=5)


@pytest.mark.parametrize("rate, messages, failures", [(0.2, 30, 6), (0.2, 3, 1), (0.25, 8, 2), (0.0, 50, 0), (1.0, 7, 7)])
def test_smtp_failures_are_spread_evenly_at_the_rate(tmp_path, rate, messages, failures):
    """A lesson's wave of 30 signups at 0.2 meets its 6 failures every time, not by chance."""
    mailbox = Mailbox(tmp_path / "messages.jsonl", latency_ms=0, failure_rate=0)
    mailbox.set_faults({"failure_rate": rate})
    outcomes = [mailbox.fails_next() for _ in range(messages)]
    assert sum(outcomes) == failures
    assert not any(outcomes[i] and outcomes[i + 1] for i in range(messages - 1)) or rate > 0.5, "a retry meets the next slot"


def test_every_prometheus_target_is_up(lab_settings, running_stack):
    """The exporters' targets are up. Chirp's own (app1, app2, worker) are scraped too, but answer only
    once Lab 4 gives Chirp metrics: tests/labs/test_lab4.py checks them."""
    services = {"prometheus", "postgres", "redis", "nginx"}
    deadline = time.monotonic() + 30  # a target is "unknown" until its first scrape (5 s interval)
    while True:
        targets = requests.get(f"{lab_settings.prometheus_url}/api/v1/targets", timeout=5).json()["data"]["activeTargets"]
        health = {t["labels"]["job"]: t["health"] for t in targets if t["labels"]["job"] in services}
        if all(h == "up" for h in health.values()) or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert {t["labels"]["job"] for t in targets} == services | {"chirp", "chirp_worker"}
    assert set(health) == services and all(h == "up" for h in health.values()), health
    # And the exporters really read their service: PromQL over each one's own "up" metric.
    for metric in ("pg_up", "redis_up", "nginx_up"):
        result = requests.get(f"{lab_settings.prometheus_url}/api/v1/query", params={"query": metric}, timeout=5).json()
        values = [float(r["value"][1]) for r in result["data"]["result"]]
        assert values == [1.0], (metric, result)


def test_nginx_spreads_new_connections_over_both_instances(lab_settings, running_stack):
    served_by = []
    for _ in range(20):
        # A fresh connection each time (no Session): what many different users look like.
        response = requests.get(f"{lab_settings.app_url}/api/feed?limit=1", timeout=10)
        assert response.status_code == 200
        served_by.append(response.headers["X-Served-By"])
    assert set(served_by) == {"app1", "app2"}
    # Round-robin: neither instance takes more than twice its share.
    assert max(served_by.count("app1"), served_by.count("app2")) <= 14, served_by


def test_nginx_limits_the_requests_that_hash_a_password_when_told(lab_settings, running_stack):
    """SCALELAB_NGINX_LOGIN_RATE (0 by default: no limit): POSTs to the login and signup routes beyond
    the rate and its queue get 429 with Retry-After; GETs of the same pages, and other routes, never."""
    running = stack.current(lab_settings)
    attempt = {"email": "nobody@chirp.test", "password": "not the password"}  # 401: no hash, quick

    def thirty_logins() -> collections.Counter:
        with ThreadPoolExecutor(max_workers=30) as pool:
            answers = list(pool.map(lambda _: requests.post(f"{lab_settings.app_url}/api/login", json=attempt, timeout=30), range(30)))
        return collections.Counter((answer.status_code, answer.headers.get("Retry-After")) for answer in answers)

    assert thirty_logins() == {(401, None): 30}
    try:
        running.restart(["nginx"], env={"SCALELAB_NGINX_LOGIN_RATE": "4", "SCALELAB_NGINX_LOGIN_BURST": "4"})
        limited = thirty_logins()
        pages = {requests.get(f"{lab_settings.app_url}/login", timeout=10).status_code for _ in range(10)}
    finally:
        running.restart(["nginx"])
    # 1 at once and 4 queued within the run's second or so; Retry-After is the queue's drain time, burst / rate.
    assert limited[(429, "1")] >= 20 and limited[(401, None)] >= 5 and sum(limited.values()) == 30, limited
    assert pages == {200}


def test_jupyterlab_and_locust_answer(lab_settings, running_stack):
    assert "version" in requests.get(f"http://127.0.0.1:{lab_settings.port('JUPYTER')}/api", timeout=5).json()
    locust = requests.get(f"http://127.0.0.1:{lab_settings.port('LOCUST')}/", timeout=5)
    assert locust.status_code == 200 and "locust" in locust.text.lower()
