"""Settings from `.env`, with `.env.example` and the machine size as the defaults and SCALELAB_*
environment variables on top.

Reading `.env.example` first means a course update that adds a setting still works with an old `.env`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from scalelab.errors import LabError
from scalelab.paths import REPO
from scalelab.stack import machines
from scalelab.stack.services import BY_NAME, SMTP_API_INNER_PORT

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
class ObjectStore:
    """What an S3 client (boto3) needs to reach the lab's object store."""

    endpoint_url: str
    bucket: str
    access_key: str
    secret_key: str
    # s3rver has no regions, but a SigV4 signature names one: AWS's default.
    region: str = "us-east-1"


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
    def machine(self) -> machines.Machine:
        return machines.get(self["MACHINE"])

    @property
    def run_scale(self) -> float:
        """SCALELAB_RUN_SCALE: the share of its duration each load run lasts (load.run)."""
        text = self.values.get(PREFIX + "RUN_SCALE", "1")
        try:
            scale = float(text)
        except ValueError:
            scale = 0.0
        if not 0.1 <= scale <= 1:
            raise LabError(f"SCALELAB_RUN_SCALE={text} in .env or the environment: give a number from 0.1 to 1 (1: full runs)")
        return scale

    @property
    def inside_compose(self) -> bool:
        """True in a container of docker-compose.yml (JupyterLab), where services go by their names."""
        return self.values.get("SCALELAB_NETWORK") == "compose"

    def address(self, service: str) -> str:
        """host:port at which the toolkit reaches a service, from the host or from inside compose."""
        if self.inside_compose:
            return f"{service}:{BY_NAME[service].inner_port}"
        return f"127.0.0.1:{self.port(BY_NAME[service].port_key)}"

    @property
    def app_url(self) -> str:
        return f"http://{self.address('nginx')}"

    @property
    def smtp_api_url(self) -> str:
        if self.inside_compose:
            return f"http://smtp:{SMTP_API_INNER_PORT}"
        return f"http://127.0.0.1:{self.port('SMTP_API')}"

    @property
    def prometheus_url(self) -> str:
        return f"http://{self.address('prometheus')}"

    def objectstore(self) -> ObjectStore:
        """The object store as the toolkit reaches it, from the host or from inside compose."""
        return ObjectStore(
            endpoint_url=f"http://{self.address('objectstore')}",
            bucket=self["OBJECTSTORE_BUCKET"],
            access_key=self["OBJECTSTORE_ACCESS_KEY"],
            secret_key=self["OBJECTSTORE_SECRET_KEY"],
        )

    def postgres_url(
        self, database: str = "chirp", user: str = "postgres", via_pgbouncer: bool = False, sqlalchemy: bool = False
    ) -> str:
        """A libpq URL to the lab's PostgreSQL (or PgBouncer in front of it).

        The lab's passwords are its user names but `chirp`'s; native mode trusts local TCP anyway.
        sqlalchemy=True names the psycopg2 driver, which SQLAlchemy 2.1 no longer picks by default.
        """
        address = self.address("pgbouncer" if via_pgbouncer else "postgres")
        password = "chirp" if user == "chirp" else "postgres"
        scheme = "postgresql+psycopg2" if sqlalchemy else "postgresql"
        return f"{scheme}://{user}:{password}@{address}/{database}"


def load(repo: Path = REPO) -> Settings:
    """.env.example, then the machine size's defaults (scalelab/stack/machines.py), then .env, then the
    environment: each layer overrides the ones before it."""
    example = parse_env_file(repo / ".env.example")
    chosen = parse_env_file(repo / ".env")
    chosen.update({k: v for k, v in os.environ.items() if k.startswith(PREFIX)})
    machine = machines.get(chosen.get(PREFIX + "MACHINE", example.get(PREFIX + "MACHINE", "full")))
    return Settings({**example, **{PREFIX + k: v for k, v in machine.settings.items()}, **chosen})
