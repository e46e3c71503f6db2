"""A client for the stack's SMTP email provider's HTTP API (see smtp_provider.py)."""

from __future__ import annotations

import collections
import time

import requests

from scalelab.errors import LabError, StackNotRunning
from scalelab.stack import settings as settings_module


def _call(method: str, path: str, **kwargs) -> requests.Response:
    url = settings_module.load().smtp_api_url + path
    try:
        response = requests.request(method, url, timeout=5, **kwargs)
    except requests.RequestException:
        raise StackNotRunning("the lab stack is not running (no email provider answers): run `make up`") from None
    if response.status_code >= 400:
        raise LabError(f"the email provider refused: {response.json().get('error', response.text)}")
    return response


def messages() -> list[dict]:
    """Every delivered message: to, from, subject, message_id, idempotency_key, time."""
    return _call("GET", "/messages").json()


def deliveries(addresses: set[str], within_s: float = 0) -> dict[str, int]:
    """How many messages each of these addresses got; waits up to `within_s` for every one to have one."""
    deadline = time.monotonic() + within_s
    while True:
        counts = collections.Counter(to for message in messages() for to in message["to"] if to in addresses)
        if set(counts) == addresses or time.monotonic() >= deadline:
            return dict(counts)
        time.sleep(1)


def stats() -> dict:
    """{"delivered": n, "duplicates_dropped": n}: messages a repeated idempotency key kept from going out twice."""
    return _call("GET", "/stats").json()


def clear() -> None:
    _call("DELETE", "/messages")


def faults() -> dict:
    return _call("GET", "/faults").json()


def set_faults(**changes: float) -> dict:
    """latency_ms and/or failure_rate; returns the provider's faults after the change."""
    return _call("PUT", "/faults", json=changes).json()
