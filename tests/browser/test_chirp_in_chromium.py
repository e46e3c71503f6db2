"""A real browser (Debian's Chromium, driven by Playwright) signs up, logs in and reads the timeline
through nginx. The screenshot is saved under artifacts/.

On the broken app a form or page often lands on a process that does not hold the session (Lab 2's
failure): the form "has expired", or the timeline bounces to the login page. A person would try
again, and so does this test; it counts the bounces and reports them. One browser connection makes
nginx alternate strictly between the instances, so the next request would always miss; a random
number of extra requests before each step breaks that rhythm, as other users' traffic would.
"""

from __future__ import annotations

import random
import shutil
import uuid

import pytest
from playwright.sync_api import sync_playwright

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Four processes hold sessions (2 instances x 2 workers), and logging in needs three requests on
# the same one (the form, its post, the timeline): a try succeeds about one time in 16, so 200 tries
# leave a chance of (15/16)^200, about 1 in 400,000, of never getting through.
TRIES = 200
# Without these, Chromium reaches for Google's services at start-up; this machine has no internet.
QUIET_FLAGS = ["--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def break_the_rhythm(page, rng: random.Random) -> None:
    for _ in range(rng.randrange(4)):
        page.evaluate("fetch('/healthz')")


def submit(page, url: str, fields: dict[str, str], rng: random.Random) -> None:
    page.goto(url)
    break_the_rhythm(page, rng)
    for name, value in fields.items():
        page.fill(f"input[name={name}]", value)
    page.click("form.card button")


def on_timeline(page, name: str) -> bool:
    return page.title().startswith("Home") and name in page.inner_text("nav")


def test_sign_up_log_in_and_see_the_timeline(lab_settings, running_stack, artifacts_dir):
    if not shutil.which("chromium") and not shutil.which("/usr/bin/chromium"):
        pytest.fail("Chromium is not installed: run `sudo apt-get install -y chromium` (make test installs it)")
    base = lab_settings.app_url
    email = f"browser-{uuid.uuid4().hex[:8]}@chirp.test"
    name = "Browser Test"
    password = "browser-password"
    bounces = 0
    rng = random.Random(7)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", *QUIET_FLAGS])
        page = browser.new_page(viewport={"width": 1000, "height": 800})
        try:
            for _ in range(TRIES):
                submit(page, f"{base}/signup", {"name": name, "email": email, "password": password}, rng)
                if "form has expired" not in page.content():
                    break
                bounces += 1
            else:
                pytest.fail(f"signup never got through in {TRIES} tries")

            for _ in range(TRIES):
                submit(page, f"{base}/login", {"email": email, "password": password}, rng)
                if on_timeline(page, name):
                    break
                break_the_rhythm(page, rng)
                page.goto(f"{base}/")
                if on_timeline(page, name):
                    break
                bounces += 1
            else:
                pytest.fail(f"the timeline never showed after logging in, in {TRIES} tries")

            assert page.locator("h1").first.inner_text().strip() == "Home"
            page.screenshot(path=str(artifacts_dir / "chirp-timeline.png"), full_page=True)
        finally:
            browser.close()
    print(f"reached the timeline after {bounces} bounces (Lab 2's session failure)")
