"""Lab 2's reference fix, held to what the lab promises, on the real stack: sessions in the real Redis
survive a Redis restart and a Redis crash under load, cookies replayed after logout or made up are
refused, a login gets a new session id, and the app will not start without its secret.

The check failing on the broken app and passing after `scalelab solve 2` is tested by
tests/labs/test_checks_fail_then_pass.py; the notebook by tests/notebooks/test_nbval.py.
"""

from __future__ import annotations

import importlib.util
import secrets
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
import requests
from course_tree import pristine

from scalelab import stack
from scalelab.course import catalogue
from scalelab.course.checks import lab2
from scalelab.kit import load, returning
from scalelab.kit.clients import closed_loop, log_in, me_reader, seeded_credentials
from scalelab.paths import REPO

LAB = catalogue.find("2")  # the lab the `solved` fixture (conftest.py) solves
SESSION_PREFIX = "chirp:session:"
COOKIE = "chirp_session"


@pytest.fixture
def sessions_store(lab_settings):
    return redis.Redis.from_url(f"redis://{lab_settings.address('redis')}/0")


def logged_in_users(settings, count: int) -> list[dict[str, str]]:
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda pair: log_in(settings.app_url, *pair), seeded_credentials(count)))


def who_am_i(settings, cookies: dict[str, str]) -> int:
    return requests.get(f"{settings.app_url}/api/me", cookies=cookies, timeout=30).status_code


@pytest.mark.wall
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGKILL], ids=["restart", "crash"])
def test_no_session_is_lost_when_redis_restarts_under_load(solved, stop_signal):
    """20 users keep asking who they are while Redis is stopped (cleanly, or with kill -9) and started.

    Requests fail while Redis is away; once it is back, every user is still logged in. The logins
    happen 1.5 s before the restart: with appendfsync everysec, a crash loses at most the last second.
    """
    users = logged_in_users(solved, 20)
    time.sleep(1.5)
    back: dict[str, float] = {}

    def restart_redis() -> None:
        time.sleep(3)
        stack.current(solved).restart(["redis"], stop_signal=stop_signal)
        back["at"] = time.monotonic()

    restarter = threading.Thread(target=restart_redis)
    restarter.start()
    outcomes = closed_loop(me_reader(solved.app_url, users), len(users), 10)
    restarter.join()

    after = [o for o in outcomes if o.started_at > back["at"]]
    assert after, "no request was sent after Redis came back"
    assert [o.status for o in after if o.status != 200] == []
    assert [who_am_i(solved, cookies) for cookies in users] == [200] * len(users)


def test_a_cookie_replayed_after_logout_is_refused(solved, sessions_store):
    cookies = log_in(solved.app_url, *seeded_credentials(1)[0])
    assert who_am_i(solved, cookies) == 200
    assert sessions_store.exists(SESSION_PREFIX + cookies[COOKIE])
    assert requests.post(f"{solved.app_url}/api/logout", cookies=cookies, timeout=30).status_code == 204
    assert not sessions_store.exists(SESSION_PREFIX + cookies[COOKIE])
    assert who_am_i(solved, cookies) == 401


@pytest.mark.parametrize(
    "forged",
    [
        secrets.token_urlsafe(32),  # a well-formed id nobody was given
        "*",  # what a SCAN pattern would match, if the id reached Redis unescaped
        "chirp:session:",  # the bare prefix
        "",
    ],
    ids=["random-id", "wildcard", "prefix", "empty"],
)
def test_a_forged_cookie_is_refused(solved, forged):
    assert who_am_i(solved, {COOKIE: forged}) == 401


def test_logging_in_gives_a_new_session_id(solved, sessions_store):
    """Session fixation: an id the visitor had before logging in is worth nothing after."""
    page = requests.get(f"{solved.app_url}/login", timeout=30)  # the login form puts a CSRF token in the session
    before = page.cookies.get(COOKIE)
    assert before and sessions_store.exists(SESSION_PREFIX + before)
    email, password = seeded_credentials(1)[0]
    response = requests.post(
        f"{solved.app_url}/api/login", json={"email": email, "password": password}, cookies={COOKIE: before}, timeout=30
    )
    after = response.cookies.get(COOKIE)
    assert response.status_code == 200 and after and after != before
    assert not sessions_store.exists(SESSION_PREFIX + before)
    assert who_am_i(solved, {COOKIE: before}) == 401
    assert who_am_i(solved, {COOKIE: after}) == 200


def test_returning_members_arrive_logged_in_even_after_a_deploy(solved):
    """kit.returning: members log in once (yesterday), keep their cookies, and a launch-day run after a
    restart of both instances brings them back without a login and without a logout."""
    said: list[str] = []
    returning.remember(solved, 8, say=said.append)
    returning.remember(solved, 8, say=said.append)
    assert "8 of 8 kept cookies still accepted; 0 log in now" in said[-1], said
    stack.current(solved).restart(["app1", "app2"])  # a deploy
    result = load.run("launch-day", users=30, duration=6, shorten=False, progress=False, returning=True)
    endpoints = result.endpoints.set_index("Name")
    assert "/api/timeline" in endpoints.index and "/api/login" not in endpoints.index, endpoints
    assert result.errors.empty, result.errors


def test_sessions_expire_in_redis_after_a_week_without_requests(solved, sessions_store):
    cookies = log_in(solved.app_url, *seeded_credentials(1)[0])
    ttl_hours = sessions_store.ttl(SESSION_PREFIX + cookies[COOKIE]) / 3600
    assert 167 < ttl_hours <= 168


def test_reading_pages_writes_no_session_until_its_expiry_is_due(solved, sessions_store):
    """A member's requests do not write their session back (a Redis write and a cookie each) to push an
    expiry a week away: only once SESSION_REFRESH_AFTER has passed (an hour; 1.2 s here, set by the
    environment as an operator would)."""
    week_ms = 168 * 3600 * 1000

    def read_me_after(seconds: float) -> tuple[requests.Response, int]:
        cookies = log_in(solved.app_url, *seeded_credentials(1)[0])
        time.sleep(seconds)
        response = requests.get(f"{solved.app_url}/api/me", cookies=cookies, timeout=30)
        return response, sessions_store.pttl(SESSION_PREFIX + cookies[COOKIE])

    response, ttl_ms = read_me_after(1.5)
    assert response.status_code == 200 and COOKIE not in response.cookies, "a read sent the session cookie again"
    assert ttl_ms < week_ms - 1000, f"a read pushed the session's expiry (TTL {ttl_ms} ms): it wrote the session back"
    instances = ["app1", "app2"]
    stack.current(solved).restart(instances, env={"CHIRP_SESSION_REFRESH_MINUTES": "0.02"})
    try:
        response, ttl_ms = read_me_after(1.5)
    finally:
        stack.current(solved).restart(instances)
    assert response.status_code == 200 and COOKIE in response.cookies, "a due refresh sent no cookie"
    assert ttl_ms > week_ms - 1000, f"a due refresh left the session's TTL at {ttl_ms} ms"


def test_the_fixed_config_refuses_to_start_without_a_secret(monkeypatch):
    spec = importlib.util.spec_from_file_location("fixed_config", LAB.solution_dir / "broken_app" / "config.py")
    fixed_config = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fixed_config)
    monkeypatch.delenv("CHIRP_SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match=r"^CHIRP_SECRET_KEY is not set: "):
        fixed_config.settings()


# --- check 2's own steps, each shown to fail on its module alone broken, Lab 1 and the rest solved ---


@pytest.mark.wall
def test_sessions_kept_in_the_cookie_fail_check_2_on_logout(half_fixed):
    """sessions.py leaving Flask's default in place: a session signed into the cookie, with the secret
    from the environment, which every instance reads (step 1 passes) and logging out cannot take back."""
    with half_fixed({"broken_app/sessions.py": b"def init_app(app) -> None:\n    pass\n"}) as settings:
        measurements: dict = {}
        reasons: list[str] = []
        lab2._logout_ends_the_session(settings, measurements, reasons)
    assert measurements["cookie_replayed_after_logout"] == 200, measurements
    assert len(reasons) == 1 and "broken_app/sessions.py" in reasons[0], reasons


@pytest.mark.wall
def test_sessions_that_keep_their_id_at_login_fail_check_2_on_fixation(half_fixed):
    """The reference sessions.py without its new id at login: Redis's sessions, shared and revocable,
    but the id a visitor had before logging in is logged in after."""
    regenerating = (
        '        if session and session.get("user_id") != session.user_id_when_opened:\n'
        "            self.regenerate(session)\n"
    )
    fixed = (LAB.solution_dir / "broken_app/sessions.py").read_text()
    assert regenerating in fixed
    with half_fixed({"broken_app/sessions.py": fixed.replace(regenerating, "").encode()}) as settings:
        measurements: dict = {}
        reasons: list[str] = []
        lab2._login_makes_a_new_session_id(settings, measurements, reasons)
    assert measurements["pre_login_cookie_after_login"] == 200, measurements
    assert len(reasons) == 1 and "broken_app/sessions.py" in reasons[0] and "fixation" in reasons[0], reasons


@pytest.mark.wall
def test_redis_without_its_append_only_file_fails_check_2_on_a_crash(solved):
    conf = "infra/redis/redis.conf"
    fixed = (REPO / conf).read_bytes()
    running = stack.current(solved)
    measurements: dict = {}
    reasons: list[str] = []
    try:
        (REPO / conf).write_bytes(pristine(conf))  # read by Redis when the step restarts it
        lab2._sessions_outlive_a_redis_crash(solved, running, measurements, reasons)
    finally:
        (REPO / conf).write_bytes(fixed)
        running.restart(["redis"])
    assert measurements["logged_in_after_redis_crash"] != f"{lab2.CRASH_USERS} of {lab2.CRASH_USERS}", measurements
    assert len(reasons) == 1 and conf in reasons[0], reasons
