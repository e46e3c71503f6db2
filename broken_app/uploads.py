"""Avatars: resized to a thumbnail, inside the request.

Fragile on purpose (Lab 3): Pillow decodes and resizes the image inside the request, on the web
server's CPU, while the request holds its thread and its database connection. Lab 3 moves the
resize to a background job. Where the thumbnail is kept is storage.py's business (Lab 2).
"""

import secrets

from werkzeug.datastructures import FileStorage

from . import storage, thumbnails, users


def save_avatar(user_id: int, upload: FileStorage) -> str:
    """Store the user's new avatar and return its URL."""
    name = f"{user_id}-{secrets.token_hex(8)}.png"
    storage.save(name, thumbnails.thumbnail_png(upload.read()), "image/png")
    users.set_avatar_url(user_id, storage.url(name))
    return storage.url(name)
