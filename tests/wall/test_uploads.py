"""Lab 2's failure: an avatar saved on one instance's local disk is missing on the other."""

from __future__ import annotations

import io

import pytest
import requests
from PIL import Image

pytestmark = pytest.mark.wall


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (300, 200), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def test_an_avatar_uploaded_through_one_instance_is_missing_on_the_other(lab_settings, seeded_credentials, no_faults):
    app1 = f"http://127.0.0.1:{lab_settings.port('APP1')}"
    app2 = f"http://127.0.0.1:{lab_settings.port('APP2')}"
    email, password = seeded_credentials[0]
    # One kept-alive connection to app1: the login and the upload reach the same worker process.
    with requests.Session() as browser:
        assert browser.post(f"{app1}/api/login", json={"email": email, "password": password}, timeout=30).status_code == 200
        upload = browser.post(f"{app1}/api/avatar", files={"file": ("me.png", _png(), "image/png")}, timeout=30)
    assert upload.status_code == 201, upload.text
    path = upload.json()["url"]

    assert requests.get(app1 + path, timeout=10).status_code == 200
    assert requests.get(app2 + path, timeout=10).status_code == 404

    # Through nginx, on new connections: the same URL works or not depending on who answers.
    served = {}
    for _ in range(10):
        response = requests.get(lab_settings.app_url + path, timeout=10)
        served[response.headers["X-Served-By"]] = response.status_code
    assert served == {"app1": 200, "app2": 404}
