"""The welcome email: fixed in Lab 3 (async boundaries). A job on the queue, not part of the request.

Signing up answers as soon as the account is committed; the email goes out from the Celery worker
(queue_settings.py) a moment later. The boundary: an account must exist before we answer, a welcome email
only has to arrive.
- A temporary failure of the provider (a 4xx answer such as 451, a timeout, a refused or dropped
  connection) retries the job after a random wait of up to 1, 2, 4, then 8 s (exponential backoff
  with full jitter, so that retries of many jobs do not arrive together), capped well below the
  broker's visibility timeout (queue_settings.py); up to 100 times, some 15 minutes of provider outage.
  A permanent failure (5xx, such as an address the provider refuses) is not retried.
- At least once, never twice: a retried or redelivered job sends the same message again, with the
  same X-Chirp-Idempotency-Key, and the provider delivers a key only once. A worker killed after
  the provider accepted the email, but before the job was acknowledged, therefore costs nothing.
"""

import smtplib

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval
from flask import current_app

from .welcome import welcome_message

# Short, now that nobody waits for it: a provider that hangs fails the attempt, and the job retries.
SMTP_TIMEOUT_SECONDS = 10


def send_welcome_email(user_id: int, name: str, email: str) -> None:
    """Queue the welcome email; returns at once."""
    deliver_welcome_email.delay(user_id, name, email)


@shared_task(bind=True, max_retries=100)
def deliver_welcome_email(self, user_id: int, name: str, email: str) -> None:
    try:
        _send(user_id, name, email)
    except smtplib.SMTPResponseException as error:
        if not 400 <= error.smtp_code < 500:
            raise  # permanent: sending it again would fail again
        raise self.retry(exc=error, countdown=_backoff(self.request.retries)) from error
    except OSError as error:  # timeouts, refused and dropped connections (smtplib's errors included)
        raise self.retry(exc=error, countdown=_backoff(self.request.retries)) from error


def _backoff(retries: int) -> float:
    return get_exponential_backoff_interval(factor=1, retries=retries, maximum=8, full_jitter=True)


def _send(user_id: int, name: str, email: str) -> None:
    config = current_app.config
    with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=SMTP_TIMEOUT_SECONDS) as smtp:
        smtp.send_message(welcome_message(user_id, name, email))
