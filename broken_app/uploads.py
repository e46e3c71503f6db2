"""Avatars: fixed in Lab 3 (async boundaries). The resize is a job on the queue.

The request does only what is cheap and must happen before it answers: it refuses what is not an
image from its header (thumbnails.check), keeps the original in object storage, queues the resize,
and answers with the URL the thumbnail will have. The Celery worker decodes and resizes it, stores
the thumbnail, and only then points the user's avatar at it: until then the profile shows the old
one, never a broken image.

A redelivered job is harmless: the thumbnail's name was chosen by the request, so doing the job
twice writes the same object twice and sets the same URL.
"""

import secrets

from celery import shared_task
from werkzeug.datastructures import FileStorage

from . import storage, thumbnails, users


def save_avatar(user_id: int, upload: FileStorage) -> str:
    """Keep the upload and queue its resize; return the URL its thumbnail will have."""
    data = upload.read()
    thumbnails.check(data)
    name = f"{user_id}-{secrets.token_hex(8)}"
    storage.save(f"originals/{name}", data, upload.mimetype or "application/octet-stream")
    make_thumbnail.delay(user_id, name)
    return storage.url(f"{name}.png")


@shared_task
def make_thumbnail(user_id: int, name: str) -> None:
    storage.save(f"{name}.png", thumbnails.thumbnail_png(storage.load(f"originals/{name}")), "image/png")
    users.set_avatar_url(user_id, storage.url(f"{name}.png"))
