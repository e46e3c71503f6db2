"""The stack's Redis, as the toolkit reads and writes it from outside: the faults, the job queue and
the feed cache's entries all live there."""

from __future__ import annotations

import contextlib

import redis

from scalelab.errors import StackNotRunning


def client(settings) -> redis.Redis:
    """A client of the stack's Redis (database 0, Chirp's), which gives up on an answer after 5 s."""
    return redis.Redis.from_url(f"redis://{settings.address('redis')}/0", socket_timeout=5)


@contextlib.contextmanager
def answering():
    """Redis not answering, inside the block, becomes the one-line error that names the fix."""
    try:
        yield
    except redis.RedisError:
        raise StackNotRunning("the lab stack is not running (Redis does not answer): run `make up`") from None
