"""Chirp's job queue as an operator sees it: the Redis list its Celery app pushes jobs onto.

A worker takes a job with BRPOP, which removes it from the list, and only then records it as taken
(kombu's `unacked` hash), where acks late and the visibility timeout can bring it back. So a job that
is no longer waiting is either being recorded (an instant) or recorded.
"""

from __future__ import annotations

from scalelab.kit import stackredis

QUEUE = "celery"  # Celery's default queue: every Chirp job goes to it


def waiting(settings) -> int:
    """How many jobs wait in the queue for a worker to take them."""
    with stackredis.answering():
        return stackredis.client(settings).llen(QUEUE)
