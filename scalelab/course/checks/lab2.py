"""Lab 2's check: through nginx, any instance serves any user and any avatar, an instance can be
restarted without logging anybody out, and the app takes its secret and its storage from the
environment.

What it does (about 45 s, native mode: it restarts app instances):
1. Logs in 30 seeded users through nginx. Then, for 24 s, each asks "who am I?" (GET /api/me) as
   soon as its last answer came, each time on a new connection, so that nginx spreads the
   requests over both instances and all their workers. 8 s in, app1 is restarted.
   - 0 unexpected logouts (401): a session must be readable by every worker of every instance,
     and must outlive the process that created it.
   - Both instances served requests: sticky sessions (ip_hash) send this whole check, which comes
     from one address, to one instance; that hides the problem instead of fixing it.
   - Under 1% errors while app1 was away: nginx passes a request that app1 refuses on to app2.
2. Starts app2 without CHIRP_SECRET_KEY: it must refuse to start. A secret written in the code
   would let it start, with a key every clone of the repository knows.
3. Starts app2 with CHIRP_S3_BUCKET naming a fresh bucket: an avatar uploaded through it must
   land in that bucket. That shows the storage comes from the environment, not from the code.
4. With app2 back to normal: an avatar uploaded through app1 is served, byte for byte, by app2.
app2 is always restarted with its usual environment at the end, even when a step fails.
Once step 1 saw no logout (sessions shared by every process):
5. A user logs in, logs out, and replays the old cookie: it must answer 401. A session kept in the
   cookie itself (Flask's default, signed with the secret) passes step 1, but logging out cannot
   take it back.
6. A visitor opens the login form (which starts a session: its CSRF token), then logs in; the cookie
   it had before must not be logged in now. Otherwise whoever planted that id in the visitor's browser
   (session fixation) is logged in as them: a new session id at every login.
7. 10 users log in; FSYNC_MARGIN_S later Redis is killed (SIGKILL, as the OOM killer does) and
   started again: all 10 must still be logged in. Redis then holds every session, and only its
   append-only file keeps what it was told a second ago (infra/redis/redis.conf).
"""

from __future__ import annotations

import collections
import signal
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests

from scalelab.course.checks import CheckResult
from scalelab.errors import LabError
from scalelab.kit import objectstore
from scalelab.kit.clients import avatar_png, closed_loop, log_in, me_reader, seeded_credentials
from scalelab.stack import current

USERS, SECONDS, RESTART_AT_S = 30, 24, 8
INSTANCES = ("app1", "app2")
MAX_ERROR_RATE = 0.01
# appendfsync everysec writes the append-only file to disk every second: a crash loses at most the
# last one. 1.5 s after the logins, each of them is on disk with the fix, and in no file without it
# (Redis's RDB snapshots come minutes apart).
CRASH_USERS, FSYNC_MARGIN_S = 10, 1.5
# Right after Redis restarts, a request may meet a connection the app has not yet found dead.
ATTEMPTS = 3


def run(settings) -> CheckResult:
    stack = current(settings)
    stack.require(INSTANCES, "check 2 restarts app1 and app2 with a changed environment")
    measurements: dict = {}
    reasons: list[str] = []
    _sessions(settings, stack, measurements, reasons)
    if not measurements.get("unexpected_logouts", 1):
        _logout_ends_the_session(settings, measurements, reasons)
        _login_makes_a_new_session_id(settings, measurements, reasons)
        _sessions_outlive_a_redis_crash(settings, stack, measurements, reasons)
    try:
        _secret_from_environment(settings, stack, measurements, reasons)
        _bucket_from_environment(settings, stack, measurements, reasons)
    finally:
        stack.restart(["app2"])
    _avatar_across_instances(settings, measurements, reasons)
    return CheckResult(not reasons, measurements, reasons)


def _sessions(settings, stack, measurements: dict, reasons: list[str]) -> None:
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            cookies = list(pool.map(lambda pair: log_in(settings.app_url, *pair), seeded_credentials(USERS)))
    except requests.RequestException as error:
        reasons.append(f"seeded users could not log in through nginx ({error}): `scalelab logs app1`")
        return
    away: dict[str, float] = {}

    def restart_app1() -> None:
        time.sleep(RESTART_AT_S)
        away["from"] = time.monotonic()
        try:
            stack.restart(["app1"])
        except LabError as error:
            reasons.append(f"app1 did not come back after its restart: {error}")
        away["until"] = time.monotonic()

    restarter = threading.Thread(target=restart_app1)
    restarter.start()
    outcomes = closed_loop(me_reader(settings.app_url, cookies), USERS, SECONDS)
    restarter.join()

    logouts = [o for o in outcomes if o.status == 401]
    failed = [o for o in outcomes if o.status >= 500 or o.status == 0]
    served_by = collections.Counter(o.served_by for o in outcomes if o.served_by)
    while_away = [o for o in outcomes if o.overlaps(away["from"], away["until"])]
    failed_while_away = [o for o in while_away if o.status >= 500 or o.status == 0]
    measurements.update(
        {
            "session_requests": len(outcomes),
            "unexpected_logouts": len(logouts),
            "served_by": dict(sorted(served_by.items())),
            "app1_away_s": round(away["until"] - away["from"], 1),
            "requests_while_app1_away": len(while_away),
            "failed_while_app1_away": len(failed_while_away),
            "failed_session_requests": len(failed),
        }
    )
    if logouts:
        by_instance = collections.Counter(o.served_by for o in logouts)
        reasons.append(
            f"{len(logouts)} of {len(outcomes)} requests of logged-in users were answered 401 (logged out), "
            f"by {dict(by_instance)}: the session lives where that request was not served"
        )
    if len(served_by) < 2:
        reasons.append(
            f"only {', '.join(served_by) or 'no instance'} served the logged-in users: nginx must spread them over "
            "both instances (no sticky sessions)"
        )
    if while_away and len(failed_while_away) / len(while_away) >= MAX_ERROR_RATE:
        reasons.append(
            f"{len(failed_while_away)} of {len(while_away)} requests failed while app1 restarted: nginx should "
            "pass them to app2 (proxy_next_upstream)"
        )
    if failed and len(failed) / len(outcomes) >= MAX_ERROR_RATE:
        reasons.append(f"{len(failed)} of {len(outcomes)} requests of logged-in users failed: `scalelab logs app1`")


def _who_am_i(url: str, cookies: dict[str, str]) -> int:
    for _ in range(ATTEMPTS):
        status = requests.get(f"{url}/api/me", cookies=cookies, timeout=30).status_code
        if status < 500:
            break
    return status


def _logout_ends_the_session(settings, measurements: dict, reasons: list[str]) -> None:
    url = settings.app_url
    cookies = log_in(url, *seeded_credentials(1)[0])
    requests.post(f"{url}/api/logout", cookies=cookies, timeout=30)
    measurements["cookie_replayed_after_logout"] = status = _who_am_i(url, cookies)
    if status != 401:
        reasons.append(
            f"a session cookie replayed after its user logged out still answered {status}: keep the sessions in Redis "
            "(Flask-Session) in broken_app/sessions.py, where logging out deletes them; a session kept in the cookie "
            "itself cannot be taken back"
        )


def _login_makes_a_new_session_id(settings, measurements: dict, reasons: list[str]) -> None:
    url = settings.app_url
    visitor = requests.Session()
    visitor.get(f"{url}/login", timeout=30)
    before_login = dict(visitor.cookies)
    email, password = seeded_credentials(1)[0]
    visitor.post(f"{url}/api/login", json={"email": email, "password": password}, timeout=30).raise_for_status()
    measurements["pre_login_cookie_after_login"] = status = _who_am_i(url, before_login) if before_login else None
    if status is None:
        reasons.append("the login form set no session cookie, so the check could not test for session fixation")
    elif status != 401:
        reasons.append(
            f"the session cookie a visitor had before logging in answered {status} after the login: whoever planted that "
            "id is logged in as them (session fixation); give the session a new id at login (Flask-Session's "
            "session_interface.regenerate, in broken_app/sessions.py)"
        )


def _sessions_outlive_a_redis_crash(settings, stack, measurements: dict, reasons: list[str]) -> None:
    url = settings.app_url
    with ThreadPoolExecutor(max_workers=CRASH_USERS) as pool:
        cookies = list(pool.map(lambda pair: log_in(url, *pair), seeded_credentials(CRASH_USERS)))
    time.sleep(FSYNC_MARGIN_S)
    stack.kill("redis", signal.SIGKILL)
    stack.restart(["redis"])
    statuses = [_who_am_i(url, jar) for jar in cookies]
    measurements["logged_in_after_redis_crash"] = f"{statuses.count(200)} of {CRASH_USERS}"
    if statuses.count(200) < CRASH_USERS:
        reasons.append(
            f"of {CRASH_USERS} users logged in {FSYNC_MARGIN_S} s before Redis was killed (SIGKILL), "
            f"{statuses.count(401)} were logged out once it restarted ({sorted(set(statuses))}): Redis wrote them to no "
            "file; keep an append-only file fsynced every second in infra/redis/redis.conf"
        )


def _secret_from_environment(settings, stack, measurements: dict, reasons: list[str]) -> None:
    try:
        stack.restart(["app2"], env={"CHIRP_SECRET_KEY": ""})
    except LabError:
        measurements["starts_without_secret"] = False
        return
    measurements["starts_without_secret"] = True
    reasons.append(
        "app2 started without CHIRP_SECRET_KEY in its environment, so its secret is written in the code: "
        "read it from the environment in broken_app/config.py, and refuse to start without it"
    )


def _bucket_from_environment(settings, stack, measurements: dict, reasons: list[str]) -> None:
    bucket = f"check-{uuid.uuid4().hex[:8]}"
    store = objectstore.client(settings)
    store.create_bucket(Bucket=bucket)
    try:
        stack.restart(["app2"], env={"CHIRP_S3_BUCKET": bucket})
        url = _upload_avatar(settings, "APP2")
        name = url.rsplit("/", 1)[-1] if url else ""
        landed = bool(name) and objectstore.exists(settings, name, bucket=bucket)
    finally:
        objectstore.delete_bucket(settings, bucket)
    measurements["avatar_in_bucket_from_environment"] = landed
    if not landed:
        reasons.append(
            f"app2 started with CHIRP_S3_BUCKET={bucket}, but the avatar it stored is not in that bucket: "
            "store avatars in the object storage the environment names (broken_app/storage.py, config.py)"
        )


def _avatar_across_instances(settings, measurements: dict, reasons: list[str]) -> None:
    url = _upload_avatar(settings, "APP1")
    served = requests.get(f"http://{settings.address('app2')}{url}", timeout=30) if url else None
    stored = requests.get(f"http://{settings.address('app1')}{url}", timeout=30) if url else None
    same = served is not None and served.status_code == 200 and stored.status_code == 200 and served.content == stored.content
    measurements["avatar_from_app1_served_by_app2"] = same
    if not url:
        reasons.append("an avatar upload through app1 failed (see above, and `scalelab logs app1`)")
    elif not same:
        reasons.append(
            f"an avatar uploaded through app1 ({url}) answered HTTP {served.status_code} through app2: "
            "files on one instance's disk are missing on the other"
        )


def _upload_avatar(settings, instance: str) -> str:
    """Log in and upload an avatar, both straight to one instance. Its URL, or "" if that failed."""
    base = f"http://{settings.address(instance.lower())}"
    email, password = seeded_credentials(1)[0]
    try:
        cookies = log_in(base, email, password)
    except requests.RequestException:
        return ""
    response = requests.post(
        f"{base}/api/avatar", files={"file": ("avatar.png", avatar_png(), "image/png")}, cookies=cookies, timeout=60
    )
    return response.json().get("url", "") if response.status_code == 201 else ""
