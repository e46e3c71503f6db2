"""The email provider on its own: persistence across a restart, and the relay to a mail UI (Docker)."""

from __future__ import annotations

import smtplib
import subprocess
import sys
import time
from email.message import EmailMessage

import pytest
import requests
from aiosmtpd.controller import Controller


class Collector:
    def __init__(self):
        self.received = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append(envelope)
        return "250 OK"


@pytest.fixture
def provider(tmp_path, free_port):
    """Start the provider as its own process (as the stack does); yields a function that (re)starts it."""
    processes = []
    smtp_port, api_port = free_port(), free_port()

    def start(*extra: str):
        process = subprocess.Popen(
            [sys.executable, "-m", "scalelab.stack.smtp_provider", "--smtp-port", str(smtp_port), "--api-port", str(api_port),
             "--store", str(tmp_path / "messages.jsonl"), *extra]
        )
        processes.append(process)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                requests.get(f"http://127.0.0.1:{api_port}/health", timeout=1)
                return smtp_port, f"http://127.0.0.1:{api_port}"
            except requests.RequestException:
                time.sleep(0.1)
        raise AssertionError("the provider did not start")

    yield start
    for process in processes:
        process.terminate()
        process.wait(10)


def send(port: int, subject: str, idempotency_key: str = "") -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@chirp.test", "b@chirp.test", subject
    if idempotency_key:
        message["X-Chirp-Idempotency-Key"] = idempotency_key
    message.set_content("hi")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.send_message(message)


def test_a_second_message_with_the_same_idempotency_key_is_accepted_but_not_delivered(provider):
    smtp_port, api = provider()
    send(smtp_port, "first", idempotency_key="welcome-1")
    send(smtp_port, "again", idempotency_key="welcome-1")  # answered 250: smtplib raises on anything else
    send(smtp_port, "another user", idempotency_key="welcome-2")
    send(smtp_port, "no key")
    send(smtp_port, "no key either")
    assert [m["subject"] for m in requests.get(f"{api}/messages", timeout=5).json()] == [
        "first", "another user", "no key", "no key either"
    ]
    assert requests.get(f"{api}/stats", timeout=5).json() == {"delivered": 4, "duplicates_dropped": 1}


def test_idempotency_keys_outlive_a_restart(provider):
    port, api = provider()
    send(port, "first", idempotency_key="welcome-1")
    subprocess.run(["pkill", "-f", f"--smtp-port {port}"], check=False)
    time.sleep(0.5)
    port, api = provider()
    send(port, "again, after the restart", idempotency_key="welcome-1")
    assert [m["subject"] for m in requests.get(f"{api}/messages", timeout=5).json()] == ["first"]


def test_delivered_messages_survive_a_restart(provider):
    port, api = provider()
    send(port, "kept")
    requests.delete(f"{api}/messages", timeout=5)
    send(port, "kept after clearing")
    subprocess.run(["pkill", "-f", f"--smtp-port {port}"], check=False)
    time.sleep(0.5)
    port, api = provider()
    assert [m["subject"] for m in requests.get(f"{api}/messages", timeout=5).json()] == ["kept after clearing"]


def test_each_delivered_message_is_relayed_to_the_mail_ui(provider, free_port):
    collector = Collector()
    relay = Controller(collector, hostname="127.0.0.1", port=free_port())
    relay.start()
    try:
        port, _ = provider("--relay", f"127.0.0.1:{relay.port}")
        send(port, "copy me")
        deadline = time.monotonic() + 10
        while not collector.received and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        relay.stop()
    assert len(collector.received) == 1
    assert b"Subject: copy me" in collector.received[0].content
