"""Signing up, logging in and out, and who is logged in."""

import functools
import smtplib

from flask import abort, g, session
from sqlalchemy import Row
from werkzeug.security import check_password_hash, generate_password_hash

from . import mail, users
from .db import release_db
from .logs import log


def sign_up(name: str, email: str, password: str) -> int:
    """Create the account, then send the welcome email; return the new user's id.

    Lab 1: the account is committed and the connection given back (release_db) BEFORE the email
    goes out, so a slow email provider holds a thread but no database connection. If the email
    fails, the account stays and the failure is logged: making the email reliable is Lab 3.
    """
    user_id = users.create(name, email, generate_password_hash(password))
    if user_id is None:
        abort(409, "an account with this email already exists")
    release_db()
    try:
        mail.send_welcome_email(user_id, name, email)
    except (OSError, smtplib.SMTPException) as error:
        log(f"ERROR welcome email to user {user_id} not sent: {type(error).__name__}: {error}")
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
