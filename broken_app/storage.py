"""Uploaded files (avatars): kept on the local disk of the server that received them.

Fragile on purpose (Lab 2): a file is written to UPLOAD_FOLDER on the disk of the instance that
handled the upload, and served from there. Behind a load balancer, the other instance answers
404 for it, and a new server, or a lost disk, loses every avatar. Lab 2 moves the files to
object storage that every instance shares.
"""

import os

from flask import Blueprint, current_app, send_from_directory

bp = Blueprint("storage", __name__)
AVATARS = "/avatars/"


def folder() -> str:
    """UPLOAD_FOLDER, relative to the server process's working directory."""
    return os.path.abspath(current_app.config["UPLOAD_FOLDER"])


def save(name: str, data: bytes, content_type: str) -> None:
    """Store a file under `name`. The content type is guessed from the name when served."""
    path = os.path.join(folder(), name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as file:
        file.write(data)


def load(name: str) -> bytes:
    with open(os.path.join(folder(), name), "rb") as file:
        return file.read()


def url(name: str) -> str:
    """Where a stored avatar is served."""
    return AVATARS + name


@bp.get(AVATARS + "<filename>")
def avatar(filename: str):
    return send_from_directory(folder(), filename)
