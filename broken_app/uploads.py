"""Avatars: resized to a thumbnail, inside the request.

Fragile on purpose (Lab 3): Pillow decodes and resizes the image inside the request, on the web
server's CPU, while the request holds its thread and its database connection. Lab 3 moves the
resize to a background job. Where the thumbnail is kept is storage.py's business (Lab 2).
"""

import io
import secrets

from PIL import Image, ImageOps
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import BadRequest

from . import storage, users

THUMBNAIL_SIZE = (128, 128)
# A file of a few kilobytes can declare a huge image; refuse it before decoding it.
MAX_PIXELS = 4096 * 4096


def save_avatar(user_id: int, upload: FileStorage) -> str:
    """Store the user's new avatar and return its URL."""
    png = io.BytesIO()
    _thumbnail(upload).save(png, format="PNG")
    url = storage.save(f"{user_id}-{secrets.token_hex(8)}.png", png.getvalue(), "image/png")
    users.set_avatar_url(user_id, url)
    return url


def _thumbnail(upload: FileStorage) -> Image.Image:
    try:
        image = Image.open(upload.stream)
        if image.width * image.height > MAX_PIXELS:
            raise ValueError(f"{image.width}x{image.height} is too many pixels")
        image = ImageOps.exif_transpose(image).convert("RGBA")
        return ImageOps.fit(image, THUMBNAIL_SIZE)
    except Exception as error:  # Pillow's decoders raise many kinds of errors on damaged files
        raise BadRequest(
            f"file must be an image (PNG, JPEG, GIF, WebP...) of at most {MAX_PIXELS} pixels"
        ) from error

