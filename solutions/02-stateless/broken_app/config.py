"""Chirp's settings: fixed in Lab 2 (stateless by default).

Every setting comes from the environment (twelve-factor), so the same code runs in every
environment and an instance is configured by whoever starts it:
- CHIRP_SECRET_KEY has no default. A secret written in the code is in every clone of the
  repository and the same everywhere; an instance started without one refuses to start, with a
  message naming the variable, rather than run with a guessable key.
- Sessions live in Redis (sessions.py), under CHIRP_SESSION_KEY_PREFIX, for
  CHIRP_SESSION_LIFETIME_HOURS after the last request (7 days unless told otherwise), give or take
  CHIRP_SESSION_REFRESH_MINUTES (60): a session is written back when it changes, or when its
  expiry was last pushed that long ago, never on every request.
- Avatars live in S3-compatible object storage (storage.py), not on the instance's disk.
"""

import os
from datetime import timedelta

MEGABYTE = 1024 * 1024


def required(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise RuntimeError(f"{name} is not set: start Chirp with it in the environment (the lab stack sets it)")
    return value


def settings() -> dict:
    """The Flask config of one Chirp instance."""
    return {
        "SECRET_KEY": required("CHIRP_SECRET_KEY"),
        # Caps every request body: the 2 MB avatar limit, and JSON bodies too.
        "MAX_CONTENT_LENGTH": 2 * MEGABYTE,
        "SESSION_COOKIE_NAME": "chirp_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_KEY_PREFIX": os.environ.get("CHIRP_SESSION_KEY_PREFIX", "chirp:session:"),
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=float(os.environ.get("CHIRP_SESSION_LIFETIME_HOURS", 168))),
        # Flask-Session would write every session back on every request to push its expiry (sessions.py).
        "SESSION_REFRESH_EACH_REQUEST": False,
        "SESSION_REFRESH_AFTER": timedelta(minutes=float(os.environ.get("CHIRP_SESSION_REFRESH_MINUTES", 60))),
        "INSTANCE_NAME": os.environ.get("CHIRP_INSTANCE", "chirp"),
        "DATABASE_URL": required("CHIRP_DATABASE_URL"),
        "SMTP_HOST": required("CHIRP_SMTP_HOST"),
        "SMTP_PORT": int(required("CHIRP_SMTP_PORT")),
        "MAIL_FROM": os.environ.get("CHIRP_MAIL_FROM", "welcome@chirp.test"),
        "REDIS_URL": required("CHIRP_REDIS_URL"),
        "S3_ENDPOINT_URL": required("CHIRP_S3_ENDPOINT_URL"),
        "S3_BUCKET": required("CHIRP_S3_BUCKET"),
        "S3_ACCESS_KEY": required("CHIRP_S3_ACCESS_KEY"),
        "S3_SECRET_KEY": required("CHIRP_S3_SECRET_KEY"),
        "S3_REGION": os.environ.get("CHIRP_S3_REGION", "us-east-1"),
    }
