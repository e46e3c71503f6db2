"""Signing up, logging in and out, and who is logged in.

Fragile on purpose (Lab 1, the connection pool): sign_up keeps its transaction, and so a pooled
database connection, open while the welcome email goes out, so that a signup whose email failed
leaves no account behind. A slow email provider then holds one connection per signup until the pool
runs dry (see db.py and mail.py). Lab 1 commits first and gives the connection back before the email.
"""

import functools

from flask import abort, g, session
from sqlalchemy import Row
from werkzeug.security import check_password_hash, generate_password_hash

from . import mail, users
from .db import get_db


def sign_up(name: str, email: str, password: str) -> int:
    """Create the account and send the welcome email; return the new user's id.

    The user is committed only once the email provider has accepted the welcome email, so a
    signup whose email failed leaves no account behind. Until then the transaction, and its
    database connection, stay open (see db.py and mail.py).
    """
    user_id = users.create(name, email, generate_password_hash(password))
    if user_id is None:
        abort(409, "an account with this email already exists")
    mail.send_welcome_email(user_id, name, email)
    get_db().commit()
    return user_id


def log_in(email: str, password: str) -> Row:
    user = users.get_by_email(email)
    if user is None or not check_password_hash(user.password_hash, password):
        abort(401, "wrong email or password")
    start_session(user.id)
    return user


def start_session(user_id: int) -> None:
    session.clear()
    session["user_id"] = user_id


def log_out() -> None:
    session.clear()


def load_logged_in_user() -> None:
    """Before each request: g.user is the logged-in user's row, or None."""
    user_id = session.get("user_id")
    g.user = users.get(user_id) if user_id is not None else None


def login_required(view):
    """401 unless somebody is logged in."""

    @functools.wraps(view)
    def wrapped_view(**kwargs):
        if g.user is None:
            abort(401, "log in first")
        return view(**kwargs)

    return wrapped_view
