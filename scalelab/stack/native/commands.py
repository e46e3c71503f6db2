"""How native mode starts each service: its command line, environment and working folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from scalelab.errors import LabError
from scalelab.paths import REPO, STATE, TRACES
from scalelab.stack import render
from scalelab.stack.appsecret import chirp_secret_key
from scalelab.stack.native import binaries, npm, spanfiles
from scalelab.stack.native.account import Account, service_dir
from scalelab.stack.settings import Settings


@dataclass
class Launch:
    argv: list[str]
    cwd: Path
    env: dict[str, str] = field(default_factory=dict)
    as_service_account: bool = True  # False: runs as the invoking user (Python services, from the venv)


# PostgreSQL's SIGTERM is a "smart" shutdown that waits for every client to leave; SIGINT is "fast".
STOP_SIGNALS = {"postgres": signal.SIGINT}

# s3rver has one key pair built in (its lib/models/account.js) and no option to add another.
S3RVER_ACCESS_KEY = "S3RVER"


def _rendered(service: str, settings: Settings, account: Account) -> Path:
    """infra/<service>/ rendered into the service's own folder; returns that folder."""
    folder = service_dir(service, account)
    values = {**render.variables(settings, "native"), "CONF_DIR": str(folder)}
    render.render_service(service, folder, values)
    return folder


def _local(port: int) -> str:
    return f"127.0.0.1:{port}"


def postgres(settings: Settings, account: Account) -> Launch:
    folder = _rendered("postgres", settings, account)
    data = folder / "data"
    if not (data / "PG_VERSION").exists():
        _initdb(data, account)
    return Launch(
        [
            binaries.require("postgres"),
            "-D", str(data),
            "-c", f"config_file={folder / 'postgresql.conf'}",
            "-p", str(settings.port("POSTGRES")),
            # TCP only: a socket path under a deep clone can exceed the 107-byte limit.
            "-c", "unix_socket_directories=",
        ],
        cwd=folder,
    )


def _initdb(data: Path, account: Account) -> None:
    as_other = {} if account.is_current else {"user": account.uid, "group": account.gid, "extra_groups": []}
    result = subprocess.run(
        [binaries.require("initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C"],
        capture_output=True,
        text=True,
        cwd=data.parent,
        **as_other,
    )
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-5:])
        raise LabError(f"initdb failed for {data}:\n{tail}")


def pgbouncer(settings: Settings, account: Account) -> Launch:
    folder = _rendered("pgbouncer", settings, account)
    return Launch([binaries.require("pgbouncer"), str(folder / "pgbouncer.ini")], cwd=folder)


def redis(settings: Settings, account: Account) -> Launch:
    folder = _rendered("redis", settings, account)
    return Launch(
        [
            binaries.require("redis-server"), str(folder / "redis.conf"),
            "--port", str(settings.port("REDIS")),
            "--bind", "127.0.0.1",
            "--dir", str(folder),
            "--daemonize", "no",
        ],
        cwd=folder,
    )


def nginx(settings: Settings, account: Account) -> Launch:
    folder = _rendered("nginx", settings, account)
    (folder / "tmp").mkdir(exist_ok=True)
    if not account.is_current:
        os.chown(folder / "tmp", account.uid, account.gid)
    return Launch([binaries.require("nginx"), "-c", str(folder / "nginx.conf"), "-p", str(folder)], cwd=folder)


def prometheus(settings: Settings, account: Account) -> Launch:
    folder = _rendered("prometheus", settings, account)
    return Launch(
        [
            binaries.require("prometheus"),
            f"--config.file={folder / 'prometheus.yml'}",
            f"--storage.tsdb.path={folder / 'data'}",
            "--storage.tsdb.retention.time=2d",
            f"--web.listen-address={_local(settings.port('PROMETHEUS'))}",
        ],
        cwd=folder,
    )


def postgres_exporter(settings: Settings, account: Account) -> Launch:
    return Launch(
        [
            binaries.require("prometheus-postgres-exporter"),
            f"--web.listen-address={_local(settings.port('POSTGRES_EXPORTER'))}",
        ],
        cwd=service_dir("postgres_exporter", account),
        env={"DATA_SOURCE_NAME": settings.postgres_url("chirp") + "?sslmode=disable"},
    )


def redis_exporter(settings: Settings, account: Account) -> Launch:
    return Launch(
        [
            binaries.require("prometheus-redis-exporter"),
            "-redis.addr", f"redis://{_local(settings.port('REDIS'))}",
            "-web.listen-address", _local(settings.port("REDIS_EXPORTER")),
            # The length of Celery's queue (a Redis list): how many jobs wait for a worker.
            "-check-single-keys", "db0=celery",
        ],
        cwd=service_dir("redis_exporter", account),
    )


def nginx_exporter(settings: Settings, account: Account) -> Launch:
    return Launch(
        [
            binaries.require("prometheus-nginx-exporter"),
            "-nginx.scrape-uri", f"{settings.app_url}/nginx_status",
            "-web.listen-address", _local(settings.port("NGINX_EXPORTER")),
        ],
        cwd=service_dir("nginx_exporter", account),
    )


def smtp(settings: Settings, account: Account) -> Launch:
    folder = STATE / "smtp"
    folder.mkdir(parents=True, exist_ok=True)
    return Launch(
        [
            sys.executable, "-m", "scalelab.stack.smtp_provider",
            "--smtp-port", str(settings.port("SMTP")),
            "--api-port", str(settings.port("SMTP_API")),
            "--latency-ms", settings["SMTP_LATENCY_MS"],
            "--failure-rate", settings["SMTP_FAILURE_RATE"],
            "--store", str(folder / "messages.jsonl"),
        ],
        cwd=folder,
        as_service_account=False,
    )


def objectstore(settings: Settings, account: Account) -> Launch:
    folder = service_dir("objectstore", account)
    store = settings.objectstore()
    if store.access_key != S3RVER_ACCESS_KEY:
        raise LabError(
            f"native mode's object store (s3rver) knows only the access key {S3RVER_ACCESS_KEY}: "
            f"set SCALELAB_OBJECTSTORE_ACCESS_KEY={S3RVER_ACCESS_KEY} in .env"
        )
    too_old = npm.node_problem()
    if too_old:
        raise LabError(too_old)
    modules = npm.ensure("objectstore", folder / "npm")
    return Launch(
        [
            binaries.require("node"), str(modules / "s3rver" / "bin" / "s3rver.js"),
            "--directory", str(folder / "data"),
            "--address", "127.0.0.1",
            "--port", str(settings.port("OBJECTSTORE")),
            # Created before it listens; on later starts s3rver keeps it, objects and all.
            "--configure-bucket", store.bucket,
        ],
        cwd=folder,
        # s3rver cuts the first 16 characters off each request line it logs, which are colour codes
        # only when colour is on: without it, every line loses its method and the start of its path.
        env={"FORCE_COLOR": "1"},
    )


def app_environment(settings: Settings, instance: str) -> dict[str, str]:
    """What every Chirp process is told about the stack (12-factor: the environment is the config)."""
    store = settings.objectstore()
    return {
        "CHIRP_INSTANCE": instance,
        "CHIRP_SECRET_KEY": chirp_secret_key(settings),
        "CHIRP_DATABASE_URL": settings.postgres_url(user="chirp", sqlalchemy=True),
        "CHIRP_PGBOUNCER_URL": settings.postgres_url(user="chirp", via_pgbouncer=True, sqlalchemy=True),
        "CHIRP_REDIS_URL": f"redis://{_local(settings.port('REDIS'))}/0",
        "CHIRP_SMTP_HOST": "127.0.0.1",
        "CHIRP_SMTP_PORT": str(settings.port("SMTP")),
        "CHIRP_S3_ENDPOINT_URL": store.endpoint_url,
        "CHIRP_S3_BUCKET": store.bucket,
        "CHIRP_S3_ACCESS_KEY": store.access_key,
        "CHIRP_S3_SECRET_KEY": store.secret_key,
        "CHIRP_S3_REGION": store.region,
        "PYTHONUNBUFFERED": "1",  # print() logs reach the log file as they happen
        # Lab 4: where the processes of this instance (gunicorn's workers, or Celery's) share their
        # metrics, and where each process writes the spans it traced (natively there is no Jaeger).
        "PROMETHEUS_MULTIPROC_DIR": str(STATE / instance / "prometheus-multiproc"),
        "CHIRP_TRACES_DIR": str(TRACES),
        # OpenTelemetry's SDK reads its sampler from these (.env.example: SCALELAB_TRACE_SAMPLE_RATIO).
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": settings["TRACE_SAMPLE_RATIO"],
    }


def app(instance: str):
    def launch(settings: Settings, account: Account) -> Launch:
        spanfiles.prune()  # old span files of exited processes go (Lab 4)
        # Each instance gets its own working folder: its "local disk", as on a separate server.
        folder = STATE / instance
        folder.mkdir(parents=True, exist_ok=True)
        return Launch(
            [
                binaries.venv_program("gunicorn"),
                "-c", str(REPO / "broken_app" / "gunicorn.conf.py"),
                "--bind", _local(settings.port(instance.upper())),
                "broken_app:create_app()",
            ],
            cwd=folder,
            env=app_environment(settings, instance),
            as_service_account=False,
        )

    return launch


def worker(settings: Settings, account: Account) -> Launch:
    spanfiles.prune()  # old span files of exited processes go (Lab 4)
    folder = STATE / "worker"
    folder.mkdir(parents=True, exist_ok=True)
    return Launch(
        [
            binaries.venv_program("celery"), "-A", "broken_app.make_celery", "worker",
            "--loglevel", "INFO",
            "--concurrency", settings["WORKER_CONCURRENCY"],  # the machine size's (scalelab/stack/machines.py)
            "--hostname", "worker@%h",
        ],
        cwd=folder,
        env={**app_environment(settings, "worker"), "CHIRP_WORKER_HEALTH_PORT": str(settings.port("WORKER"))},
        as_service_account=False,
    )


def jupyterlab(settings: Settings, account: Account) -> Launch:
    folder = STATE / "jupyter"
    folder.mkdir(parents=True, exist_ok=True)
    argv = [
        binaries.venv_program("jupyter"), "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={settings.port('JUPYTER')}",
        f"--ServerApp.root_dir={REPO}",
        f"--IdentityProvider.token={settings['JUPYTER_TOKEN']}",
        "--ServerApp.password=",
        # No calls home: the lab works offline.
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    if os.getuid() == 0:
        argv.append("--allow-root")
    return Launch(
        argv,
        cwd=REPO,
        env={"JUPYTER_RUNTIME_DIR": str(folder / "runtime"), "SCALELAB_REPO": str(REPO)},
        as_service_account=False,
    )


def locust(settings: Settings, account: Account) -> Launch:
    folder = STATE / "locust"
    folder.mkdir(parents=True, exist_ok=True)
    return Launch(
        [
            binaries.venv_program("locust"),
            "-f", str(REPO / "scalelab" / "kit" / "locustfile.py"),
            "--web-host", "127.0.0.1",
            "--web-port", str(settings.port("LOCUST")),
            "--host", settings.app_url,
        ],
        cwd=folder,
        as_service_account=False,
    )


LAUNCHERS = {
    "postgres": postgres,
    "pgbouncer": pgbouncer,
    "redis": redis,
    "nginx": nginx,
    "prometheus": prometheus,
    "postgres_exporter": postgres_exporter,
    "redis_exporter": redis_exporter,
    "nginx_exporter": nginx_exporter,
    "smtp": smtp,
    "objectstore": objectstore,
    "app1": app("app1"),
    "app2": app("app2"),
    "worker": worker,
    "jupyterlab": jupyterlab,
    "locust": locust,
}

