"""Lab 3's check, step 4: the PDF report and the avatar's thumbnail are made off the request.

Each grade returns the reasons it fails, naming the module to change; the numbers go into the check's
measurements. lab3.py's docstring says why each bound is what it is.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass

import requests
from PIL import Image, ImageOps

from scalelab.kit.clients import avatar_png

REPORT_ACCEPTED_WITHIN_S = 2.0
REPORT_READY_WITHIN_S = 30
BIG_AVATAR, SMALL_AVATAR = 4000, 64  # pixels a side; 4000 x 4000 is within the app's 4096 x 4096 limit
UPLOADS_EACH = 3
THUMBNAIL_SIZE = (128, 128)
THUMBNAIL_WITHIN_S = 20
POLL_S = 0.5
TIMEOUT_S = 60
API = "the API is in labs/03-async/README.md"


def grade_report(app_url: str, member: dict, measurements: dict) -> list[str]:
    started = time.perf_counter()
    answer = requests.post(f"{app_url}/api/reports", cookies=member, timeout=TIMEOUT_S)
    answered_s = time.perf_counter() - started
    measurements["report"] = {"status": answer.status_code, "answered_s": round(answered_s, 2)}
    body = answer.json() if answer.status_code == 202 and "json" in answer.headers.get("Content-Type", "") else {}
    if answer.status_code != 202 or "status_url" not in body:
        what = "with the PDF itself" if answer.headers.get("Content-Type") == "application/pdf" else "without a status_url"
        return [
            f"POST /api/reports answered HTTP {answer.status_code} {what} after {answered_s:.1f} s: build the PDF in a job "
            f"and answer 202 with the report's status_url (broken_app/reports.py; {API})"
        ]
    reasons = []
    if answered_s > REPORT_ACCEPTED_WITHIN_S:
        reasons.append(
            f"POST /api/reports took {answered_s:.1f} s to answer 202 (bound {REPORT_ACCEPTED_WITHIN_S:g} s): "
            "the request should only queue the job (broken_app/reports.py)"
        )
    status = _poll(lambda: _json(requests.get(f"{app_url}{body['status_url']}", cookies=member, timeout=TIMEOUT_S)),
                   lambda answer: answer.get("status") in ("done", "failed"), REPORT_READY_WITHIN_S)
    measurements["report"]["ready_s"] = status.seconds
    if not status.value or status.value.get("status") != "done":
        return reasons + [
            f"the report was not done within {REPORT_READY_WITHIN_S} s (last status: {status.value}): "
            "`scalelab logs worker` shows the job's errors"
        ]
    pdf = requests.get(f"{app_url}{status.value.get('pdf_url', '')}", cookies=member, timeout=TIMEOUT_S)
    if pdf.status_code != 200 or not pdf.content.startswith(b"%PDF-"):
        reasons.append(
            f"the report's pdf_url answered HTTP {pdf.status_code} ({pdf.headers.get('Content-Type')}), not the PDF "
            f"(broken_app/reports.py; {API})"
        )
    return reasons


def grade_thumbnail(app_url: str, member: dict, measurements: dict) -> list[str]:
    big, small = avatar_png(BIG_AVATAR), avatar_png(SMALL_AVATAR)
    resize_ms = _resize_ms(big)
    # The first request each app process serves pays for its S3 client and connection (about 200 ms on
    # 2 cores), whatever the image's size: the fastest upload of each size leaves that out, and small
    # ones both before and after the big ones give every process a chance to be warm. (Medians of three
    # let it in: a broken uploads.py once measured +122 ms against a 264 ms resize, and passed.)
    small_ms = [_upload(app_url, member, small)[0] for _ in range(UPLOADS_EACH)]
    big_uploads = [_upload(app_url, member, big) for _ in range(UPLOADS_EACH)]
    small_ms += [_upload(app_url, member, small)[0] for _ in range(UPLOADS_EACH)]
    big_ms = min(ms for ms, _ in big_uploads)
    added_ms = big_ms - min(small_ms)
    measurements["avatar"] = {
        "resize_here_ms": round(resize_ms),
        "upload_small_ms": round(min(small_ms)),
        "upload_big_ms": round(big_ms),
    }
    reasons = []
    if added_ms > resize_ms / 2:
        reasons.append(
            f"uploading a {BIG_AVATAR} x {BIG_AVATAR} avatar took {added_ms:.0f} ms more than a {SMALL_AVATAR} x "
            f"{SMALL_AVATAR} one, and resizing it takes {resize_ms:.0f} ms here: the resize runs in the request. "
            "Check only the header there, and queue the resize (broken_app/uploads.py)"
        )
    if reasons:  # no job yet to make the thumbnail: the next step would only wait, and blame it
        return reasons
    # The worker's processes may finish the three resizes in any order: any of them may end as the avatar.
    urls = {url for _, url in big_uploads}
    switched = _poll(lambda: _json(requests.get(f"{app_url}/api/me", cookies=member, timeout=TIMEOUT_S)).get("avatar_url"),
                     lambda avatar_url: avatar_url in urls, THUMBNAIL_WITHIN_S)
    measurements["avatar"]["thumbnail_s"] = switched.seconds
    image = requests.get(f"{app_url}{switched.value}", timeout=TIMEOUT_S) if switched.value in urls else None
    size = Image.open(io.BytesIO(image.content)).size if image is not None and image.status_code == 200 else None
    if size != THUMBNAIL_SIZE:
        shown = f"{switched.value} (HTTP {image.status_code}, size {size})" if image is not None else switched.value
        reasons.append(
            f"{THUMBNAIL_WITHIN_S} s after the uploads the member's avatar was {shown}: the job must store a "
            f"{THUMBNAIL_SIZE[0]} x {THUMBNAIL_SIZE[1]} thumbnail at the URL the upload answered, then set the avatar "
            "(broken_app/uploads.py; `scalelab logs worker`)"
        )
    return reasons


def _json(answer: requests.Response) -> dict:
    """The answer's JSON; for anything else, what it was."""
    if answer.status_code == 200 and "json" in answer.headers.get("Content-Type", ""):
        return answer.json()
    return {"status": f"HTTP {answer.status_code}"}


def _upload(app_url: str, member: dict, png: bytes) -> tuple[float, str]:
    """(milliseconds to answer, the avatar URL it gave)."""
    started = time.perf_counter()
    upload = {"file": ("me.png", png, "image/png")}
    answer = requests.post(f"{app_url}/api/avatar", files=upload, cookies=member, timeout=TIMEOUT_S)
    answer.raise_for_status()
    return (time.perf_counter() - started) * 1000, answer.json()["url"]


def _resize_ms(png: bytes) -> float:
    """What broken_app/thumbnails.py does to an upload (decode, crop, resize), timed here: the yardstick."""
    started = time.perf_counter()
    ImageOps.fit(Image.open(io.BytesIO(png)).convert("RGBA"), THUMBNAIL_SIZE).save(io.BytesIO(), format="PNG")
    return (time.perf_counter() - started) * 1000


@dataclass
class Polled:
    value: object  # the last value read
    seconds: float  # when it came, since the polling began


def _poll(read, done, within_s: float) -> Polled:
    """read() every POLL_S until done(value) or within_s passed; the last value and when it came."""
    started = time.monotonic()
    while True:
        value = read()
        if done(value) or time.monotonic() - started > within_s:
            return Polled(value, round(time.monotonic() - started, 1))
        time.sleep(POLL_S)
