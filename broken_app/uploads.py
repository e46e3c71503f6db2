"""Avatars: resized to a thumbnail and kept on the server's disk.

Fragile on purpose, twice:
- Lab 2: the thumbnail is written to UPLOAD_FOLDER on the local disk of the instance that
  handled the upload, and served from there. Behind a load balancer, the other instance answers
  404 for it; a new server or a lost disk loses every avatar. Lab 2 moves the files to shared
  object storage.
- Lab 3: Pillow decodes and resizes the image inside the request, on the web server's CPU, while
  the request holds its thread and its database connection. Lab 3 moves the resize to a
  background job.
"""

import os
import secrets

from flask import Blueprint, current_app, send_from_directory, url_for
from PIL import Image, ImageOps
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import BadRequest

from . import users

bp = Blueprint("uploads", __name__)

THUMBNAIL_SIZE = (128, 128)
# A file of a few kilobytes can declare a huge image; refuse it before decoding it.
MAX_PIXELS = 4096 * 4096


def upload_folder() -> str:
    """UPLOAD_FOLDER, relative to the server process's working directory."""
    return os.path.abspath(current_app.config["UPLOAD_FOLDER"])


def save_avatar(user_id: int, upload: FileStorage) -> str:
    """Store the user's new avatar and return its URL."""
    thumbnail = _thumbnail(upload)
    filename = f"{user_id}-{secrets.token_hex(8)}.png"
    os.makedirs(upload_folder(), exist_ok=True)
    thumbnail.save(os.path.join(upload_folder(), filename), format="PNG")
    url = url_for("uploads.avatar", filename=filename)
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


@bp.get("/avatars/<filename>")
def avatar(filename: str):
    return send_from_directory(upload_folder(), filename)
