"""Closed-loop HTTP clients on threads: N clients, each sending its next request as soon as the last
one answers, for a fixed time. Used where a scenario must be exact (N concurrent signups, N logged-in
users on fresh connections) rather than a Locust profile's mix. Nothing here imports gevent.
"""

from __future__ import annotations

import collections
import csv
import io
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import requests
from PIL import Image

from scalelab.errors import StackNotRunning
from scalelab.paths import SEED_CREDENTIALS


@dataclass(frozen=True)
class Outcome:
    client: int
    status: int  # 0 when no HTTP answer came (connection refused, timeout)
    seconds: float
    served_by: str
    error: str = ""
    started_at: float = 0.0  # time.monotonic() when the request was sent

    def overlaps(self, start: float, end: float) -> bool:
        """Was this request in flight at some moment between these two time.monotonic() readings?"""
        return self.started_at <= end and self.started_at + self.seconds >= start


def timed(client: int, send: Callable[[], requests.Response]) -> Outcome:
    started_at, started = time.monotonic(), time.perf_counter()
    try:
        response = send()
    except requests.RequestException as exc:
        return Outcome(client, 0, time.perf_counter() - started, "", f"{type(exc).__name__}: {exc}", started_at)
    error = ""
    if response.status_code >= 400 and "json" in response.headers.get("Content-Type", ""):
        error = str(response.json().get("error", ""))
    served_by = response.headers.get("X-Served-By", "")
    return Outcome(client, response.status_code, time.perf_counter() - started, served_by, error, started_at)


def closed_loop(
    send: Callable[[int, int], requests.Response], clients: int, seconds: float, pace_s: float = 0.0
) -> list[Outcome]:
    """Run `send(client, n)` (its n-th request) in `clients` threads until `seconds` have passed.

    pace_s: each client sends its next request no sooner than pace_s after its last one started, so
    that a fast machine does not send more work than a slow one (0: as soon as the last one answered).
    Requests still in flight at the deadline are waited for and counted.
    """
    deadline = time.monotonic() + seconds
    outcomes: list[Outcome] = []
    lock = threading.Lock()

    def loop(client: int) -> None:
        n = 0
        while time.monotonic() < deadline:
            outcome = timed(client, lambda: send(client, n))
            n += 1
            with lock:
                outcomes.append(outcome)
            time.sleep(max(0.0, min(outcome.started_at + pace_s, deadline) - time.monotonic()))

    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(loop, range(clients)))
    return outcomes


def signup_sender(
    url: str, run: str, headers: Callable[[], dict[str, str]] = dict
) -> Callable[[int, int], requests.Response]:
    """Each request signs up a new user (a welcome email goes out), on a new connection, with headers()."""

    def send(client: int, n: int) -> requests.Response:
        email = f"wave-{run}-{client}-{n}@chirp.test"
        body = {"name": f"Wave {client}-{n}", "email": email, "password": "wave-password"}
        return requests.post(f"{url}/api/signup", json=body, headers=headers(), timeout=120)

    return send


def feed_reader(url: str) -> Callable[[int, int], requests.Response]:
    """Each request reads the public feed, on a new connection."""
    return lambda client, n: requests.get(f"{url}/api/feed?limit=20", timeout=120)


class Gate:
    """Holds clients' requests while shut and counts those under way, so that a check can make a quiet
    moment: shut() returns once no request it let through is still waiting for its answer."""

    def __init__(self) -> None:
        self._open = True
        self._under_way = 0
        self._changed = threading.Condition()

    def through(self, send: Callable[[int, int], requests.Response]) -> Callable[[int, int], requests.Response]:
        def gated(client: int, n: int) -> requests.Response:
            with self._changed:
                self._changed.wait_for(lambda: self._open)
                self._under_way += 1
            try:
                return send(client, n)
            finally:
                with self._changed:
                    self._under_way -= 1
                    self._changed.notify_all()

        return gated

    def shut(self, timeout_s: float = 120) -> None:
        with self._changed:
            self._open = False
            self._changed.wait_for(lambda: self._under_way == 0, timeout_s)

    def open(self) -> None:
        with self._changed:
            self._open = True
            self._changed.notify_all()


@dataclass
class SignupWave:
    run_id: str  # in the address of every account it signed up: wave-<run_id>-<client>-<n>@chirp.test
    signups: list[Outcome]
    reads: list[Outcome]


def signup_wave(
    url: str, signups: int, readers: int, seconds: float, signup_pace_s: float = 0.0,
    run_id: str = "", gate: Gate | None = None,
) -> SignupWave:
    """`signups` clients signing up and `readers` reading the feed, at the same time, for `seconds`;
    each signup client at most once per signup_pace_s (see closed_loop), and only while `gate` is open."""
    run_id = run_id or uuid.uuid4().hex[:8]
    signed_up: list[Outcome] = []
    sender = signup_sender(url, run_id)
    if gate:
        sender = gate.through(sender)
    wave = threading.Thread(target=lambda: signed_up.extend(closed_loop(sender, signups, seconds, signup_pace_s)))
    wave.start()
    reads = closed_loop(feed_reader(url), readers, seconds)
    wave.join()
    return SignupWave(run_id, signed_up, reads)


def me_reader(url: str, cookies: list[dict[str, str]]) -> Callable[[int, int], requests.Response]:
    """Each request asks who is logged in (GET /api/me), with client i's session cookie, on a new
    connection: nginx may send it to any instance, as it would a browser's next request."""
    return lambda client, n: requests.get(f"{url}/api/me", cookies=cookies[client], timeout=120)


def route_reader(
    url: str, routes: tuple[str, ...], cookies: list[dict[str, str]], sent: collections.Counter | None = None
) -> Callable[[int, int], requests.Response]:
    """Client i, logged in with cookies[i], GETs each of `routes` in turn, on a new connection each time.
    `sent`, when given, counts the requests sent per route (safe across the clients' threads)."""
    lock = threading.Lock()

    def send(client: int, n: int) -> requests.Response:
        route = routes[n % len(routes)]
        if sent is not None:
            with lock:
                sent[route] += 1
        return requests.get(f"{url}{route}", cookies=cookies[client], timeout=120)

    return send


def seeded_credentials(count: int) -> list[tuple[str, str]]:
    """The first `count` (email, password) pairs the seed wrote."""
    if not SEED_CREDENTIALS.exists():
        raise FileNotFoundError(f"{SEED_CREDENTIALS} is missing: `make up` seeds the database and writes it")
    with SEED_CREDENTIALS.open(newline="") as file:
        rows = list(csv.DictReader(file))[:count]
    return [(row["email"], row["password"]) for row in rows]


# How a Locust user reports a 429 from nginx's login limit (locustfile.py), so that runs can count them.
EDGE_REFUSED = "429: the edge asked to come back later (Retry-After)"


def log_in(url: str, email: str, password: str) -> dict[str, str]:
    """Log in through `url` and return the session cookie(s) it set."""
    response = requests.post(f"{url}/api/login", json={"email": email, "password": password}, timeout=60)
    response.raise_for_status()
    return response.cookies.get_dict()


def avatar_png(size: int = 400) -> bytes:
    """A plain square PNG, for avatar uploads."""
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), (29, 161, 242)).save(buffer, "PNG")
    return buffer.getvalue()


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), nearest-rank: no interpolation between two observed values."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


# nginx answers these itself when no app instance behind it does.
NO_UPSTREAM = {502, 504}


def require_app(app_url: str) -> None:
    """Raise StackNotRunning unless something behind nginx answers."""
    url = f"{app_url}/healthz"
    try:
        response = requests.get(url, timeout=10)
    except requests.Timeout:
        return  # slow, but there: grading or loading a slow app is the caller's job
    except requests.RequestException:
        raise StackNotRunning(f"the lab stack is not running (nothing answers {app_url}): run `make up`") from None
    if response.status_code in NO_UPSTREAM:
        raise StackNotRunning(
            f"nginx answers but no app instance does (HTTP {response.status_code} from {url}): "
            "run `scalelab status`, then `make up`"
        )
