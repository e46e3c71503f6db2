"""Chirp's tables (schema.sql) and the `flask init-db` command. Not fragile: no lab replaces it."""

from importlib import resources

import click
from flask.cli import with_appcontext

from .db import get_engine


def read_schema() -> str:
    return resources.files(__package__).joinpath("schema.sql").read_text()


def init_db() -> None:
    """Drop and create Chirp's tables."""
    with get_engine().begin() as connection:
        connection.exec_driver_sql(read_schema())


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Drop and create Chirp's tables (all data is lost)."""
    init_db()
    click.echo("Initialized the database.")


def init_app(app) -> None:
    app.cli.add_command(init_db_command)
