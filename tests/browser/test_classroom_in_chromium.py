"""The classroom view in a real browser: the instructor's page (Debian's Chromium, driven by Playwright)
shows two learners' results as they arrive, without being reloaded. The screenshot is saved under
artifacts/.

The server is the real `scalelab classroom serve`, in a temporary course with this repo's catalogue;
the learners join and send their results through scalelab.course.classroom, each with its own .lab/.
Nothing needs the lab stack.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone

import pytest
import requests
from playwright.sync_api import sync_playwright
from test_chirp_in_chromium import CHROMIUM, QUIET_FLAGS

from scalelab import paths
from scalelab.course import catalogue, classroom
from scalelab.paths import REPO

pytestmark = pytest.mark.browser

INTRO, POOL = catalogue.all_labs()[:2]
# Longer than a few of the page's polls (classroom.POLL_INTERVAL_MS).
SHOWS_WITHIN_MS = 15_000


@pytest.fixture
def classroom_url(tmp_path, free_port):
    """`scalelab classroom serve` on a free port, in a temporary course; stopped after the test."""
    course = tmp_path / "instructor"
    (course / "labs").mkdir(parents=True)
    shutil.copyfile(REPO / "labs" / "labs.toml", course / "labs" / "labs.toml")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "scalelab", "classroom", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=course,
        env={"PATH": "/usr/bin:/bin", "SCALELAB_REPO": str(course)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{url}api/grid", timeout=1)
                break
            except requests.ConnectionError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"`scalelab classroom serve` did not answer: {server.communicate()[0]}")
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def send_as(learner: str, state, monkeypatch, url: str, *results: tuple[str, bool]) -> None:
    """Join as `learner` with its own .lab/, then send each (lab id, passed) as `scalelab check` does."""
    monkeypatch.setattr(paths, "STATE", state / learner)
    classroom.join(url, learner)
    for lab_id, passed in results:
        classroom.post_result(lab_id, passed, datetime.now(timezone.utc).isoformat(timespec="seconds"))


def test_the_grid_shows_learners_results_live(classroom_url, tmp_path, monkeypatch, artifacts_dir, capsys):
    if not shutil.which("chromium") and not shutil.which("/usr/bin/chromium"):
        pytest.fail("Chromium is not installed: run `sudo apt-get install -y chromium` (make test installs it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", *QUIET_FLAGS])
        page = browser.new_page(viewport={"width": 1400, "height": 500})
        try:
            page.goto(classroom_url)
            page.wait_for_selector("#grid th >> text=Meet Chirp")
            assert page.inner_text("#status").startswith("0 learners")
            # Still set at the end only if the page was never reloaded.
            page.evaluate("window.neverReloaded = true")

            send_as("Ada", tmp_path, monkeypatch, classroom_url, (INTRO.id, True), (POOL.id, True))
            send_as("Grace", tmp_path, monkeypatch, classroom_url, (INTRO.id, True), (POOL.id, False))
            # A name is shown as text, never run as HTML.
            send_as("<b>Linus</b>", tmp_path, monkeypatch, classroom_url)
            assert capsys.readouterr().err == ""  # every result was taken

            cells = {
                ("Ada", INTRO.id): "passed",
                ("Ada", POOL.id): "passed",
                ("Grace", INTRO.id): "passed",
                ("Grace", POOL.id): "failed",
            }
            for (learner, lab_id), verdict in cells.items():
                cell = f'tr[data-learner="{learner}"] td[data-lab="{lab_id}"].{verdict}'
                page.wait_for_selector(cell, timeout=SHOWS_WITHIN_MS)
            page.wait_for_selector('tr[data-learner="<b>Linus</b>"]', timeout=SHOWS_WITHIN_MS)
            assert page.inner_text('tr[data-learner="<b>Linus</b>"] td.learner') == "<b>Linus</b>"
            assert page.locator("#grid b").count() == 0
            assert page.inner_text(f'tr[data-learner="Grace"] td[data-lab="{POOL.id}"]').startswith("✗")
            assert page.inner_text("#status").startswith("3 learners")
            assert page.evaluate("window.neverReloaded") is True
            page.screenshot(path=str(artifacts_dir / "classroom-grid.png"), full_page=True)
        finally:
            browser.close()
