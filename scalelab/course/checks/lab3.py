"""Lab 3's check: with a slow, flaky email provider, signing up is as fast as without it, the feed is
unaffected, and every welcome email arrives exactly once, even when the worker is killed mid-way.

What it does (about a minute, in either mode: it kills and restarts the Celery worker):
1. Baseline, no fault, 5 s: 2 clients sign up (each at most once per 0.83 s with 4 worker processes,
   paced to what the worker sends: SIGNUP_SHARE_OF_SENDING) and 2 read the feed
   (each as soon as its last answer came). Their p95s are this machine's own yardstick: a signup
   hashes a password (about 0.1 s of CPU), so its absolute time says little about the email.
2. The same load for 10 s, with the email provider at 1 s per message failing 20% of them (451, a
   temporary failure). 4 s in, the worker is killed with SIGKILL, as the OOM killer would, in the
   middle of sending one welcome email, and started again (see _kill_worker_mid_send for how the
   check makes sure of that moment). The pause and the restart cost time the baseline did not pay,
   so the requests in flight meanwhile (and 1 s after) are left out of the latency figures, not out
   of the email count.
3. Then it waits up to 45 s for every welcome email: the jobs the killed worker had taken come back
   after the broker's visibility timeout (20 s in the reference fix).
4. A member logs in and asks for their PDF report (POST /api/reports), then uploads a 4000 x 4000
   avatar, three times, and a 64 x 64 one, three times. Both need a session every instance can read
   (Lab 2): when the member is logged out between two requests, the check says to do Lab 2 first
   and grades neither.

Passing means:
- signup p95 under fault within half the provider's latency (500 ms) of its baseline: the email no
  longer shows in the request. Inside the request it adds the whole second, and more. A fifth (200
  ms) was too tight under Docker: there the fixed app's signup p95 went from 483 to 868 ms while the
  worker was killed and its container recreated, CPU the signups' password hashes shared.
- under 1% of signups fail (a failed email must not fail the signup);
- feed p95 under fault at most 3 times its baseline plus 100 ms (a margin for a busy 2-core laptop,
  where the baseline is a few tens of ms): pages that send no email do not slow down;
- every account the wave created (as PostgreSQL has them) got exactly one welcome email, counted from
  the provider's messages by recipient, within the 45 s;
- the report is accepted with 202 and a status URL within REPORT_ACCEPTED_WITHIN_S (2 s: it only
  queues a job; building the PDF in the request takes longer, and more the more the member posted),
  and its PDF is ready within REPORT_READY_WITHIN_S (30 s, a worker that is idle but for it);
- the big avatar's upload costs at most half of what resizing it costs here more than the small one's
  (the fastest of each: an app process's first request also sets up its S3 client): the check times
  Pillow doing the same resize in its own process, this machine's yardstick (200-400 ms on 2 cores). A resize inside the request adds all of it; a request that only
  reads the image's header adds almost nothing. And the thumbnail appears, 128 x 128, as the member's
  avatar within THUMBNAIL_WITHIN_S (20 s).
"""

from __future__ import annotations

import collections
import functools
import signal
import threading
import time
import uuid

import requests

from scalelab.course.checks import CheckResult, lab3_jobs
from scalelab.errors import LabError
from scalelab.kit import faults, jobqueue, mailbox, pg
from scalelab.kit.clients import Gate, SignupWave, log_in, percentile, seeded_credentials, signup_sender, signup_wave
from scalelab.stack import Stack, current

SIGNUP_CLIENTS, READERS = 2, 2
# The signups are paced to what the worker can send, so that the emails' deadline measures the queue's
# reliability, not how fast this machine signs people up (unpaced, a fast machine signed up 120 in
# 10 s, 37 s of sending: past the deadline, fix or no fix). The worker sends WORKER_CONCURRENCY emails
# a second at most (the machine size's processes, 1 s each) and, with 20% failing, gets 80% of
# them through; the signups ask for three quarters of that. With the full profile's 4 processes each
# client signs up once per 0.83 s; with 4gib's 2, once per 1.67 s (at 2.5 signups a second, 4gib's
# worker fell behind: 25 of 26 emails arrived within the deadline).
SIGNUP_SHARE_OF_SENDING = 0.75
BASELINE_S, FAULT_S, KILL_AT_S = 5, 10, 4
SMTP_LATENCY_MS, SMTP_FAILURE_RATE = 1000, 0.2
# Enough for the jobs a killed worker held: 20 s of visibility timeout; up to 10 s more until the
# restarted worker's next look for expired jobs (kombu's Redis transport looks every 10 s); then the
# send, and a retry's backoff (up to 8 s) when the provider refuses it. 35 s left one email of 12
# late in one run under Docker, whose worker comes back in 5 s, not 2 (the container is recreated).
# Costs nothing when the fix works: the check stops waiting once every email arrived.
DELIVERY_DEADLINE_S = 45
SIGNUP_SLACK_MS = SMTP_LATENCY_MS / 2
FEED_FACTOR, FEED_SLACK_MS = 3, 100
MAX_ERROR_RATE = 0.01
# /api/me requests after logging in: with sessions in one process's memory (before Lab 2), nginx
# sends some to an instance that does not know the session (4 processes: 3 in 4 on average).
SESSION_PROBES = 6


# The kill's moment. Redis's BRPOP hands a job to a worker and forgets it, and kombu records the job
# as taken (where acks late can bring it back) a moment later: a worker killed in that instant loses
# the job whatever its settings (Redis's BLPOP documentation says so; no Celery setting closes it).
# Killed at a random moment under Docker, 2 of about 14 runs of the reference fix lost the job being
# handed over, and the check failed it. So the check kills only when no job is being handed over,
# while the worker is sending one: it holds the signups, stops the failures (a failure's retry is a
# new job) and waits until the sends begun before are over (SMTP_LATENCY_MS); then one more account
# signs up, and once its job is taken, with the provider at KILL_SMTP_LATENCY_MS a message, the
# worker is killed before that send can end (Docker's kill takes about a second).
KILL_SMTP_LATENCY_MS = 3000
TAKEN_WITHIN_S = 30  # the jobs before it, 3 s each on 2 processes (4gib), are taken well inside this
RECORDED_S = 0.2  # from BRPOP to kombu's record of the job: a Redis round trip, well under a millisecond


def run(settings) -> CheckResult:
    stack = current(settings)
    stack.require(["worker"], "check 3 kills and restarts the Celery worker")
    mailbox.clear()
    faults.clear()
    baseline = _load(settings, BASELINE_S)
    reasons: list[str] = []
    faults.set_fault("smtp_latency_ms", SMTP_LATENCY_MS)
    faults.set_fault("smtp_failure_rate", SMTP_FAILURE_RATE)
    try:
        restart: dict[str, float] = {}
        run_id, gate = uuid.uuid4().hex[:8], Gate()
        kill = functools.partial(_kill_worker_mid_send, settings, stack, run_id, gate, restart, reasons)
        under_fault = _load(settings, FAULT_S, kill=kill, run_id=run_id, gate=gate)
        # The accounts the wave created, as PostgreSQL has them (signup_sender's addresses).
        expected = pg.account_emails(f"wave-{under_fault.run_id}-%", settings)
        delivered = mailbox.deliveries(expected, within_s=DELIVERY_DEADLINE_S)
    finally:
        faults.clear()

    # The worker's restart takes a few seconds of CPU (importing the app, forking its processes), which
    # the baseline did not pay: requests in flight meanwhile are left out of the p95s.
    restarting = (restart.get("from", 0.0), restart.get("until", float("inf")) + 1)
    steady = SignupWave(
        under_fault.run_id,
        [o for o in under_fault.signups if not o.overlaps(*restarting)],
        [o for o in under_fault.reads if not o.overlaps(*restarting)],
    )
    signup_p95 = {name: _p95_ms(run.signups) for name, run in (("baseline", baseline), ("fault", steady))}
    feed_p95 = {name: _p95_ms(run.reads) for name, run in (("baseline", baseline), ("fault", steady))}
    failed = [o for o in under_fault.signups if o.status != 201]
    missing = expected - set(delivered)
    duplicated = {address: count for address, count in delivered.items() if count > 1}
    measurements = {
        "signup_p95_ms": signup_p95,
        "feed_p95_ms": feed_p95,
        "signups": len(under_fault.signups),
        "failed_signups": len(failed),
        "emails_expected": len(expected),
        "emails_delivered": len(set(delivered) & expected),
        "addresses_with_duplicates": len(duplicated),
        "duplicates_the_provider_dropped": mailbox.stats()["duplicates_dropped"],
    }
    if signup_p95["fault"] - signup_p95["baseline"] >= SIGNUP_SLACK_MS:
        reasons.append(
            f"signup p95 went from {signup_p95['baseline']} ms to {signup_p95['fault']} ms with the email provider at "
            f"{SMTP_LATENCY_MS} ms (allowed: {SIGNUP_SLACK_MS:.0f} ms more): the email is still sent inside the request"
        )
    if len(failed) / max(1, len(under_fault.signups)) >= MAX_ERROR_RATE:
        kinds = collections.Counter(o.status or "no answer" for o in failed)
        reasons.append(
            f"{len(failed)} of {len(under_fault.signups)} signups failed ({dict(kinds)}) while the provider failed "
            f"{SMTP_FAILURE_RATE:.0%} of emails: a failed email must be retried later, not fail the signup"
        )
    if feed_p95["fault"] > FEED_FACTOR * feed_p95["baseline"] + FEED_SLACK_MS:
        reasons.append(
            f"feed p95 went from {feed_p95['baseline']} ms to {feed_p95['fault']} ms while signups waited for the "
            "email provider: slow work holds threads or connections the feed needs"
        )
    if missing:
        reasons.append(
            f"{len(missing)} of {len(expected)} new accounts got no welcome email within {DELIVERY_DEADLINE_S} s: "
            "a failed send must be retried until it goes through (broken_app/mail.py), and a job must outlive a killed "
            "worker: task_acks_late and task_reject_on_worker_lost, and a visibility_timeout (20 s) that gives it back "
            "well within that time (broken_app/queue_settings.py)"
        )
    if duplicated:
        reasons.append(
            f"{len(duplicated)} new accounts got their welcome email more than once: give every attempt at one "
            "email the same X-Chirp-Idempotency-Key"
        )
    reasons += work_off_the_request(settings, measurements)
    return CheckResult(not reasons, measurements, reasons)


def work_off_the_request(settings, measurements: dict) -> list[str]:
    """Step 4: the PDF report and the avatar's thumbnail."""
    member = log_in(settings.app_url, *seeded_credentials(1)[0])
    me = f"{settings.app_url}/api/me"
    logged_out = sum(requests.get(me, cookies=member, timeout=30).status_code == 401 for _ in range(SESSION_PROBES))
    if logged_out:
        measurements["logged_out_of_probes"] = f"{logged_out}/{SESSION_PROBES}"
        return [
            f"the check's member was logged out in {logged_out} of {SESSION_PROBES} requests after logging in "
            "(sessions still live in one process's memory), so the report and the avatar could not be graded: "
            "Lab 3 builds on Lab 2, do Lab 2 first (`scalelab hint 2`)"
        ]
    return (
        lab3_jobs.grade_report(settings.app_url, member, measurements)
        + lab3_jobs.grade_thumbnail(settings.app_url, member, measurements)
    )


def _load(settings, seconds: float, kill=None, run_id: str = "", gate: Gate | None = None) -> SignupWave:
    """SIGNUP_CLIENTS signing up and READERS reading the feed for `seconds`; `kill` runs KILL_AT_S in."""
    killer = threading.Timer(KILL_AT_S, kill) if kill else None
    if killer:
        killer.start()
    pace_s = signup_pace_s(settings)
    wave = signup_wave(settings.app_url, SIGNUP_CLIENTS, READERS, seconds, pace_s, run_id=run_id, gate=gate)
    if killer:
        killer.join()
    return wave


def signup_pace_s(settings) -> float:
    """Each signup client's least time between signups: see SIGNUP_SHARE_OF_SENDING."""
    delivered_per_s = int(settings["WORKER_CONCURRENCY"]) / (SMTP_LATENCY_MS / 1000) * (1 - SMTP_FAILURE_RATE)
    return SIGNUP_CLIENTS / (SIGNUP_SHARE_OF_SENDING * delivered_per_s)


def _kill_worker_mid_send(settings, stack: Stack, run_id: str, gate: Gate, window: dict[str, float], reasons: list[str]) -> None:
    """SIGKILL the worker while it sends one more welcome email and no job is being handed to it
    (KILL_SMTP_LATENCY_MS says why), then start it again and resume the signups and the failures."""
    window["from"] = time.monotonic()
    gate.shut()
    try:
        try:
            faults.set_fault("smtp_latency_ms", KILL_SMTP_LATENCY_MS)
            faults.set_fault("smtp_failure_rate", 0)
            time.sleep(SMTP_LATENCY_MS / 1000)
            signup_sender(settings.app_url, run_id)(SIGNUP_CLIENTS, 0)  # a client number of its own
            taken_by = time.monotonic() + TAKEN_WITHIN_S
            while jobqueue.waiting(settings) and time.monotonic() < taken_by:
                time.sleep(0.05)
            time.sleep(RECORDED_S)
            stack.kill("worker", signal.SIGKILL)
        finally:
            faults.set_fault("smtp_latency_ms", SMTP_LATENCY_MS)
            faults.set_fault("smtp_failure_rate", SMTP_FAILURE_RATE)
            gate.open()
        stack.restart(["worker"])
    except LabError as error:
        reasons.append(f"the worker could not be killed mid-send and started again: {error}")
    window["until"] = time.monotonic()


def _p95_ms(outcomes: list) -> int:
    return round(percentile([o.seconds for o in outcomes], 95) * 1000) if outcomes else 0
