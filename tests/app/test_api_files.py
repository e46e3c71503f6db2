"""The JSON API's files: POST /api/avatar (and GET of its URL) and POST /api/reports."""

import io

import pytest
from PIL import Image

from broken_app import create_app


def image_file(size=(300, 200), format="PNG") -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new("RGB", size, (29, 123, 216)).save(buffer, format=format)
    buffer.seek(0)
    return buffer


def upload(client, file, filename="me.png"):
    return client.post("/api/avatar", data={"file": (file, filename)}, content_type="multipart/form-data")


@pytest.mark.parametrize("format", ["PNG", "JPEG", "GIF"])
def test_avatar_is_resized_to_a_128_pixel_square(client, user_client, format):
    response = upload(user_client, image_file(format=format), f"me.{format.lower()}")

    assert response.status_code == 201
    url = response.json["url"]
    assert url.startswith("/avatars/")
    avatar = client.get(url)
    assert avatar.status_code == 200
    assert avatar.mimetype == "image/png"
    with Image.open(io.BytesIO(avatar.data)) as thumbnail:
        assert thumbnail.format == "PNG"
        assert thumbnail.size == (128, 128)


def test_avatar_url_is_stored_on_the_user(user_client):
    url = upload(user_client, image_file()).json["url"]

    assert user_client.get("/api/me").json["avatar_url"] == url


def test_avatar_is_written_to_the_local_disk_of_the_process(app, user_client, tmp_path, monkeypatch):
    """Lab 2's fragility: the file is in the server's working directory; elsewhere it is a 404."""
    monkeypatch.chdir(tmp_path)
    app.config["UPLOAD_FOLDER"] = "uploads"

    url = upload(user_client, image_file()).json["url"]

    assert (tmp_path / "uploads" / url.rsplit("/", 1)[1]).is_file()
    monkeypatch.chdir(tmp_path / "uploads")  # as if another server answered
    assert create_app(dict(app.config)).test_client().get(url).status_code == 404


def test_avatar_without_logging_in_is_401(client):
    assert upload(client, image_file()).status_code == 401


@pytest.mark.parametrize(
    "file",
    [
        io.BytesIO(b"this is not an image"),
        io.BytesIO(b""),
        io.BytesIO(image_file().getvalue()[:60]),  # a truncated PNG
    ],
)
def test_avatar_that_is_not_an_image_is_400(user_client, file):
    response = upload(user_client, file)

    assert response.status_code == 400
    assert response.json["error"].startswith("file must be an image")


def test_avatar_of_too_many_pixels_is_400(user_client):
    response = upload(user_client, image_file(size=(5000, 4000)))

    assert response.status_code == 400


def test_avatar_over_2_mb_is_413(user_client):
    response = upload(user_client, io.BytesIO(b"\0" * (2 * 1024 * 1024 + 1)))

    assert response.status_code == 413
    assert response.json["error"]


def test_avatar_without_the_file_field_is_400(user_client):
    response = user_client.post(
        "/api/avatar", data={"picture": (image_file(), "me.png")}, content_type="multipart/form-data"
    )

    assert response.status_code == 400
    assert response.json == {"error": "send the file in the form field 'file'"}


def test_avatar_sent_as_json_is_415(user_client):
    assert user_client.post("/api/avatar", json={"file": "me.png"}).status_code == 415


def test_unknown_avatar_is_404(client):
    assert client.get("/avatars/nobody.png").status_code == 404


def test_report_is_a_pdf_attachment(user_client):
    for body in ("First post", "Ünïcødé and an emoji 🐦 become question marks", "x" * 280):
        user_client.post("/api/posts", json={"body": body})

    response = user_client.post("/api/reports")

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == "attachment; filename=chirp-activity.pdf"
    assert response.data.startswith(b"%PDF-")
    assert response.data.rstrip().endswith(b"%%EOF")


def test_report_of_a_user_without_posts_is_a_pdf(user_client):
    response = user_client.post("/api/reports")

    assert response.status_code == 200
    assert response.data.startswith(b"%PDF-")


def test_report_without_logging_in_is_401(client):
    assert client.post("/api/reports").status_code == 401
