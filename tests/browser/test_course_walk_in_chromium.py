"""The course's web pages in a real browser (Debian's Chromium, driven by Playwright), as a learner meets
them on day one: JupyterLab opens Lab 0's notebook, the Locust UI starts a small run against Chirp and
stops it, and Prometheus's UI shows its targets up. Each page's screenshot is saved under artifacts/.

Chirp's own pages, through nginx, are walked by test_chirp_in_chromium.py.
"""

from __future__ import annotations

import re
import time
from urllib.parse import urljoin

import pytest
import requests
from playwright.sync_api import expect, sync_playwright
from test_chirp_in_chromium import CHROMIUM, QUIET_FLAGS

pytestmark = pytest.mark.browser

# JupyterLab builds its page in the browser: on a busy 2-core laptop that takes seconds, not milliseconds.
PAGE_TIMEOUT_MS = 60_000


@pytest.fixture
def page(running_stack):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", *QUIET_FLAGS])
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        page.set_default_timeout(PAGE_TIMEOUT_MS)
        try:
            yield page
        finally:
            browser.close()


def stats(locust: str) -> dict:
    return requests.get(f"{locust}/stats/requests", timeout=5).json()


def eventually(probe, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while not probe():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


def test_jupyterlab_opens_the_lab_0_notebook(lab_settings, page, artifacts_dir):
    url = f"http://{lab_settings.address('jupyterlab')}/lab/tree/notebooks/00-meet-chirp.ipynb"
    page.goto(f"{url}?token={lab_settings['JUPYTER_TOKEN']}")
    notebook = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook")
    expect(notebook.locator(".jp-Cell").first).to_be_visible()
    expect(notebook.get_by_role("heading", name=re.compile("Lab 0"))).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "jupyterlab-lab-0.png"))


def test_the_locust_ui_starts_and_stops_a_run(lab_settings, page, artifacts_dir):
    locust = f"http://{lab_settings.address('locust')}"
    page.goto(locust + "/")
    # The stack's Locust keeps its last run: then it shows that run and a New button, not the form.
    form, new = page.locator("input[name=userCount]"), page.get_by_role("button", name="New")
    expect(form.or_(new).first).to_be_visible()
    if new.is_visible():
        new.click()
    page.fill("input[name=userCount]", "4")
    page.fill("input[name=spawnRate]", "4")
    page.get_by_role("button", name="Start").click()
    stop = page.get_by_role("button", name="Stop")
    expect(stop).to_be_visible()
    # The run really sends requests: Locust's own stats API counts them.
    assert eventually(lambda: stats(locust)["total_rps"] > 0), stats(locust)
    page.screenshot(path=str(artifacts_dir / "locust-run.png"))
    stop.click()
    assert eventually(lambda: stats(locust)["state"] == "stopped"), stats(locust)["state"]


def test_prometheus_shows_its_targets_up(lab_settings, page, artifacts_dir):
    # The README's address redirects to the UI's home: Debian's package serves the classic UI under
    # /classic/, the official image (Docker mode) the new one at /. Its targets page is next to it.
    page.goto(f"{lab_settings.prometheus_url}/")
    page.goto(urljoin(page.url, "targets"))
    expect(page.get_by_text(re.compile(r"^up$", re.IGNORECASE)).first).to_be_visible()
    expect(page.get_by_text("postgres", exact=False).first).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "prometheus-targets.png"), full_page=True)
