"""The catalogue of the lab stack's services, shared by native and Docker mode.

Names and ports are a contract (`scalelab status --json`, tests, notebooks): both modes run exactly
these services, on the host ports from `.env`. How each one is started lives in `native/commands.py`
and `docker-compose.yml`; a test keeps those two in step with this table.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Service:
    name: str
    port_key: str  # the host port is SCALELAB_<port_key>_PORT
    inner_port: int  # the port inside its container under Docker
    health: str  # how `health.check` probes it: postgres, pgbouncer, redis, smtp, or http:<path>
    needs: tuple[str, ...] = ()  # must be healthy before this one starts
    docker_only: bool = False


SERVICES: tuple[Service, ...] = (
    Service("postgres", "POSTGRES", 5432, "postgres"),
    Service("redis", "REDIS", 6379, "redis"),
    Service("smtp", "SMTP", 1025, "smtp"),
    # Lab 2's avatars: s3rver, in both modes. `/` lists the buckets with no credentials.
    Service("objectstore", "OBJECTSTORE", 9000, "http:/"),
    Service("pgbouncer", "PGBOUNCER", 6432, "pgbouncer", needs=("postgres",)),
    Service("app1", "APP1", 8000, "http:/healthz", needs=("postgres", "smtp", "objectstore")),
    Service("app2", "APP2", 8000, "http:/healthz", needs=("postgres", "smtp", "objectstore")),
    # Celery's worker, on Redis. Idle until Lab 3 sends it the slow work; it runs the app's code, so it
    # needs what the apps need. Its probe is a small HTTP endpoint it serves once ready (make_celery.py).
    Service("worker", "WORKER", 8001, "http:/", needs=("redis", "postgres", "smtp", "objectstore")),
    Service("nginx", "HTTP", 80, "http:/healthz", needs=("app1", "app2")),
    Service("postgres_exporter", "POSTGRES_EXPORTER", 9187, "http:/metrics", needs=("postgres",)),
    Service("redis_exporter", "REDIS_EXPORTER", 9121, "http:/metrics", needs=("redis",)),
    Service("nginx_exporter", "NGINX_EXPORTER", 9113, "http:/metrics", needs=("nginx",)),
    Service("prometheus", "PROMETHEUS", 9090, "http:/-/ready"),
    Service("jupyterlab", "JUPYTER", 8888, "http:/api"),
    Service("locust", "LOCUST", 8089, "http:/", needs=("nginx",)),
    Service("grafana", "GRAFANA", 3000, "http:/api/health", needs=("prometheus",), docker_only=True),
    Service("mailpit", "MAILPIT", 8025, "http:/livez", docker_only=True),
    Service("flower", "FLOWER", 5555, "http:/healthcheck", needs=("redis",), docker_only=True),
    # Lab 4's traces, by OTLP. Natively the app writes its spans to files instead (scalelab.kit.traces).
    Service("jaeger", "JAEGER", 16686, "http:/", docker_only=True),
)

BY_NAME = {s.name: s for s in SERVICES}

# The SMTP provider's second port, its HTTP API, inside its container (the host port is
# SCALELAB_SMTP_API_PORT).
SMTP_API_INNER_PORT = 8080


def native_services() -> list[Service]:
    return [s for s in SERVICES if not s.docker_only]


def start_waves(services: list[Service]) -> list[list[Service]]:
    """Group services so that each wave needs only services from earlier waves (started together)."""
    names = {s.name for s in services}
    done: set[str] = set()
    waves: list[list[Service]] = []
    pending = list(services)
    while pending:
        wave = [s for s in pending if all(n in done or n not in names for n in s.needs)]
        if not wave:
            raise ValueError(f"dependency cycle among {[s.name for s in pending]}")
        waves.append(wave)
        done.update(s.name for s in wave)
        pending = [s for s in pending if s not in wave]
    return waves
