"""The application factory, its settings, /healthz, X-Served-By, errors and the log."""

import pytest
from sqlalchemy import create_engine, inspect

from broken_app import create_app

from_environment = {
    "CHIRP_INSTANCE": "app2",
    "CHIRP_DATABASE_URL": "postgresql+psycopg2://chirp:chirp@db.internal:6543/chirp",
    "CHIRP_SMTP_HOST": "smtp.internal",
    "CHIRP_SMTP_PORT": "2525",
    "CHIRP_MAIL_FROM": "hello@chirp.test",
}


def test_settings_come_from_the_environment(monkeypatch):
    for name, value in from_environment.items():
        monkeypatch.setenv(name, value)

    config = create_app().config

    assert config["INSTANCE_NAME"] == "app2"
    assert config["DATABASE_URL"] == "postgresql+psycopg2://chirp:chirp@db.internal:6543/chirp"
    assert (config["SMTP_HOST"], config["SMTP_PORT"]) == ("smtp.internal", 2525)
    assert config["MAIL_FROM"] == "hello@chirp.test"


def test_settings_have_defaults_for_the_lab_stack(monkeypatch):
    for name in from_environment:
        monkeypatch.delenv(name, raising=False)

    config = create_app().config

    assert config["INSTANCE_NAME"] == "chirp"
    assert config["DATABASE_URL"] == "postgresql+psycopg2://chirp:chirp@127.0.0.1:15432/chirp"
    assert (config["SMTP_HOST"], config["SMTP_PORT"]) == ("127.0.0.1", 11025)
    assert config["MAIL_FROM"] == "welcome@chirp.test"
    assert config["UPLOAD_FOLDER"] == "uploads"


def test_test_config_overrides_the_settings():
    assert not create_app().testing
    assert create_app({"TESTING": True}).testing


def test_healthz_asks_the_database(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json == {"status": "ok", "instance": "chirp-under-test"}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/healthz", 200),
        ("GET", "/api/feed", 200),
        ("GET", "/api/me", 401),
        ("POST", "/api/signup", 415),
        ("DELETE", "/api/feed", 405),
        ("GET", "/no/such/page", 404),
        ("GET", "/feed", 200),
        ("GET", "/", 302),
        ("GET", "/static/style.css", 200),
        ("GET", "/avatars/nobody.png", 404),
    ],
)
def test_every_response_says_which_instance_served_it(client, method, path, status):
    response = client.open(path, method=method)

    assert response.status_code == status
    assert response.headers["X-Served-By"] == "chirp-under-test"


def test_errors_are_json(client):
    response = client.delete("/api/feed")

    assert response.status_code == 405
    assert response.mimetype == "application/json"
    assert response.json["error"]
    assert "GET" in response.headers["Allow"]


def test_each_request_is_printed_with_status_and_duration(client, capsys):
    client.get("/api/feed?limit=5")

    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert " GET /api/feed?limit=5 200 " in line
    assert line.endswith("ms")


def test_an_unexpected_error_is_printed_and_answers_500(app, capsys):
    app.config["DATABASE_URL"] = "postgresql+psycopg2://chirp@127.0.0.1:1/chirp"  # nobody listens

    response = app.test_client().get("/api/feed")

    assert response.status_code == 500
    assert response.json == {"error": "internal server error"}
    assert response.headers["X-Served-By"] == "chirp-under-test"
    out = capsys.readouterr().out
    assert "ERROR GET /api/feed sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) connection to server" in out
    assert "Traceback (most recent call last):" in out
    assert "GET /api/feed 500" in out


def test_init_db_command_recreates_the_tables(runner, user, empty_database):
    result = runner.invoke(args=["init-db"])

    assert result.exit_code == 0
    assert "Initialized the database." in result.output
    engine = create_engine(empty_database)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM users").scalar() == 0
        assert {"users", "follows", "posts"} <= set(inspect(connection).get_table_names())
    engine.dispose()
