"""The activity report's PDF: the user's counts and all of their posts. Not a lab module.

Where and when it is built is reports.py's business (Lab 3).
"""

from datetime import datetime, timezone

from fpdf import FPDF
from sqlalchemy import Row

from . import posts, users


def activity_report(user: Row) -> bytes:
    """A PDF with the user's counts and all of their posts, newest first."""
    stats = users.stats(user.id)
    pdf = FPDF()
    pdf.set_title("Chirp activity report")
    pdf.add_page()
    pdf.set_font("Helvetica", style="B", size=18)
    pdf.cell(text=_latin1(f"Chirp activity of {user.name}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=11)
    pdf.cell(
        text=_latin1(f"{user.email}, exported {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.cell(
        text=f"{stats.posts} posts, {stats.followers} followers, following {stats.following}",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln()
    with pdf.table(col_widths=(35, 155), text_align="LEFT") as table:
        table.row(("Date", "Post"))
        for post in posts.by_author(user.id):
            table.row((f"{post['created_at']:%Y-%m-%d %H:%M}", _latin1(post["body"])))
    return bytes(pdf.output())


def _latin1(text: str) -> str:
    """PDF's built-in fonts cover Latin-1 only: other characters print as "?"."""
    return text.encode("latin-1", "replace").decode("latin-1")
