"""The "export my activity" PDF report: fixed in Lab 3 (async boundaries). A job on the queue.

Asking for a report answers at once: the API with 202 Accepted and the URL of the report's status,
the profile page by sending the browser to a page that polls that status. The Celery worker builds
the PDF meanwhile, on its own CPU, holding no web thread and no request's database connection.
- GET /api/reports/<id> answers {"status": "pending" | "done" | "failed"}, and the PDF's URL once done.
- GET /api/reports/<id>/pdf is the PDF, for a day (Celery's result_expires: then Redis forgets it).
- A report belongs to whoever asked for it: its id is kept in their session, and anybody else gets
  404, as for a report that does not exist.
- Building it again is harmless (it only reads), so a redelivered job needs no idempotency key.
"""

import base64
import io

from celery import shared_task
from celery.result import AsyncResult
from flask import Blueprint, abort, g, redirect, render_template_string, send_file, session, url_for
from . import pages, users
from .auth import login_required
from .report_pdf import activity_report

bp = Blueprint("reports", __name__)

# A report not started within an hour is dropped: whoever asked has long given up.
START_WITHIN_S = 3600
STATES = {"SUCCESS": "done", "FAILURE": "failed"}  # anything else is still pending

STATUS_PAGE = """{% extends "base.html" %}
{% block content %}
  <section class="card">
    <h1>Your activity report</h1>
    <p id="report-status">Building your report…</p>
  </section>
  <script>
    // Ask every second until the report is done, then download it.
    async function poll() {
      const answer = await (await fetch({{ status_url | tojson }})).json();
      if (answer.status === "done") {
        document.getElementById("report-status").innerHTML = '<a href="' + answer.pdf_url + '">Download the PDF</a>';
        window.location = answer.pdf_url;
      } else if (answer.status === "failed") {
        document.getElementById("report-status").textContent = "The report failed: please try again.";
      } else {
        setTimeout(poll, 1000);
      }
    }
    poll();
  </script>
{% endblock %}
"""


@bp.post("/api/reports")
@login_required
def export_from_api():
    report_id = _start(g.user.id)
    status_url = url_for("reports.status", report_id=report_id)
    return {"id": report_id, "status_url": status_url}, 202, {"Location": status_url}


@bp.post("/reports")
@login_required
def export_from_page():
    pages.check_csrf_token()
    return redirect(url_for("reports.status_page", report_id=_start(g.user.id)))


@bp.get("/reports/<report_id>")
@login_required
def status_page(report_id: str):
    _own(report_id)
    return render_template_string(STATUS_PAGE, status_url=url_for("reports.status", report_id=report_id))


@bp.get("/api/reports/<report_id>")
@login_required
def status(report_id: str):
    state = STATES.get(_own(report_id).state, "pending")
    answer = {"id": report_id, "status": state}
    if state == "done":
        answer["pdf_url"] = url_for("reports.pdf", report_id=report_id)
    return answer


@bp.get("/api/reports/<report_id>/pdf")
@login_required
def pdf(report_id: str):
    result = _own(report_id)
    if result.state != "SUCCESS":
        abort(404, "this report is not ready: ask its status URL")
    return send_file(
        io.BytesIO(base64.b64decode(result.result)),
        mimetype="application/pdf",
        as_attachment=True,
        download_name="chirp-activity.pdf",
    )


def _start(user_id: int) -> str:
    report_id = build_report.apply_async((user_id,), expires=START_WITHIN_S).id
    session["reports"] = [*session.get("reports", [])[-9:], report_id]  # the last 10 are enough
    return report_id


def _own(report_id: str) -> AsyncResult:
    if report_id not in session.get("reports", []):
        abort(404, "no such report")
    return build_report.AsyncResult(report_id)


@shared_task
def build_report(user_id: int) -> str:
    """The PDF, base64-encoded: Celery's results travel as JSON."""
    return base64.b64encode(activity_report(users.get(user_id))).decode()
