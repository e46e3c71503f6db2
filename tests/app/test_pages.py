"""The HTML pages and their forms."""

import io
import re

import pytest
from PIL import Image


def csrf_token(client, path: str) -> str:
    """Open the page and return the CSRF token of its forms."""
    page = client.get(path)
    assert page.status_code == 200
    return re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)


@pytest.fixture
def page_client(client, user):
    """A client logged in as `user` through the login form."""
    client.post(
        "/login",
        data={"email": user["email"], "password": user["password"], "csrf_token": csrf_token(client, "/login")},
    )
    return client


def test_home_sends_visitors_to_the_global_feed(client):
    response = client.get("/")

    assert response.status_code == 302
    assert response.location == "/feed"


def test_global_feed_shows_the_latest_posts(client, user_client):
    user_client.post("/api/posts", json={"body": "Hello <b>world</b>"})

    response = client.get("/feed")

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "Hello &lt;b&gt;world&lt;/b&gt;" in html
    assert "Ada Lovelace" in html
    assert "/static/style.css" in html


def test_signup_post_and_timeline_flow(client, mailbox):
    response = client.post(
        "/signup",
        data={
            "name": "Grace Hopper",
            "email": "grace@example.com",
            "password": "a long password",
            "csrf_token": csrf_token(client, "/signup"),
        },
    )
    assert response.status_code == 302
    assert response.location == "/"
    assert [message["To"] for message in mailbox.messages] == ["grace@example.com"]

    response = client.post("/posts", data={"body": "My first chirp", "csrf_token": csrf_token(client, "/")})
    assert response.status_code == 302

    home = client.get("/").get_data(as_text=True)
    assert "My first chirp" in home
    assert "Grace Hopper" in home


def test_signup_form_shows_what_is_wrong(client):
    response = client.post(
        "/signup",
        data={"name": "Grace", "email": "grace", "password": "a long password", "csrf_token": csrf_token(client, "/signup")},
    )

    assert response.status_code == 400
    assert "email must be an email address" in response.get_data(as_text=True)


def test_signup_form_with_a_taken_email_is_409(client, user):
    response = client.post(
        "/signup",
        data={"name": "Ada", "email": user["email"], "password": "a long password", "csrf_token": csrf_token(client, "/signup")},
    )

    assert response.status_code == 409
    assert "already exists" in response.get_data(as_text=True)


def test_login_form_with_a_wrong_password_is_401(client, user):
    response = client.post(
        "/login", data={"email": user["email"], "password": "wrong password", "csrf_token": csrf_token(client, "/login")}
    )

    assert response.status_code == 401
    assert "wrong email or password" in response.get_data(as_text=True)


def test_login_and_logout_forms(page_client, user):
    home = page_client.get("/")
    assert home.status_code == 200
    assert "What's happening?" in home.get_data(as_text=True)
    assert "Log out" in home.get_data(as_text=True)

    response = page_client.post("/logout", data={"csrf_token": csrf_token(page_client, "/")})

    assert response.location == "/feed"
    assert page_client.get("/").status_code == 302


def test_a_form_without_the_csrf_token_is_400(page_client):
    response = page_client.post("/posts", data={"body": "forged"})

    assert response.status_code == 400
    assert response.json == {"error": "the form has expired: reload the page and try again"}


def test_a_page_that_needs_a_login_sends_visitors_to_the_login_form(client):
    response = client.post("/posts", data={"body": "hello", "csrf_token": csrf_token(client, "/login")})

    assert response.status_code == 302
    assert response.location == "/login"


def test_an_empty_post_is_refused_with_a_message(page_client):
    page_client.post("/posts", data={"body": "   ", "csrf_token": csrf_token(page_client, "/")})

    assert "body must be 1 to 280 characters long" in page_client.get("/").get_data(as_text=True)


def test_profile_follow_and_unfollow(accounts, page_client):
    grace = accounts.sign_up("Grace Hopper")
    accounts.logged_in_client(grace).post("/api/posts", json={"body": "Nanoseconds!"})
    profile = f"/users/{grace['id']}"

    page = page_client.get(profile).get_data(as_text=True)
    assert "Grace Hopper" in page
    assert "Nanoseconds!" in page
    assert "1 posts · 0 followers · following 0" in page

    page_client.post(f"{profile}/follow", data={"csrf_token": csrf_token(page_client, profile)})
    assert "1 followers" in page_client.get(profile).get_data(as_text=True)
    assert "Nanoseconds!" in page_client.get("/").get_data(as_text=True)

    page_client.post(f"{profile}/unfollow", data={"csrf_token": csrf_token(page_client, profile)})
    assert "0 followers" in page_client.get(profile).get_data(as_text=True)


def test_unknown_profile_is_404(client):
    assert client.get("/users/999").status_code == 404


def test_avatar_form_and_report_form_on_your_own_profile(page_client, user):
    profile = f"/users/{user['id']}"
    image = io.BytesIO()
    Image.new("RGB", (64, 256), "orange").save(image, format="PNG")
    image.seek(0)

    response = page_client.post(
        "/avatar",
        data={"file": (image, "me.png"), "csrf_token": csrf_token(page_client, profile)},
        content_type="multipart/form-data",
    )
    assert response.location == profile
    avatar_url = re.search(r'<img class="avatar" src="([^"]+)"', page_client.get(profile).get_data(as_text=True)).group(1)
    assert page_client.get(avatar_url).mimetype == "image/png"

    report = page_client.post("/reports", data={"csrf_token": csrf_token(page_client, profile)})
    assert report.mimetype == "application/pdf"
    assert report.data.startswith(b"%PDF-")


def test_a_bad_avatar_is_refused_with_a_message(page_client, user):
    profile = f"/users/{user['id']}"
    page_client.post(
        "/avatar",
        data={"file": (io.BytesIO(b"not an image"), "me.png"), "csrf_token": csrf_token(page_client, profile)},
        content_type="multipart/form-data",
    )

    assert "file must be an image" in page_client.get(profile).get_data(as_text=True)
