"""Lab 3's failure: the welcome email is sent inside the signup request, so a slow provider slows
signup, and, through the threads and connections it holds, pages that send no mail at all."""

from __future__ import annotations

import pytest

from scalelab.kit import faults
from scalelab.kit.clients import closed_loop, feed_reader, percentile, signup_wave

pytestmark = pytest.mark.wall

READERS = 10


def test_a_slow_email_provider_slows_signup_and_the_feed(lab_settings, no_faults):
    url = lab_settings.app_url
    quiet = closed_loop(feed_reader(url), READERS, seconds=8)
    quiet_p95 = percentile([o.seconds for o in quiet if o.status == 200], 95)

    faults.set_fault("smtp_latency_ms", 1_000)
    try:
        wave = signup_wave(url, 120, READERS, 15)
    finally:
        faults.clear()
    signups, busy = wave.signups, wave.reads

    signed_up = [o.seconds for o in signups if o.status == 201]
    assert len(signed_up) > 100
    # Every signup waits for its email: none can be faster than the provider's 1 s.
    assert min(signed_up) >= 1.0
    busy_p95 = percentile([o.seconds for o in busy if o.status == 200], 95)
    # The feed sends no mail, yet it queues behind signups for a thread and a connection. Measured
    # against the quiet feed of the same run (a ratio, so a slow laptop does not matter); a
    # healthy app would stay within 2x.
    assert busy_p95 > 5 * quiet_p95, (quiet_p95, busy_p95)
    assert busy_p95 > 0.3, busy_p95
