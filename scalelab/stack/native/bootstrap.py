"""First start of the lab's PostgreSQL: Chirp's role and database, then the seed data."""

from __future__ import annotations

import subprocess
import sys
import time

import psycopg2

from scalelab.errors import LabError
from scalelab.paths import INFRA, SEED_CREDENTIALS
from scalelab.stack.native import binaries
from scalelab.stack.settings import Settings


def _one(settings: Settings, database: str, sql: str):
    conn = psycopg2.connect(settings.postgres_url(database), connect_timeout=5)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchone()
    finally:
        conn.close()


def ensure_database(settings: Settings) -> bool:
    """Create the chirp role and database once (infra/postgres/init.sql, as under Docker). True if created."""
    if _one(settings, "postgres", "SELECT 1 FROM pg_database WHERE datname = 'chirp'"):
        return False
    result = subprocess.run(
        [
            binaries.require("psql"),
            settings.postgres_url("postgres"),
            "--quiet", "-v", "ON_ERROR_STOP=1",
            "-f", str(INFRA / "postgres" / "init.sql"),
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise LabError(f"creating the chirp database failed: {result.stderr.strip().splitlines()[-1]}")
    return True


def is_seeded(settings: Settings) -> bool:
    has_users = _one(settings, "chirp", "SELECT to_regclass('public.users') IS NOT NULL")[0]
    return bool(has_users) and bool(_one(settings, "chirp", "SELECT EXISTS (SELECT 1 FROM users)")[0]) and SEED_CREDENTIALS.exists()


def seed(settings: Settings) -> None:
    """Load the seed data (deterministic from SCALELAB_SEED) unless it is there already."""
    if is_seeded(settings):
        return
    SEED_CREDENTIALS.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    print(
        f"  seeding Chirp: {settings['SEED_USERS']} users, {settings['SEED_POSTS']} posts (seed {settings['SEED']})…",
        flush=True,
    )
    result = subprocess.run(
        [
            sys.executable, "-m", "broken_app.seed",
            "--database-url", settings.postgres_url(user="chirp", sqlalchemy=True),
            "--users", settings["SEED_USERS"],
            "--posts", settings["SEED_POSTS"],
            "--seed", settings["SEED"],
            "--credentials", str(SEED_CREDENTIALS),
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-5:])
        raise LabError(f"seeding Chirp failed (rerun with `make up`):\n{tail}")
    print(f"  seeded in {time.monotonic() - started:.1f} s", flush=True)
