"""Faults injected into the running stack, for labs, checks and drills (`scalelab fault`).

The email provider's faults are set over its HTTP API. The database's live in the stack's Redis
(hash `scalelab:faults`), where Chirp's lab_faults.py reads them: PostgreSQL has no latency knob.
Every fault is off (0 or empty) unless set.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from scalelab.errors import LabError
from scalelab.kit import mailbox, stackredis
from scalelab.stack import settings as settings_module

REDIS_KEY = "scalelab:faults"  # the same key as broken_app/lab_faults.py
# Each app worker re-reads the faults in Redis at most once a second (lab_faults.py's REFRESH_S): a
# fault set now is in force everywhere this long after.
APP_SEES_FAULTS_WITHIN_S = 1.2


@dataclass(frozen=True)
class Fault:
    name: str
    kind: type  # int, float or str
    meaning: str
    example: str
    maximum: float | None = None  # numbers are never negative


FAULTS = {
    fault.name: fault
    for fault in (
        Fault("smtp_latency_ms", int, "the email provider waits this long before it answers each message", "1000"),
        Fault("smtp_failure_rate", float, "the share of messages (0 to 1) the email provider refuses with 451", "0.2", 1),
        Fault("db_latency_ms", int, "every matching SQL query sleeps this long in PostgreSQL first", "200"),
        Fault("db_latency_match", str, "db_latency_ms applies only to queries containing this text (empty: all)", "'FROM posts'"),
        Fault(
            "db_leak_rate", float,
            "the share of requests (0 to 1) that keep a DB connection for good; `scalelab restart app1 app2` frees them",
            "0.1", 1,
        ),
    )
}
SMTP_KEYS = {"smtp_latency_ms": "latency_ms", "smtp_failure_rate": "failure_rate"}


def _redis() -> redis.Redis:
    return stackredis.client(settings_module.load())


def _parse(name: str, value: str | float):
    """The fault's value in its own type, or a one-line error with an example."""
    if name not in FAULTS:
        raise LabError(f"unknown fault {name!r}: choose one of {', '.join(FAULTS)}")
    fault = FAULTS[name]
    example = f"e.g. `scalelab fault {name} {fault.example}`"
    if fault.kind is str:
        return str(value)
    kinds = {int: "a whole number", float: "a number"}
    try:
        parsed = fault.kind(value)
    except ValueError:
        raise LabError(f"{name} takes {kinds[fault.kind]}, not {value!r}: {example}") from None
    if parsed < 0 or (fault.maximum is not None and parsed > fault.maximum):
        upper = f"up to {fault.maximum:g}" if fault.maximum is not None else "or more"
        raise LabError(f"{name} must be 0 {upper}, not {value!r}: {example}")
    return parsed


def set_fault(name: str, value: str | float) -> dict:
    parsed = _parse(name, value)
    if name in SMTP_KEYS:
        mailbox.set_faults(**{SMTP_KEYS[name]: parsed})
    else:
        with stackredis.answering():
            _redis().hset(REDIS_KEY, name, str(parsed))
    return current()


def current() -> dict:
    smtp = mailbox.faults()
    with stackredis.answering():
        stored = {k.decode(): v.decode() for k, v in _redis().hgetall(REDIS_KEY).items()}
    values = {name: smtp[key] for name, key in SMTP_KEYS.items()}
    for name in (name for name in FAULTS if name not in SMTP_KEYS):  # the rest live in Redis
        values[name] = FAULTS[name].kind(stored.get(name, FAULTS[name].kind()))
    return values


def clear() -> dict:
    mailbox.set_faults(latency_ms=0, failure_rate=0)
    with stackredis.answering():
        _redis().delete(REDIS_KEY)
    return current()
