"""Locust journeys against Chirp, driven by a profile from scalelab/kit/profiles.py.

Run by Locust in its own process (`scalelab load`, and the stack's Locust web UI): never import this
module from the toolkit or a notebook, because importing locust patches the whole process with gevent.

The runner passes the profile as JSON in SCALELAB_LOAD_PROFILE, the seed in SCALELAB_LOAD_SEED and the
seeded users' credentials file in SCALELAB_CREDENTIALS. Without them (the web UI), Locust uses the
`baseline` profile and whatever user count you type in.
"""

from __future__ import annotations

import csv
import itertools
import json
import os
import random
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

from locust import FastHttpUser, LoadTestShape, runners, task
from requests.cookies import create_cookie
from urllib3 import encode_multipart_formdata

from scalelab.kit.clients import EDGE_REFUSED, avatar_png
from scalelab.kit.profiles import PROFILES, Profile

PROFILE = (
    Profile.from_json(os.environ["SCALELAB_LOAD_PROFILE"])
    if "SCALELAB_LOAD_PROFILE" in os.environ
    else PROFILES["baseline"]
)
SEED = int(os.environ.get("SCALELAB_LOAD_SEED", "42"))
RUN_ID = os.environ.get("SCALELAB_RUN_ID", uuid.uuid4().hex[:8])
# With --processes, the master drops a worker that misses 3 one-second heartbeats, and a run whose
# workers are all dropped ends early. A wall run saturates the machine on purpose, and a starved
# worker can go quiet for seconds: allow 30 before giving it up. Locust has no option for this; the
# master reads the module's constant each time a heartbeat arrives.
runners.HEARTBEAT_LIVENESS = 30
_user_numbers = itertools.count()
# A refused login or signup is tried again, this many times in all: at a few seconds each, minutes of a
# storm, as someone who wants in would (the lab measures whether a storm drains, not who gives up).
HASHING_ATTEMPTS = 30


def _credentials() -> list[tuple[str, str]]:
    path = os.environ.get("SCALELAB_CREDENTIALS", "")
    if not path or not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return [(row["email"], row["password"]) for row in csv.DictReader(f)]


CREDENTIALS = _credentials()


def _returning() -> dict[str, dict[str, str]]:
    """The members' kept session cookies (scalelab/kit/returning.py), when the runner passes them."""
    path = os.environ.get("SCALELAB_RETURNING", "")
    return json.loads(Path(path).read_text()) if path else {}


RETURNING = _returning()
RETURNING_EMAILS = sorted(RETURNING)  # in a fixed order, for the seeded choice
PASSWORDS = dict(CREDENTIALS)


class ChirpUser(FastHttpUser):
    """A simulated person: numbered in spawn order, with their own seeded random generator.

    Each user's steps, and their weights, are in `steps`. Locust would pick a user's next @task with
    the process-wide `random`, which the users' greenlets share in whatever order they wake: no seed
    could make that repeatable. So the one @task below picks the next step with the user's own
    generator, and a run with the same seed sends each user's requests in the same order.
    """

    abstract = True
    steps: dict[str, int] = {}  # method name -> weight

    def __init__(self, environment):
        super().__init__(environment)
        # With --processes, Locust imports this file once and forks its workers, so each worker counts
        # from 0: the worker's index keeps the numbers (sign-up addresses, random generators) apart.
        self.number = f"{getattr(environment.runner, 'worker_index', 0)}.{next(_user_numbers)}"
        self.rng = random.Random(f"{SEED}-{type(self).__name__}-{self.number}")

    def wait_time(self):
        low, high = PROFILE.think_s
        return self.rng.uniform(low, high)

    @task
    def next_step(self):
        getattr(self, self.pick_step())()

    def pick_step(self) -> str:
        return self.rng.choices(list(self.steps), weights=list(self.steps.values()))[0]

    def read_feed(self):
        self.client.get("/api/feed?limit=20", name="/api/feed")


class Reader(ChirpUser):
    """Browses the public feed and its HTML page without logging in."""

    weight = PROFILE.mix.get("Reader", 0)
    steps = {"feed": 4, "home_page": 1}

    def feed(self):
        self.read_feed()

    def home_page(self):
        self.client.get("/", name="/ (page)")


class LoggedIn(ChirpUser):
    """Someone with an account: reads the timeline, the feed, and sometimes posts."""

    abstract = True
    steps = {"timeline": 5, "feed": 2, "post": 1}

    returning = False  # a member who came with a kept cookie, and logs in again when it is refused

    def checked(self, method: str, path: str, **kwargs):
        """A request that must stay logged in: a 401 means the session was lost, and counts as a failure.
        A returning member then logs in again, as a person would."""
        with self.client.request(method, path, name=path, catch_response=True, **kwargs) as response:
            if response.status_code == 401:
                response.failure("401: logged out (the session was not found)")
        if response.status_code == 401 and self.returning:
            self.log_in(*self.credentials)
        return response

    def log_in(self, email: str, password: str):
        self.hashing("/api/login", {"email": email, "password": password})

    def hashing(self, path: str, body: dict):
        """POST to a route that hashes a password. The edge may limit those (SCALELAB_NGINX_LOGIN_RATE):
        a 429 counts as a failure, and the user comes back when its Retry-After says, give or take a
        random half of it, so that the refused do not all return in the same second, as people would."""
        for _ in range(HASHING_ATTEMPTS):
            with self.client.post(path, json=body, name=path, catch_response=True) as response:
                if response.status_code != 429:
                    return response
                response.failure(EDGE_REFUSED)
                wait_s = float(response.headers.get("Retry-After") or 1)
            time.sleep(wait_s * self.rng.uniform(1, 1.5))  # gevent's sleep: Locust patches time
        return response

    def timeline(self):
        self.checked("GET", "/api/timeline")

    def feed(self):
        self.read_feed()

    def post(self):
        self.checked("POST", "/api/posts", json={"body": f"load test post {self.rng.random():.6f}"})


class Member(LoggedIn):
    """A seeded user (the credentials the seed wrote), logged in once at the start."""

    weight = PROFILE.mix.get("Member", 0)

    def on_start(self):
        if not CREDENTIALS:
            raise RuntimeError("no seeded credentials: set SCALELAB_CREDENTIALS (scalelab load does)")
        if RETURNING:  # back with yesterday's cookie: no login unless the app refuses it
            email = RETURNING_EMAILS[self.rng.randrange(len(RETURNING_EMAILS))]
            self.credentials, self.returning = (email, PASSWORDS[email]), True
            host = urlsplit(self.host).hostname
            for name, value in RETURNING[email].items():
                self.client.cookiejar.set_cookie(create_cookie(name, value, domain=host))
        else:
            self.credentials = CREDENTIALS[self.rng.randrange(len(CREDENTIALS))]
            self.log_in(*self.credentials)


class Newcomer(LoggedIn):
    """Part of the signup wave: signs up (a welcome email goes out; signing up logs them in), then uses Chirp."""

    weight = PROFILE.mix.get("Newcomer", 0)

    def on_start(self):
        email = f"load-{RUN_ID}-{self.number}@chirp.test"
        password = f"pw-{self.rng.getrandbits(64):x}"
        self.hashing("/api/signup", {"name": f"Newcomer {self.number}", "email": email, "password": password})


class Exporter(Member):
    """A member who also exports their activity as a PDF report."""

    weight = PROFILE.mix.get("Exporter", 0)
    steps = {**LoggedIn.steps, "export_report": 2}

    def export_report(self):
        self.checked("POST", "/api/reports")


class Uploader(Member):
    """A member who also changes their avatar."""

    weight = PROFILE.mix.get("Uploader", 0)
    # FastHttpUser has no `files=`: encode the multipart body once with urllib3.
    upload_body, upload_type = encode_multipart_formdata({"file": ("avatar.png", avatar_png(), "image/png")})

    avatar_url = None
    steps = {**LoggedIn.steps, "upload_avatar": 2}

    def upload_avatar(self):
        if self.avatar_url:
            # The last upload's picture, viewed a visit later, as its owner and their followers would:
            # any instance may serve it, so a 404 is the local-disk failure (Lab 2). A visit later, not
            # at once: after Lab 3 the thumbnail is made by the worker, and appears within seconds.
            self.client.get(self.avatar_url, name="/avatars/[file]")
        response = self.checked("POST", "/api/avatar", data=self.upload_body, headers={"Content-Type": self.upload_type})
        if response.status_code == 201:
            self.avatar_url = response.json()["url"]


if "SCALELAB_LOAD_PROFILE" in os.environ:
    # Only for `scalelab load`: in the web UI, the user count and spawn rate you type in apply.

    class ProfileShape(LoadTestShape):
        """Follows the profile's stages; stops at its end."""

        def tick(self):
            now = self.get_run_time()
            for stage in PROFILE.stages:
                if now < stage.until_s:
                    return stage.users, stage.spawn_rate
            return None
