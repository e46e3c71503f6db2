"""Faults injected into the running stack, for labs, checks and drills (`scalelab fault`).

The SMTP provider's faults are set over its HTTP API, live.
"""

from __future__ import annotations

from scalelab import mailbox
from scalelab.errors import LabError

SMTP_FAULTS = {"smtp_latency_ms": "latency_ms", "smtp_failure_rate": "failure_rate"}


def set_fault(name: str, value: float) -> dict[str, float]:
    if name not in SMTP_FAULTS:
        raise LabError(f"unknown fault {name!r}: choose one of {', '.join(SMTP_FAULTS)}")
    mailbox.set_faults(**{SMTP_FAULTS[name]: value})
    return current()


def current() -> dict[str, float]:
    smtp = mailbox.faults()
    return {name: smtp[key] for name, key in SMTP_FAULTS.items()}


def clear() -> dict[str, float]:
    mailbox.set_faults(latency_ms=0, failure_rate=0)
    return current()
