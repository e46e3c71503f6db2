"""Demo data: users, follows and posts, the same for the same seed number.

    python -m broken_app.seed --database-url URL --users 10000 --posts 200000 --seed 42 \\
        --credentials seed-credentials.csv

Drops and recreates the tables (schema.sql), then loads the rows with COPY. Every seeded user
has the same password, hashed once: scrypt takes about 0.15 s per hash, so hashing 10,000
passwords would take about 25 minutes. The password hash is the only column that differs
between two runs with the same seed (its salt is random).
"""

import csv
import io
import random
import time
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone

import click
from sqlalchemy import create_engine, make_url
from werkzeug.security import generate_password_hash

from .schema import read_schema

SEEDED_PASSWORD = "chirp-seeded-password"
FOLLOWS_PER_USER = (10, 30)  # about 20 on average
# Accounts are opened in January 2024; their posts fall in the rest of 2024.
ACCOUNTS_OPENED = datetime(2024, 1, 1, tzinfo=timezone.utc)
POSTS_START = datetime(2024, 2, 1, tzinfo=timezone.utc)
POSTS_END = datetime(2025, 1, 1, tzinfo=timezone.utc)

FIRST_NAMES = (
    "Ada Alan Amara Ana Arjun Ben Carla Chen Dara Diego Elif Emma Farah Felix Grace Hana Hugo "
    "Ines Ivan Jamal Jin Kai Kofi Lara Leo Lina Luca Maya Mei Mira Nadia Noah Omar Priya Rosa "
    "Sami Sara Tariq Tom Uma Vera Wen Yara Yusuf Zoe"
).split()
LAST_NAMES = (
    "Adams Bauer Costa Diaz Evans Fischer Garcia Haddad Ito Jensen Kim Lopez Mehta Novak Okafor "
    "Park Quinn Rossi Silva Tanaka Ueda Varga Weber Xu Yilmaz Zhang"
).split()
WORDS = (
    "the a my our this that today tomorrow finally just really new old big small coffee tea "
    "code bug deploy server database cache queue load test release lunch train bike rain sun "
    "weekend meeting idea book music movie game cat dog garden city park friends team launch "
    "is was will be feels looks works broke shipped fixed learned loved tried wrote read made "
    "fast slow great strange quiet busy happy tired ready late early again still maybe never "
    "always with without about after before during because so and but or not very quite"
).split()


def seed(database_url: str, users: int, posts: int, seed_number: int) -> int:
    """Load the demo data; return how many follows were made."""
    rng = random.Random(seed_number)
    user_rows = list(_user_rows(rng, users, generate_password_hash(SEEDED_PASSWORD)))
    follow_rows = list(_follow_rows(rng, users))
    post_rows = _post_rows(rng, users, posts)
    # psycopg2 for its copy_expert, whatever driver the URL names.
    engine = create_engine(make_url(database_url).set(drivername="postgresql+psycopg2"))
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute(read_schema())
        _copy(cursor, "users (id, name, email, password_hash, created_at)", user_rows)
        _copy(cursor, "follows (follower_id, followee_id)", follow_rows)
        _copy(cursor, "posts (id, author_id, body, created_at)", post_rows)
        # COPY gave explicit ids: move the sequences past them for the rows the app inserts.
        cursor.execute("SELECT setval(pg_get_serial_sequence('users', 'id'), max(id)) FROM users")
        cursor.execute("SELECT setval(pg_get_serial_sequence('posts', 'id'), max(id)) FROM posts")
        cursor.execute("ANALYZE")
        connection.commit()
    finally:
        connection.close()
        engine.dispose()
    return len(follow_rows)


def seeded_email(user_id: int) -> str:
    return f"user{user_id}@chirp.test"


def write_credentials(path: str, users: int) -> None:
    """The email and password of every seeded user, for load scripts, as CSV."""
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(("email", "password"))
        for user_id in range(1, users + 1):
            writer.writerow((seeded_email(user_id), SEEDED_PASSWORD))


def _user_rows(rng: random.Random, users: int, password_hash: str) -> Iterable[tuple]:
    for user_id in range(1, users + 1):
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        created_at = ACCOUNTS_OPENED + timedelta(seconds=rng.randrange(31 * 86400))
        yield user_id, name, seeded_email(user_id), password_hash, created_at.isoformat()


def _follow_rows(rng: random.Random, users: int) -> Iterable[tuple]:
    for follower_id in range(1, users + 1):
        count = min(rng.randint(*FOLLOWS_PER_USER), users - 1)
        drawn = rng.sample(range(1, users + 1), count + 1)
        for followee_id in [user_id for user_id in drawn if user_id != follower_id][:count]:
            yield follower_id, followee_id


def _post_rows(rng: random.Random, users: int, posts: int) -> Iterable[tuple]:
    span_seconds = int((POSTS_END - POSTS_START).total_seconds())
    for post_id in range(1, posts + 1):
        words = rng.choices(WORDS, k=rng.randint(3, 30))
        body = " ".join(words).capitalize() + "."
        created_at = POSTS_START + timedelta(seconds=rng.randrange(span_seconds))
        yield post_id, rng.randint(1, users), body, created_at.isoformat()


def _copy(cursor, table: str, rows: Iterable[tuple]) -> None:
    """COPY the rows into the table from an in-memory CSV buffer."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    buffer.seek(0)
    cursor.copy_expert(f"COPY {table} FROM STDIN WITH (FORMAT csv)", buffer)


@click.command()
@click.option("--database-url", envvar="CHIRP_DATABASE_URL", required=True, help="Defaults to $CHIRP_DATABASE_URL.")
@click.option("--users", default=10_000, show_default=True, type=click.IntRange(min=1))
@click.option("--posts", default=200_000, show_default=True, type=click.IntRange(min=0))
@click.option("--seed", "seed_number", default=42, show_default=True, help="The same number, the same data.")
@click.option(
    "--credentials", type=click.Path(dir_okay=False), help="Write every seeded user's email,password to this CSV."
)
def seed_command(database_url: str, users: int, posts: int, seed_number: int, credentials: str | None) -> None:
    """Drop all of Chirp's data and load deterministic demo data."""
    started = time.perf_counter()
    follows = seed(database_url, users, posts, seed_number)
    if credentials:
        write_credentials(credentials, users)
    seconds = time.perf_counter() - started
    click.echo(
        f"Seeded {users} users, {follows} follows and {posts} posts (seed {seed_number}) in {seconds:.1f} s"
    )


if __name__ == "__main__":
    seed_command()
