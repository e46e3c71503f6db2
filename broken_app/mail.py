"""The welcome email, sent over SMTP to the email provider.

Fragile on purpose (Lab 3): the email is sent inside the signup request, and signup commits the
new user only after the provider accepted it (see auth.sign_up). A slow provider makes every
signup as slow as itself while the request holds a gunicorn thread and a database connection;
a failing provider fails the signups. Lab 3 moves the email to a background job.
"""

import smtplib

from flask import current_app

from .welcome import welcome_message

# Generous, so that a slow provider does not fail signups. It is also how long one signup can
# hold its thread and its database connection when the provider hangs.
SMTP_TIMEOUT_SECONDS = 60


def send_welcome_email(user_id: int, name: str, email: str) -> None:
    config = current_app.config
    with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=SMTP_TIMEOUT_SECONDS) as smtp:
        smtp.send_message(welcome_message(user_id, name, email))
