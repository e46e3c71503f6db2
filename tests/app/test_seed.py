"""The demo data loader (broken_app.seed), on small sizes. Its speed is not a unit test."""

import csv

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from broken_app.seed import SEEDED_PASSWORD, seed, seed_command

USERS, POSTS = 40, 300


def snapshot(database_url: str) -> dict:
    """Every seeded row except the password hashes, whose salt is random."""
    engine = create_engine(database_url)
    with engine.connect() as connection:
        rows = {
            "users": connection.execute(text("SELECT id, name, email, created_at FROM users ORDER BY id")).all(),
            "follows": connection.execute(text("SELECT * FROM follows ORDER BY 1, 2")).all(),
            "posts": connection.execute(text("SELECT * FROM posts ORDER BY id")).all(),
            "hashes": connection.execute(text("SELECT count(DISTINCT password_hash) FROM users")).scalar(),
        }
    engine.dispose()
    return rows


@pytest.fixture
def seeded_database(empty_database) -> str:
    seed(empty_database, USERS, POSTS, 42)
    return empty_database


def test_the_same_seed_gives_the_same_data(seeded_database):
    first = snapshot(seeded_database)

    seed(seeded_database, USERS, POSTS, 42)

    assert snapshot(seeded_database) == first


def test_another_seed_gives_other_data(seeded_database):
    first = snapshot(seeded_database)

    seed(seeded_database, USERS, POSTS, 7)

    second = snapshot(seeded_database)
    assert second["posts"] != first["posts"]
    assert second["follows"] != first["follows"]


def test_seed_makes_the_asked_numbers_of_rows(seeded_database):
    data = snapshot(seeded_database)

    assert len(data["users"]) == USERS
    assert len(data["posts"]) == POSTS
    assert data["users"][0].email == "user1@chirp.test"
    assert data["hashes"] == 1  # hashed once for everybody
    follows_per_user = len(data["follows"]) / USERS
    assert 10 <= follows_per_user <= 30
    assert all(follower != followee for follower, followee in data["follows"])
    assert all(1 <= len(post.body) <= 280 for post in data["posts"])


def test_seeded_users_log_in_and_new_rows_get_fresh_ids(seeded_database, client):
    response = client.post("/api/login", json={"email": "user7@chirp.test", "password": SEEDED_PASSWORD})
    assert response.status_code == 200

    assert client.post("/api/posts", json={"body": "after the seed"}).json["id"] == POSTS + 1
    assert len(client.get("/api/timeline").json["posts"]) == 20
    # A signup logs the newcomer in, in place of user7.
    signup = client.post("/api/signup", json={"name": "New", "email": "new@example.com", "password": "long enough"})
    assert signup.json["id"] == USERS + 1


def test_seed_command_writes_the_credentials_and_a_summary(empty_database, tmp_path):
    credentials = tmp_path / "credentials.csv"

    result = CliRunner().invoke(
        seed_command,
        ["--database-url", empty_database, "--users", "25", "--posts", "50", "--seed", "3", "--credentials", str(credentials)],
    )

    assert result.exit_code == 0, result.output
    assert result.output.startswith("Seeded 25 users, ")
    assert " follows and 50 posts (seed 3) in " in result.output
    with credentials.open() as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 25
    assert rows[0] == {"email": "user1@chirp.test", "password": SEEDED_PASSWORD}


def test_seed_command_reads_the_database_url_from_the_environment(empty_database, monkeypatch):
    monkeypatch.setenv("CHIRP_DATABASE_URL", empty_database)

    result = CliRunner().invoke(seed_command, ["--users", "5", "--posts", "5"])

    assert result.exit_code == 0, result.output
    assert len(snapshot(empty_database)["users"]) == 5
