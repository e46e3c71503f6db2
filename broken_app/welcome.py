"""The welcome email's message: who it is from, what it says, and the key that makes it unique.

Not a lab module: how and when the message is sent is mail.py's business (Lab 3).
"""

from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app


def welcome_message(user_id: int, name: str, email: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = email
    message["Subject"] = f"Welcome to Chirp, {name}!"
    message["Message-ID"] = make_msgid(domain="chirp.test")
    # The same for every attempt at this user's welcome email: the email provider delivers a key
    # only once, so a second attempt, after a timeout or a crash, can never make a duplicate.
    message["X-Chirp-Idempotency-Key"] = f"welcome-{user_id}"
    message.set_content(
        f"Hi {name},\n\n"
        "Welcome to Chirp! Follow a few people and say hello to the world.\n\n"
        "The Chirp team\n"
    )
    return message
