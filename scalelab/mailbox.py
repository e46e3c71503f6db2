"""A client for the stack's SMTP email provider's HTTP API (see smtp_provider.py)."""

from __future__ import annotations

import requests

from scalelab import settings as settings_module
from scalelab.errors import LabError, StackNotRunning


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
