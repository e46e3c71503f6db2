"""The object store, from the host with boto3, as the toolkit and (after Lab 2) the app use it.

Natively the store is s3rver, which checks much less than S3 or MinIO. It knows one access key,
S3RVER, and refuses any other; but it does not verify SigV4 signatures (boto3's default), so a
wrong secret key is accepted, and a request with no credentials at all is served (it has no access
control). So the refusal tested here is the one it does enforce: an access key it does not know.
"""

from __future__ import annotations

import dataclasses
import io
import os
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError

from scalelab.stack.native.commands import app_environment
from scalelab.stack.settings import ObjectStore


def client(store: ObjectStore):
    return boto3.client(
        "s3",
        endpoint_url=store.endpoint_url,
        aws_access_key_id=store.access_key,
        aws_secret_access_key=store.secret_key,
        region_name=store.region,
    )


@pytest.fixture(scope="module")
def store(lab_settings, running_stack) -> ObjectStore:
    return lab_settings.objectstore()


@pytest.fixture
def key(store):
    """A fresh object key, deleted after the test."""
    name = f"test/{uuid.uuid4()}.png"
    yield name
    client(store).delete_object(Bucket=store.bucket, Key=name)


def avatar() -> bytes:
    return b"\x89PNG\r\n\x1a\n" + os.urandom(64 * 1024)


def test_put_head_get_and_list_an_object(store, key):
    s3, body = client(store), avatar()
    s3.put_object(Bucket=store.bucket, Key=key, Body=body, ContentType="image/png")
    head = s3.head_object(Bucket=store.bucket, Key=key)
    assert (head["ContentLength"], head["ContentType"]) == (len(body), "image/png")
    assert s3.get_object(Bucket=store.bucket, Key=key)["Body"].read() == body
    listed = s3.list_objects_v2(Bucket=store.bucket, Prefix=key)["Contents"]
    assert [(o["Key"], o["Size"]) for o in listed] == [(key, len(body))]


def test_a_streamed_upload_comes_back_byte_for_byte(store, key):
    """upload_fileobj, as for an uploaded file's stream: boto3 adds checksums s3rver predates."""
    s3, body = client(store), avatar()
    s3.upload_fileobj(io.BytesIO(body), store.bucket, key)
    downloaded = io.BytesIO()
    s3.download_fileobj(store.bucket, key, downloaded)
    assert downloaded.getvalue() == body


def test_an_unknown_access_key_is_refused(store):
    stranger = client(dataclasses.replace(store, access_key="not-a-lab-key"))
    with pytest.raises(ClientError) as refused:
        stranger.list_objects_v2(Bucket=store.bucket)
    assert refused.value.response["Error"]["Code"] == "InvalidAccessKeyId"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_what_the_app_instances_are_told_reaches_the_bucket(lab_settings, store):
    env = app_environment(lab_settings, "app1")
    told = ObjectStore(
        endpoint_url=env["CHIRP_S3_ENDPOINT_URL"],
        bucket=env["CHIRP_S3_BUCKET"],
        access_key=env["CHIRP_S3_ACCESS_KEY"],
        secret_key=env["CHIRP_S3_SECRET_KEY"],
        region=env["CHIRP_S3_REGION"],
    )
    assert told == store
    assert client(told).head_bucket(Bucket=told.bucket)["ResponseMetadata"]["HTTPStatusCode"] == 200
