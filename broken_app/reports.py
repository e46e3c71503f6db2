"""The "export my activity" PDF report: the profile page's button (POST /reports) and the API's
POST /api/reports.

Fragile on purpose (Lab 3): the PDF is built inside the request, on the web server's CPU, while
the request holds its thread and its database connection. Building it takes longer the more the
user posted, and a few users exporting at once slow down everybody else's requests. Lab 3 moves
it to a background job.
"""

import io

from flask import Blueprint, g, send_file
from sqlalchemy import Row

from . import pages
from .auth import login_required
from .report_pdf import activity_report

bp = Blueprint("reports", __name__)


@bp.post("/api/reports")
@login_required
def export_from_api():
    return download(g.user)


@bp.post("/reports")
@login_required
def export_from_page():
    pages.check_csrf_token()
    return download(g.user)


def download(user: Row):
    """The user's activity report as a PDF attachment."""
    return send_file(
        io.BytesIO(activity_report(user)),
        mimetype="application/pdf",
        as_attachment=True,
        download_name="chirp-activity.pdf",
    )
