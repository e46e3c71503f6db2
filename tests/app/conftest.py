"""Fixtures of Chirp's unit tests: a real PostgreSQL database and a real SMTP server.

The database server comes from $CHIRP_TEST_DATABASE_URL (a superuser URL), or else from the
lab stack's `lab_postgres_admin_url` fixture. The tests run in a throwaway database created
for the session and emptied before each test.
"""

import email
import os
import secrets

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import URL, create_engine, make_url

from broken_app import create_app
from broken_app.db import get_engine
from broken_app.schema import read_schema

INSTANCE_NAME = "chirp-under-test"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
def database_admin_url(request) -> URL:
    url = os.environ.get("CHIRP_TEST_DATABASE_URL") or request.getfixturevalue("lab_postgres_admin_url")
    # Chirp talks to PostgreSQL through psycopg2 (SQLAlchemy 2.1's default would be psycopg 3).
    return make_url(url).set(drivername="postgresql+psycopg2")


@pytest.fixture(scope="session")
def database_url(database_admin_url):
    """A new database with Chirp's tables, dropped after the session."""
    name = f"chirp_test_{secrets.token_hex(4)}"
    # pre-ping: the stack tests restart PostgreSQL mid-session, which closes pooled connections.
    admin = create_engine(database_admin_url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = database_admin_url.set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql(read_schema())
    engine.dispose()
    yield url
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture
def empty_database(database_url) -> str:
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("TRUNCATE users, follows, posts RESTART IDENTITY")
    engine.dispose()
    return database_url


class Mailbox:
    """An aiosmtpd handler that keeps the messages it receives."""

    def __init__(self):
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture(scope="session")
def smtp_server(free_port):
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller
    controller.stop()


@pytest.fixture
def mailbox(smtp_server) -> Mailbox:
    smtp_server.handler.messages.clear()
    return smtp_server.handler


@pytest.fixture
def app(empty_database, smtp_server, mailbox, tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_NAME": INSTANCE_NAME,
            "DATABASE_URL": empty_database,
            "SMTP_HOST": smtp_server.hostname,
            "SMTP_PORT": smtp_server.port,
            "UPLOAD_FOLDER": str(tmp_path / "uploads"),
        }
    )
    yield app
    with app.app_context():
        get_engine().dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class Accounts:
    """Makes users through the JSON API, and clients logged in as them."""

    def __init__(self, app):
        self.app = app
        self.count = 0

    def sign_up(self, name: str | None = None) -> dict:
        self.count += 1
        user = {
            "name": name or f"User {self.count}",
            "email": f"user{self.count}@example.com",
            "password": PASSWORD,
        }
        response = self.app.test_client().post("/api/signup", json=user)
        assert response.status_code == 201, response.json
        return {**user, "id": response.json["id"]}

    def logged_in_client(self, user: dict):
        client = self.app.test_client()
        response = client.post("/api/login", json={"email": user["email"], "password": user["password"]})
        assert response.status_code == 200, response.json
        return client


@pytest.fixture
def accounts(app) -> Accounts:
    return Accounts(app)


@pytest.fixture
def user(accounts) -> dict:
    return accounts.sign_up("Ada Lovelace")


@pytest.fixture
def user_client(accounts, user):
    """A client logged in as `user` through the JSON API."""
    return accounts.logged_in_client(user)
