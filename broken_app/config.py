"""Chirp's settings.

Fragile on purpose (Lab 2): the SECRET_KEY and the UPLOAD_FOLDER are written here, in the code.
The key is in every clone of the repository, the same in every environment, and changing it
means a new release; a twelve-factor app reads its secrets from the environment instead. The
upload folder is a path on the local disk of whichever server handled the upload, so a second
instance never sees the file. Lab 2 moves both out of the code.

The settings that differ per server (instance name, database, email provider) already come
from the environment.
"""

import os

MEGABYTE = 1024 * 1024


def settings() -> dict:
    """The Flask config of one Chirp instance."""
    return {
        # Signs the session cookie (see sessions.py).
        "SECRET_KEY": "chirp-secret-key-do-not-tell-anyone",
        # Relative: resolved against the working directory of the server process.
        "UPLOAD_FOLDER": "uploads",
        # Caps every request body: the 2 MB avatar limit, and JSON bodies too.
        "MAX_CONTENT_LENGTH": 2 * MEGABYTE,
        "SESSION_COOKIE_NAME": "chirp_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "INSTANCE_NAME": os.environ.get("CHIRP_INSTANCE", "chirp"),
        "DATABASE_URL": os.environ.get(
            "CHIRP_DATABASE_URL", "postgresql+psycopg2://chirp:chirp@127.0.0.1:15432/chirp"
        ),
        "SMTP_HOST": os.environ.get("CHIRP_SMTP_HOST", "127.0.0.1"),
        "SMTP_PORT": int(os.environ.get("CHIRP_SMTP_PORT", "11025")),
        "MAIL_FROM": os.environ.get("CHIRP_MAIL_FROM", "welcome@chirp.test"),
        # Chirp itself does not use Redis yet; the lab's fault switches live there (lab_faults.py).
        "REDIS_URL": os.environ.get("CHIRP_REDIS_URL", "redis://127.0.0.1:16379/0"),
    }
