"""Property: no malformed input to the JSON API makes Chirp answer 5xx.

Hypothesis sends random JSON values, objects with the API's field names holding values of every
type, non-JSON bodies, random bytes and damaged images as uploads, random query strings, paths
and methods; logged in or not. Every answer must be below 500 and say which instance served it.
"""

import io
import urllib.parse

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

ENDPOINTS = [
    ("POST", "/api/signup"),
    ("POST", "/api/login"),
    ("POST", "/api/logout"),
    ("GET", "/api/me"),
    ("GET", "/api/feed"),
    ("GET", "/api/timeline"),
    ("POST", "/api/posts"),
    ("POST", "/api/avatar"),
    ("POST", "/api/reports"),
    ("PUT", "/api/users/1/follow"),
    ("DELETE", "/api/users/2/follow"),
    ("GET", "/healthz"),
]
FIELDS = ("name", "email", "password", "body", "limit", "file")
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
CONTENT_TYPES = (
    None,
    "application/json",
    "application/json; charset=utf-16",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "multipart/form-data; boundary=chirp",
    "image/png",
)

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
# Objects with the API's own field names, often holding strings that pass or nearly pass.
field_values = json_values | st.emails() | st.text(min_size=7, max_size=300)
api_objects = st.dictionaries(st.sampled_from(FIELDS), field_values, max_size=len(FIELDS))


def image_bytes(format: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "teal").save(buffer, format=format)
    return buffer.getvalue()


IMAGES = [image_bytes(format) for format in ("PNG", "JPEG", "GIF", "BMP", "WEBP")]


@st.composite
def damaged_images(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(IMAGES)))
    for _ in range(draw(st.integers(0, 8))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data[: draw(st.integers(0, len(data)))])


fuzz_settings = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def make_client(app, accounts):
    """Makes a fresh client, logged in (by its session) as a real user or not."""
    user_id = accounts.sign_up()["id"]
    accounts.sign_up()  # somebody to follow

    def make(logged_in: bool):
        client = app.test_client()
        if logged_in:
            with client.session_transaction() as session:
                session["user_id"] = user_id
        return client

    return make


def assert_handled(response) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)
    assert response.headers["X-Served-By"] == "chirp-under-test"


@fuzz_settings
@given(endpoint=st.sampled_from(ENDPOINTS), body=json_values | api_objects, logged_in=st.booleans())
def test_json_bodies(make_client, endpoint, body, logged_in):
    method, path = endpoint
    assert_handled(make_client(logged_in).open(path, method=method, json=body))


@fuzz_settings
@given(
    endpoint=st.sampled_from(ENDPOINTS),
    data=st.binary(max_size=400),
    content_type=st.sampled_from(CONTENT_TYPES) | st.text(st.characters(exclude_characters="\r\n"), max_size=40),
    logged_in=st.booleans(),
)
def test_raw_bodies(make_client, endpoint, data, content_type, logged_in):
    method, path = endpoint
    headers = {} if content_type is None else {"Content-Type": content_type}
    response = make_client(logged_in).open(path, method=method, data=data, headers=headers)
    assert_handled(response)


@fuzz_settings
@given(
    data=st.binary(max_size=2000) | damaged_images() | st.sampled_from(IMAGES),
    field=st.sampled_from(["file", "avatar"]) | st.text(max_size=10),
    filename=st.text(max_size=30),
)
def test_uploads(make_client, data, field, filename):
    response = make_client(logged_in=True).post(
        "/api/avatar", data={field: (io.BytesIO(data), filename)}, content_type="multipart/form-data"
    )
    assert_handled(response)


@fuzz_settings
@given(
    path=st.sampled_from(["/api/feed", "/api/timeline", "/api/me", "/healthz"]),
    query=st.binary(max_size=80).map(lambda raw: raw.decode("latin-1"))
    | st.dictionaries(st.sampled_from(["limit", "limit[]", "offset"]) | st.text(max_size=8), st.text(max_size=20)).map(
        urllib.parse.urlencode
    ),
    logged_in=st.booleans(),
)
def test_query_strings(make_client, path, query, logged_in):
    response = make_client(logged_in).get(path, environ_overrides={"QUERY_STRING": query})
    assert_handled(response)


@fuzz_settings
@given(
    method=st.sampled_from(METHODS),
    path=st.sampled_from(["/api/", "/api/users/", "/avatars/", "/"]).flatmap(
        lambda prefix: st.text(max_size=30).map(lambda rest: prefix + urllib.parse.quote(rest))
    )
    | st.integers().map(lambda user_id: f"/api/users/{user_id}/follow"),
    logged_in=st.booleans(),
)
def test_paths_and_methods(make_client, method, path, logged_in):
    assert_handled(make_client(logged_in).open(path, method=method))


@pytest.mark.parametrize(
    ("path", "data", "content_type", "status"),
    [
        ("/api/posts", "[" * 100_000, "application/json", 400),  # deeper than the JSON parser goes
        ("/api/posts", '{"body": "\\ud800"}', "application/json", 400),  # an unpaired surrogate
        ("/api/posts", '{"body": "nul \\u0000"}', "application/json", 400),
        ("/api/posts", b'{"body": "\xff"}', "application/json", 400),  # not UTF-8
        ("/api/posts", '{"body": "' + "x" * 3_000_000 + '"}', "application/json", 413),
        ("/api/avatar", b"\0" * 100, "multipart/form-data", 400),  # no boundary
    ],
)
def test_known_nasty_inputs(make_client, path, data, content_type, status):
    response = make_client(logged_in=True).post(path, data=data, content_type=content_type)

    assert response.status_code == status
    assert response.json["error"]
