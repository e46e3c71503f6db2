"""Uploaded files (avatars): fixed in Lab 2 (stateless by default).

The files live in S3-compatible object storage (s3rver in the lab, S3 or MinIO in production), which every
instance shares, instead of on the disk of the instance that received them. Any instance serves
any avatar, and an instance can be replaced without losing one. Where the storage is, and with
which keys, comes from the environment (config.py).

Avatars keep their URL, /avatars/<name>: the instance fetches the object and answers with it.
Each name is new for each upload and never overwritten, so browsers and proxies may cache it for
a year.
"""

import threading

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from flask import Blueprint, Response, abort, current_app

bp = Blueprint("storage", __name__)
AVATARS = "/avatars/"

_client_lock = threading.Lock()
# boto3 retries a failed call a few times with backoff ("standard" mode), and gives up after
# seconds, not minutes, so a storage outage shows as errors instead of hung threads.
CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=10)


def client():
    """This process's S3 client, created on first use, after gunicorn forks."""
    extensions = current_app.extensions
    with _client_lock:
        if "chirp_s3" not in extensions:
            config = current_app.config
            extensions["chirp_s3"] = boto3.session.Session().client(
                "s3",
                endpoint_url=config["S3_ENDPOINT_URL"],
                aws_access_key_id=config["S3_ACCESS_KEY"],
                aws_secret_access_key=config["S3_SECRET_KEY"],
                region_name=config["S3_REGION"],
                config=CLIENT_CONFIG,
            )
    return extensions["chirp_s3"]


def save(name: str, data: bytes, content_type: str) -> None:
    """Store a file under `name`."""
    client().put_object(Bucket=current_app.config["S3_BUCKET"], Key=name, Body=data, ContentType=content_type)


def load(name: str) -> bytes:
    return client().get_object(Bucket=current_app.config["S3_BUCKET"], Key=name)["Body"].read()


def url(name: str) -> str:
    """Where a stored avatar is served."""
    return AVATARS + name


@bp.get(AVATARS + "<filename>")
def avatar(filename: str):
    try:
        stored = client().get_object(Bucket=current_app.config["S3_BUCKET"], Key=filename)
    except ClientError as error:
        if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
            abort(404)
        raise
    return Response(
        stored["Body"].read(),
        content_type=stored["ContentType"],
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )
