"""The JSON API's accounts: POST /api/signup, /api/login, /api/logout and GET /api/me."""

import pytest
from sqlalchemy import create_engine, text
from werkzeug.security import check_password_hash

from broken_app import create_app

PASSWORD = "correct horse battery"
ADA = {"name": "Ada Lovelace", "email": "ada@example.com", "password": PASSWORD}


def test_signup_creates_the_account_and_sends_the_welcome_email(client, mailbox):
    response = client.post("/api/signup", json=ADA)

    assert response.status_code == 201
    user_id = response.json["id"]
    assert isinstance(user_id, int)
    [welcome] = mailbox.messages
    assert welcome["To"] == "ada@example.com"
    assert welcome["From"] == "welcome@chirp.test"
    assert welcome["Subject"] == "Welcome to Chirp, Ada Lovelace!"
    assert welcome["Message-ID"].startswith("<") and welcome["Message-ID"].endswith("@chirp.test>")
    assert welcome["X-Chirp-Idempotency-Key"] == f"welcome-{user_id}"
    assert "Welcome to Chirp" in welcome.get_payload()


def test_signup_logs_the_newcomer_in(client, mailbox):
    """One password hash for a newcomer: the signup's session answers /api/me, no login needed."""
    assert client.get("/api/me").status_code == 401
    user_id = client.post("/api/signup", json=ADA).json["id"]
    me = client.get("/api/me")
    assert me.status_code == 200 and me.json["id"] == user_id


def test_signup_stores_a_password_hash_not_the_password(client, empty_database):
    client.post("/api/signup", json=ADA)

    engine = create_engine(empty_database)
    with engine.connect() as connection:
        stored = connection.scalar(text("SELECT password_hash FROM users"))
    engine.dispose()
    assert PASSWORD not in stored
    assert check_password_hash(stored, PASSWORD)


def test_signup_with_a_taken_email_is_409_whatever_its_case(client, mailbox):
    assert client.post("/api/signup", json=ADA).status_code == 201

    response = client.post("/api/signup", json={**ADA, "email": "ADA@Example.com"})

    assert response.status_code == 409
    assert response.json == {"error": "an account with this email already exists"}
    assert len(mailbox.messages) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"name": None},
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 81},
        {"name": 7},
        {"name": "Ada\nBcc: everyone@example.com"},
        {"email": "not-an-email"},
        {"email": "ada@localhost"},
        {"email": "ada@exämple.com"},
        {"email": "a" * 243 + "@example.com"},
        {"email": ["ada@example.com"]},
        {"password": "short"},
        {"password": "p" * 129},
        {"password": 12345678},
        {"password": "pass\ud800word"},
    ],
)
def test_signup_refuses_bad_fields_with_400(client, mailbox, change):
    response = client.post("/api/signup", json={**ADA, **change})

    assert response.status_code == 400
    assert response.json["error"]
    assert mailbox.messages == []


def test_signup_accepts_the_longest_fields(client):
    longest = {"name": "n" * 80, "email": "a" * 242 + "@example.com", "password": "p" * 128}

    assert client.post("/api/signup", json=longest).status_code == 201


@pytest.mark.parametrize("body", ["[]", '"ada"', "null", "{", "name=ada"])
def test_signup_refuses_a_body_that_is_not_a_json_object_with_400(client, body):
    response = client.post("/api/signup", data=body, content_type="application/json")

    assert response.status_code == 400
    assert response.json == {"error": "the body must be a JSON object"}


def test_signup_refuses_a_form_body_with_415(client):
    response = client.post("/api/signup", data=ADA)

    assert response.status_code == 415


def test_a_signup_whose_email_fails_leaves_no_account(app, capsys):
    app.config["SMTP_PORT"] = 1  # nobody listens there
    client = app.test_client()

    response = client.post("/api/signup", json=ADA)

    assert response.status_code == 500
    assert response.json == {"error": "internal server error"}
    assert "ConnectionRefusedError" in capsys.readouterr().out
    login = client.post("/api/login", json={"email": ADA["email"], "password": PASSWORD})
    assert login.status_code == 401


def test_login_sets_an_httponly_samesite_session_cookie(client, user):
    response = client.post("/api/login", json={"email": user["email"], "password": user["password"]})

    assert response.status_code == 200
    assert response.json == {"id": user["id"], "name": "Ada Lovelace", "email": user["email"], "avatar_url": None}
    [cookie] = response.headers.getlist("Set-Cookie")
    assert cookie.startswith("chirp_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_login_ignores_the_case_of_the_email(client, user):
    response = client.post("/api/login", json={"email": user["email"].upper(), "password": user["password"]})

    assert response.status_code == 200


@pytest.mark.parametrize(
    "credentials",
    [
        {"email": "user1@example.com", "password": "wrong password"},
        {"email": "nobody@example.com", "password": PASSWORD},
    ],
)
def test_login_with_wrong_credentials_is_401_without_a_cookie(client, user, credentials):
    response = client.post("/api/login", json=credentials)

    assert response.status_code == 401
    assert response.json == {"error": "wrong email or password"}
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize("credentials", [{}, {"email": "user1@example.com"}, {"email": 1, "password": PASSWORD}])
def test_login_with_malformed_credentials_is_400(client, user, credentials):
    assert client.post("/api/login", json=credentials).status_code == 400


def test_me_answers_who_is_logged_in(user_client, user):
    response = user_client.get("/api/me")

    assert response.status_code == 200
    assert response.json == {"id": user["id"], "name": "Ada Lovelace", "email": user["email"], "avatar_url": None}


def test_me_without_logging_in_is_401(client):
    response = client.get("/api/me")

    assert response.status_code == 401
    assert response.json == {"error": "log in first"}


def test_logout_is_204_and_ends_the_session_on_the_server(app, user_client):
    session_cookie = user_client.get_cookie("chirp_session").value

    response = user_client.post("/api/logout")

    assert response.status_code == 204
    assert user_client.get("/api/me").status_code == 401
    replay = app.test_client()
    replay.set_cookie("chirp_session", session_cookie)
    assert replay.get("/api/me").status_code == 401


def test_logout_without_a_session_is_204(client):
    assert client.post("/api/logout").status_code == 204


def test_login_issues_a_new_session_id(client, user):
    client.get("/login")  # an anonymous session, for the form's CSRF token
    anonymous_cookie = client.get_cookie("chirp_session").value

    client.post("/api/login", json={"email": user["email"], "password": user["password"]})

    assert client.get_cookie("chirp_session").value != anonymous_cookie


def test_a_forged_session_cookie_is_ignored(client, user_client):
    forged = user_client.get_cookie("chirp_session").value[:-2] + "xx"
    client.set_cookie("chirp_session", forged)

    assert client.get("/api/me").status_code == 401


def test_sessions_live_in_the_memory_of_one_process(app, user_client):
    """Lab 2's fragility: another process (another worker, another instance) has other sessions."""
    other_instance = create_app(dict(app.config)).test_client()
    other_instance.set_cookie("chirp_session", user_client.get_cookie("chirp_session").value)

    assert user_client.get("/api/me").status_code == 200
    assert other_instance.get("/api/me").status_code == 401
