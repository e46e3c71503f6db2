"""Checks on what clients send. Each failure is a 4xx whose message says what to fix."""

import re
import unicodedata
from collections.abc import Mapping

from flask import abort, request
from werkzeug.datastructures import FileStorage

# Plain ASCII addresses: the welcome email is sent over SMTP without the SMTPUTF8 extension.
EMAIL_PATTERN = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+", re.ASCII
)
DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def json_object() -> dict:
    """The request's body, which must be a JSON object."""
    if not request.is_json:
        abort(415, "send a JSON object with Content-Type: application/json")
    try:
        data = request.get_json(silent=True)
    except RecursionError:
        data = None
    if not isinstance(data, dict):
        abort(400, "the body must be a JSON object")
    return data


def uploaded_file() -> FileStorage:
    """The file sent as the multipart form field "file"."""
    if request.mimetype != "multipart/form-data":
        abort(415, "send the file as multipart/form-data")
    upload = request.files.get("file")
    if upload is None:
        abort(400, "send the file in the form field 'file'")
    return upload


def signup_fields(data: Mapping) -> tuple[str, str, str]:
    """name, email and password of a new account."""
    name = _text(data, "name").strip()
    _check_length("name", name, 1, 80)
    return name, email(data), _password(data)


def login_fields(data: Mapping) -> tuple[str, str]:
    """email and password to log in with."""
    return email(data), _password(data)


def email(data: Mapping) -> str:
    address = _text(data, "email").strip().lower()
    if len(address) > 254 or not EMAIL_PATTERN.fullmatch(address):
        abort(400, "email must be an email address such as ada@example.com")
    return address


def post_body(data: Mapping) -> str:
    body = _text(data, "body", multiline=True).strip()
    _check_length("body", body, 1, 280)
    return body


def limit_arg() -> int:
    """The query argument ?limit=N: how many posts to list."""
    try:
        limit = int(request.args.get("limit", DEFAULT_LIMIT))
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_LIMIT:
        abort(400, f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return limit


def _password(data: Mapping) -> str:
    password = _text(data, "password")
    _check_length("password", password, 8, 128)
    return password


def _text(data: Mapping, field: str, multiline: bool = False) -> str:
    """A string field without control characters (line breaks and tabs only if multiline).

    Unpaired surrogates, which JSON can smuggle in as "\\ud800", are refused too: they cannot
    be encoded for the database, the password hash or the email.
    """
    value = data.get(field)
    if not isinstance(value, str):
        abort(400, f"{field} must be a string")
    allowed_controls = "\n\r\t" if multiline else ""
    for character in value:
        if unicodedata.category(character) in ("Cc", "Cs") and character not in allowed_controls:
            abort(400, f"{field} contains a character that is not allowed: {character!r}")
    return value


def _check_length(field: str, value: str, shortest: int, longest: int) -> None:
    if not shortest <= len(value) <= longest:
        abort(400, f"{field} must be {shortest} to {longest} characters long")
