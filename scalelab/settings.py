"""Settings from `.env`, with `.env.example` as the defaults and SCALELAB_* environment variables on top.

Reading `.env.example` first means a course update that adds a setting still works with an old `.env`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from scalelab.paths import REPO

PREFIX = "SCALELAB_"


def parse_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; blank lines and # comments are skipped. Quotes around a value are removed."""
    values: dict[str, str] = {}
    if not path.exists():
        return values
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ValueError(f"{path}:{number}: expected KEY=VALUE, got {raw!r}")
        values[key.strip()] = value.strip().strip("'\"")
    return values


@dataclass(frozen=True)
class Settings:
    values: dict[str, str]

    def __getitem__(self, key: str) -> str:
        return self.values[PREFIX + key]

    def port(self, key: str) -> int:
        """The port for a setting named like `HTTP` or `POSTGRES` (SCALELAB_<KEY>_PORT)."""
        return int(self[f"{key}_PORT"])

    def int(self, key: str) -> int:
        return int(self[key])

    @property
    def app_url(self) -> str:
        return f"http://127.0.0.1:{self.port('HTTP')}"

    @property
    def smtp_api_url(self) -> str:
        return f"http://127.0.0.1:{self.port('SMTP_API')}"

    @property
    def prometheus_url(self) -> str:
        return f"http://127.0.0.1:{self.port('PROMETHEUS')}"

    def postgres_url(
        self, database: str = "chirp", user: str = "postgres", via_pgbouncer: bool = False, sqlalchemy: bool = False
    ) -> str:
        """A libpq URL on 127.0.0.1 (the lab's own cluster trusts local TCP connections).

        sqlalchemy=True names the psycopg2 driver, which SQLAlchemy 2.1 no longer picks by default.
        """
        port = self.port("PGBOUNCER") if via_pgbouncer else self.port("POSTGRES")
        password = ":chirp" if user == "chirp" else ""
        scheme = "postgresql+psycopg2" if sqlalchemy else "postgresql"
        return f"{scheme}://{user}{password}@127.0.0.1:{port}/{database}"


def load(repo: Path = REPO) -> Settings:
    values = parse_env_file(repo / ".env.example")
    values.update(parse_env_file(repo / ".env"))
    values.update({k: v for k, v in os.environ.items() if k.startswith(PREFIX)})
    return Settings(values)
