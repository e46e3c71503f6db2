"""The lab's S3-compatible object storage, seen from outside as an operator sees it (boto3).

The app stores avatars there once Lab 2 is solved; checks, tests and notebooks use this module to
look at what it stored.
"""

from __future__ import annotations

import boto3
from botocore.exceptions import ClientError


def client(settings):
    store = settings.objectstore()
    return boto3.session.Session().client(
        "s3",
        endpoint_url=store.endpoint_url,
        aws_access_key_id=store.access_key,
        aws_secret_access_key=store.secret_key,
        region_name=store.region,
    )


def exists(settings, key: str, bucket: str | None = None) -> bool:
    try:
        client(settings).head_object(Bucket=bucket or settings.objectstore().bucket, Key=key)
    except ClientError as error:
        if error.response["Error"]["Code"] in ("404", "NoSuchKey"):
            return False
        raise
    return True


def keys(settings, bucket: str | None = None) -> list[str]:
    """Every key in the bucket (the stack's avatar bucket unless told otherwise)."""
    pages = client(settings).get_paginator("list_objects_v2").paginate(Bucket=bucket or settings.objectstore().bucket)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def delete_bucket(settings, bucket: str) -> None:
    """Delete a bucket and everything in it (S3 refuses to delete a bucket that is not empty)."""
    s3 = client(settings)
    for key in keys(settings, bucket):
        s3.delete_object(Bucket=bucket, Key=key)
    s3.delete_bucket(Bucket=bucket)
