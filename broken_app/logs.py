"""Logging: lines printed to standard output.

Fragile on purpose (Lab 4): print() is all there is. No levels, no request ids, no structure
and no metrics: to learn the error rate or the latency, somebody greps the log of every
instance. Lab 4 adds structured logs and metrics.

Unexpected exceptions, such as the pool's "QueuePool limit of size 5 overflow 10 reached" or
PostgreSQL's "sorry, too many clients already", are printed with their message and traceback,
and the client gets a 500 with a JSON error.
"""

import os
import time
import traceback
from datetime import datetime, timezone
from urllib.parse import quote

from flask import g, request


def log(message: str) -> None:
    timestamp = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    # One write per entry (newline included), so that concurrent threads never split a line.
    print(f"{timestamp} pid={os.getpid()} {message}\n", end="", flush=True)


def start_timer() -> None:
    g.request_started = time.perf_counter()


def log_request(response):
    milliseconds = (time.perf_counter() - g.request_started) * 1000
    log(f"{request.method} {_target()} {response.status_code} {milliseconds:.0f}ms")
    return response


def log_unexpected_error(error: Exception):
    error_class = f"{type(error).__module__}.{type(error).__qualname__}"
    message = str(error).replace("\n", " ")
    trace = "".join(traceback.format_exception(error)).rstrip("\n")
    log(f"ERROR {request.method} {_target()} {error_class}: {message}\n{trace}")
    return {"error": "internal server error"}, 500


def _target() -> str:
    """The request's path and query string, percent-encoded: one line of printable ASCII."""
    target = quote(request.path)
    if request.query_string:
        target += "?" + quote(request.query_string, safe="=&%+")
    return target


def init_app(app) -> None:
    app.before_request(start_timer)
    app.after_request(log_request)
    app.register_error_handler(Exception, log_unexpected_error)
