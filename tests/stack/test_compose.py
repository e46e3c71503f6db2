"""Docker mode, checked without a Docker engine: docker-compose.yml, the Dockerfile and the config
renderer, against the service catalogue (scalelab/stack/services.py) and `.env.example`.

Debian's docker-compose 1.29 validates and interpolates the file with no engine; everything else is
read with PyYAML. Nothing here starts a container.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from scalelab.errors import LabError
from scalelab.stack import docker, dockerbase, machines, render
from scalelab.stack.compose import environment as compose_environment
from scalelab.stack.native import commands
from scalelab.stack.services import BY_NAME, SERVICES
from scalelab.stack.settings import ObjectStore, Settings, parse_env_file

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
ENV_EXAMPLE = parse_env_file(REPO / ".env.example")
# What a bare `docker compose` falls back to: .env.example, and the values of its machine size
# (scalelab/stack/machines.py), which `scalelab up --docker` hands to compose.
DEFAULTS = {**ENV_EXAMPLE, **{f"SCALELAB_{k}": v for k, v in machines.get(ENV_EXAMPLE["SCALELAB_MACHINE"]).settings.items()}}
PROJECT_VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]

# One-shot helpers: the only services beyond the catalogue. They run to completion and exit 0.
HELPERS = {"config", "seed"}
# Scale-out services (Lab 5): more of a catalogue service, `docker compose up --scale NAME=N`.
SCALE_OUT = {"app", "locust-worker"}
CATALOGUE = {s.name for s in SERVICES}
# Extra host ports a service publishes beyond its catalogue port: (.env key, container port).
EXTRA_PORTS = {"smtp": [("SMTP_API", 8080)]}
PYTHON_IMAGE = f"scalelab/python:{PROJECT_VERSION}"
PYTHON_IMAGE_USERS = {
    "config", "seed", "smtp", "app1", "app2", "app", "worker", "flower", "jupyterlab", "locust", "locust-worker",
}
# Where the Python services see the repo: mounted, never copied into the image.
REPO_MOUNT = ".:/repo"
IMAGE_REPO = "/repo"
CONFIG_MOUNT = "lab-config:/etc/lab:ro"

INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}")
FLOATING_TAGS = {"latest", "stable", "mainline", "edge", "nightly", "alpine", "slim", "bookworm", "lts"}
# Exact releases with two numbers: PostgreSQL's versions are MAJOR.MINOR (15.10 is one release).
TWO_PART_VERSIONS = {"postgres"}
VERSION_TAG = re.compile(r"^v?(\d+(?:\.\d+)+)(?:-[A-Za-z0-9.-]+)?$")
# Debian's own images name each build by its date: bookworm-20250520-slim is one build.
DATED_TAG = re.compile(r"^[a-z]+-\d{8}(-slim)?$")
PUBLISHED = re.compile(r"^127\.0\.0\.1:(\d+):(\d+)(?:/tcp)?$")


def docker_compose() -> str:
    found = shutil.which("docker-compose")
    if found is None:
        pytest.fail(
            "docker-compose is not installed; it validates docker-compose.yml without a Docker engine. "
            "Install it with `scalelab system-packages --for-tests` (as `make test` does) or "
            "`apt-get install docker-compose`."
        )
    return found


def compose_config(tmp_path: Path, env: dict[str, str]) -> dict:
    """docker-compose's own rendering of the file, with `env` as the only .env (no SCALELAB_* from the shell)."""
    env_file = tmp_path / "compose.env"
    env_file.write_text("".join(f"{key}={value}\n" for key, value in env.items()))
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith("SCALELAB_")}
    result = subprocess.run(
        [docker_compose(), "--project-directory", str(REPO), "-f", str(COMPOSE_FILE), "--env-file", str(env_file), "config"],
        capture_output=True,
        text=True,
        env=clean_env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict[str, dict]:
    return compose["services"]


@pytest.fixture(scope="module")
def long_running(services) -> dict[str, dict]:
    return {name: spec for name, spec in services.items() if name not in HELPERS}


@pytest.fixture(scope="module")
def docker_settings() -> Settings:
    return Settings(dict(DEFAULTS))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, docker_settings) -> Path:
    """Every infra/<service>/ rendered for Docker, laid out as the `lab-config` volume (/etc/lab)."""
    out = tmp_path_factory.mktemp("etc-lab")
    values = render.variables(docker_settings, "docker")
    for service_dir in sorted(p for p in render.INFRA.iterdir() if p.is_dir()):
        render.render_service(service_dir.name, out / service_dir.name, {**values, "CONF_DIR": f"/etc/lab/{service_dir.name}"})
    return out


def depends_on(spec: dict) -> dict[str, dict]:
    deps = spec.get("depends_on", {})
    assert isinstance(deps, dict), f"depends_on must be the long form with a condition, got {deps!r}"
    return deps


def command_text(spec: dict) -> str:
    parts = []
    for key in ("entrypoint", "command"):
        value = spec.get(key, [])
        parts.extend([value] if isinstance(value, str) else value)
    return " ".join(parts)


def image_tag(image: str) -> tuple[str, str | None, str | None]:
    """(name, tag, digest) of an image reference."""
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = None
    if ":" in last:
        name, tag = name.rsplit(":", 1)
    return name, tag, digest or None


def assert_pinned(image: str) -> None:
    name, tag, digest = image_tag(image)
    assert tag or digest, f"{image}: no tag or digest, so Docker would take `latest`"
    if tag is None:
        return
    assert tag.lower() not in FLOATING_TAGS, f"{image}: `{tag}` is a moving tag"
    if DATED_TAG.match(tag):
        return
    match = VERSION_TAG.match(tag)
    assert match, f"{image}: `{tag}` names no exact version"
    parts = match.group(1).split(".")
    needed = 2 if name.rsplit("/", 1)[-1] in TWO_PART_VERSIONS else 3
    assert len(parts) >= needed, f"{image}: `{tag}` is a release line, not an exact version"


def dockerfile_stages() -> list[tuple[str, str | None]]:
    """(image, stage name) of each FROM line, its ARG default put in."""
    text = DOCKERFILE.read_text()
    arguments = dict(re.findall(r"^ARG (\w+)=(\S+)$", text, re.MULTILINE))
    stages = []
    for line in INTERPOLATION.sub(lambda m: arguments.get(m[1], m[0]), text).splitlines():
        match = re.match(r"^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?\s*$", line.strip(), re.IGNORECASE)
        if match:
            stages.append((match.group(1), match.group(2)))
    return stages


# --- 1. The file is valid --------------------------------------------------------------------------


def test_docker_compose_validates_the_file():
    result = subprocess.run(
        [docker_compose(), "--project-directory", str(REPO), "-f", str(COMPOSE_FILE), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr  # no warnings either (unset variables, ...)


def test_every_setting_compose_reads_has_the_default_of_env_example_or_its_machine_size():
    # Beyond .env: what `scalelab up --docker` works out itself (scalelab/stack/compose.py).
    defaults = {**DEFAULTS, "SCALELAB_OTLP_ENDPOINT": ""}
    assert set(compose_environment(Settings(dict(DEFAULTS)))) >= set(defaults)
    text = COMPOSE_FILE.read_text()
    seen = set()
    for match in INTERPOLATION.finditer(text):
        name, default = match.group(1), match.group(2)
        assert name.startswith("SCALELAB_"), f"${{{name}}}: compose should read only the lab's own settings"
        assert name in defaults, f"${{{name}}} is neither in .env.example nor in its machine size"
        assert match.group(0).startswith(f"${{{name}:-"), f"{match.group(0)}: give the default as ${{{name}:-...}}"
        assert default == defaults[name], f"{match.group(0)}: the default is {defaults[name]!r}"
        seen.add(name)
    port_keys = {key for key in ENV_EXAMPLE if key.endswith("_PORT")}
    assert port_keys <= seen, f"ports in .env.example that compose never publishes: {sorted(port_keys - seen)}"


def test_compose_takes_every_port_and_knob_from_the_env_file(tmp_path):
    """Interpolated by docker-compose itself, with every setting changed from its default."""
    env = {}
    for number, key in enumerate(sorted(ENV_EXAMPLE)):
        if key.endswith("_PORT"):
            env[key] = str(20000 + number)
        elif key == "SCALELAB_JUPYTER_TOKEN":
            env[key] = "t0ken"
    env.update(
        SCALELAB_SEED_USERS="123", SCALELAB_SEED_POSTS="456", SCALELAB_SEED="7",
        SCALELAB_SMTP_LATENCY_MS="250", SCALELAB_SMTP_FAILURE_RATE="0.5",
        SCALELAB_POSTGRES_MAX_CONNECTIONS="77", SCALELAB_PGBOUNCER_POOL_SIZE="3",
        SCALELAB_POSTGRES_SHARED_BUFFERS="16MB", SCALELAB_WORKER_CONCURRENCY="3",
    )
    services = compose_config(tmp_path, env)["services"]

    for service in SERVICES:
        expected = {(int(env[f"SCALELAB_{service.port_key}_PORT"]), service.inner_port)}
        expected |= {(int(env[f"SCALELAB_{key}_PORT"]), inner) for key, inner in EXTRA_PORTS.get(service.name, [])}
        published = set()
        for port in services[service.name].get("ports", []):
            match = PUBLISHED.match(str(port))
            assert match, f"{service.name}: {port!r} is not published on 127.0.0.1 only"
            published.add((int(match.group(1)), int(match.group(2))))
        assert published == expected, service.name

    seed = command_text(services["seed"])
    assert "--users 123" in seed and "--posts 456" in seed and "--seed 7" in seed
    smtp = services["smtp"]["command"]
    assert smtp[smtp.index("--latency-ms") + 1] == "250" and smtp[smtp.index("--failure-rate") + 1] == "0.5"
    assert "--IdentityProvider.token=t0ken" in services["jupyterlab"]["command"]
    config_env = services["config"]["environment"]
    assert config_env["SCALELAB_POSTGRES_MAX_CONNECTIONS"] == "77" and config_env["SCALELAB_PGBOUNCER_POOL_SIZE"] == "3"
    assert config_env["SCALELAB_POSTGRES_SHARED_BUFFERS"] == "16MB"
    worker = services["worker"]["command"]
    assert worker[worker.index("--concurrency") + 1] == "3"


def test_without_an_env_file_the_ports_are_env_example_s(tmp_path):
    services = compose_config(tmp_path, {})["services"]
    for service in SERVICES:
        ports = {PUBLISHED.match(str(p)).groups() for p in services[service.name]["ports"]}
        assert (ENV_EXAMPLE[f"SCALELAB_{service.port_key}_PORT"], str(service.inner_port)) in ports, service.name
        assert all(host not in ("5432", "6379") for host, _ in ports), service.name


@pytest.mark.parametrize("helper", ["seed"])
def test_one_shot_scripts_are_valid_shell(helper, tmp_path):
    script = compose_config(tmp_path, {})["services"][helper]["command"]
    assert len(script) == 1
    result = subprocess.run(["sh", "-n", "-c", script[0]], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# --- 2. Pinned images ------------------------------------------------------------------------------


def test_every_image_is_pinned(services):
    for name, spec in services.items():
        assert "image" in spec, f"{name} has no image: name and pin it (also when it is built)"
        assert_pinned(spec["image"])


def test_the_dockerfile_bases_are_pinned():
    stages = dockerfile_stages()
    assert stages, "no FROM line in the Dockerfile"
    names = set()
    for image, stage in stages:
        if image not in names:
            assert_pinned(image)
        if stage:
            names.add(stage)


@pytest.mark.parametrize(
    "image",
    [
        "python:3.11.10-slim", "postgres:15.10-bookworm", "redis:7.0.15", "axllent/mailpit:v1.24.1", "x@sha256:ab",
        "debian:bookworm-20250520-slim",
    ],
)
def test_pinned_image_rule_accepts(image):
    assert_pinned(image)


@pytest.mark.parametrize(
    "image",
    [
        "redis", "redis:latest", "nginx:1.22", "python:3.11-slim", "grafana/grafana:10", "postgres:15", "x:bookworm",
        "debian:bookworm-slim", "debian:bookworm-2025",
    ],
)
def test_pinned_image_rule_rejects(image):
    with pytest.raises(AssertionError):
        assert_pinned(image)


def test_each_local_image_is_built_once_from_a_stage_of_the_dockerfile(services):
    stages = {stage for _, stage in dockerfile_stages() if stage}
    builders: dict[str, list[str]] = {}
    for name, spec in services.items():
        if "build" in spec:
            build = spec["build"]
            assert build["context"] == ".", name
            assert build.get("target") in stages, f"{name}: build target {build.get('target')!r} is not a Dockerfile stage"
            assert spec["image"].startswith("scalelab/"), name
            builders.setdefault(spec["image"], []).append(name)
    assert all(len(names) == 1 for names in builders.values()), builders
    for name, spec in services.items():
        if spec["image"].startswith("scalelab/"):
            assert spec["image"] in builders, f"{name} runs {spec['image']}, which no service builds"


def test_the_python_services_run_one_image_with_the_repo_mounted(services):
    users = {name for name, spec in services.items() if spec["image"] == PYTHON_IMAGE}
    assert users == PYTHON_IMAGE_USERS
    builder = next(name for name, spec in services.items() if spec["image"] == PYTHON_IMAGE and "build" in spec)
    assert builder == "config" and services[builder]["build"]["target"] == "python"  # the first to start builds it
    for name in users:
        assert any(volume.split(":")[:2] == [".", "/repo"] for volume in services[name]["volumes"]), name


def test_the_python_image_holds_the_dependencies_not_the_code():
    text = DOCKERFILE.read_text()
    stage = text[text.index(" AS python"):]
    pip = re.search(r'"pip==(\d+)\.(\d+)(?:\.\d+)?"', stage)
    assert pip and (int(pip.group(1)), int(pip.group(2))) >= (25, 1), "pip install --group needs pip 25.1"
    assert "--group notebooks" in stage and "COPY pyproject.toml" in stage
    assert "COPY . ." not in text, "the code is mounted (solve and reset change it), never baked into an image"
    assert "PYTHONPATH=/repo" in stage and "SCALELAB_REPO=/repo" in stage
    ignored = {line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()}
    assert {".git", ".venv", ".lab", ".env"} <= ignored


def test_every_image_builds_from_the_one_pinned_debian_base():
    stages = dockerfile_stages()
    named = {stage for _, stage in stages if stage}
    bases = {image for image, _ in stages if image not in named}
    assert bases == {dockerbase.pinned()}, bases
    assert dockerbase.pinned().startswith(f"debian:{dockerbase.SUITE}-")


# --- 3. Parity with the catalogue ------------------------------------------------------------------


def test_services_are_the_catalogue_plus_the_one_shot_helpers_and_the_scale_out(services):
    assert set(services) == CATALOGUE | HELPERS | SCALE_OUT


def test_each_service_publishes_its_env_port_on_localhost_only(services):
    for service in SERVICES:
        expected = [(service.port_key, service.inner_port), *EXTRA_PORTS.get(service.name, [])]
        wanted = [
            f"127.0.0.1:${{SCALELAB_{key}_PORT:-{ENV_EXAMPLE[f'SCALELAB_{key}_PORT']}}}:{inner}" for key, inner in expected
        ]
        assert services[service.name].get("ports") == wanted, service.name
    for helper in [*HELPERS, *SCALE_OUT]:
        assert "ports" not in services[helper], helper


def test_app_instances_get_what_native_mode_gives_them(services, docker_settings):
    # The spans go to files under the mounted .lab/traces, as natively; and to Jaeger when it runs.
    native_keys = set(commands.app_environment(docker_settings, "app1")) - {"PYTHONUNBUFFERED"}  # the image's ENV
    for instance in ("app1", "app2", "worker"):
        env = services[instance]["environment"]
        assert native_keys <= set(env), f"{instance} lacks {sorted(native_keys - set(env))}"
        assert env["CHIRP_TRACES_DIR"] == "/repo/.lab/traces"
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "${SCALELAB_OTLP_ENDPOINT:-}"
        assert env["CHIRP_INSTANCE"] == instance
        for key in ("CHIRP_DATABASE_URL", "CHIRP_PGBOUNCER_URL", "CHIRP_REDIS_URL", "CHIRP_S3_ENDPOINT_URL"):
            url = urlsplit(env[key])
            assert url.hostname in CATALOGUE and url.port == BY_NAME[url.hostname].inner_port, f"{instance} {key}"
        assert env["CHIRP_SMTP_HOST"] == "smtp" and env["CHIRP_SMTP_PORT"] == str(BY_NAME["smtp"].inner_port)
    for instance in ("app1", "app2"):
        command = services[instance]["command"]
        assert command[:2] == ["gunicorn", "-c"] and command[-1] == "broken_app:create_app()"
        assert command[command.index("--bind") + 1] == f"0.0.0.0:{BY_NAME[instance].inner_port}"


def test_the_worker_runs_the_native_worker_s_command_and_probe(services, docker_settings):
    native = commands.worker(docker_settings, None)
    command = [INTERPOLATION.sub(lambda m: DEFAULTS[m[1]], part) for part in services["worker"]["command"]]
    assert command == [Path(native.argv[0]).name, *native.argv[1:]]
    env = services["worker"]["environment"]
    assert env["CHIRP_WORKER_HEALTH_PORT"] == str(BY_NAME["worker"].inner_port)
    assert env["CHIRP_WORKER_HEALTH_HOST"] == "0.0.0.0"


def test_s3rver_its_bucket_and_the_apps_share_the_object_store_settings(tmp_path):
    """Interpolated by docker-compose, with the bucket and secret changed from their defaults."""
    env = {"SCALELAB_OBJECTSTORE_SECRET_KEY": "s3cret-long-enough", "SCALELAB_OBJECTSTORE_BUCKET": "pictures"}
    services = compose_config(tmp_path, env)["services"]
    command = services["objectstore"]["command"]
    assert command[1].endswith("node_modules/s3rver/bin/s3rver.js")
    assert command[command.index("--configure-bucket") + 1] == "pictures"
    assert "--no-vhost-buckets" in command  # the apps reach it by the name `objectstore`, not a bucket's
    data = command[command.index("--directory") + 1]
    volumes = [str(v) for v in services["objectstore"]["volumes"]]
    assert any("objectstore-data" in v and data in v for v in volumes), volumes
    for instance in ("app1", "app2"):
        app_env = services[instance]["environment"]
        assert app_env["CHIRP_S3_ENDPOINT_URL"] == f"http://objectstore:{BY_NAME['objectstore'].inner_port}"
        assert (app_env["CHIRP_S3_ACCESS_KEY"], app_env["CHIRP_S3_SECRET_KEY"]) == ("S3RVER", "s3cret-long-enough")
        assert app_env["CHIRP_S3_BUCKET"] == "pictures" and app_env["CHIRP_S3_REGION"] == ObjectStore.region


def test_the_object_store_credentials_are_s3rver_s():
    """Both modes run s3rver, which knows only its built-in access key."""
    assert ENV_EXAMPLE["SCALELAB_OBJECTSTORE_ACCESS_KEY"] == commands.S3RVER_ACCESS_KEY


def test_each_app_instance_has_its_own_local_disk(compose, services):
    disks = []
    for instance in ("app1", "app2"):
        spec = services[instance]
        mounts = [v for v in spec.get("volumes", []) if v.split(":")[1] == spec["working_dir"]]
        assert len(mounts) == 1, f"{instance}: no volume at its working_dir"
        volume = mounts[0].split(":")[0]
        assert volume in compose["volumes"], f"{instance}: {volume} is not a named volume"
        disks.append(volume)
    assert disks[0] != disks[1]
    for name, spec in services.items():
        if name not in ("app1", "app2"):
            assert not any(v.split(":")[0] in disks for v in spec.get("volumes", [])), name


def test_paths_into_the_image_s_copy_of_the_repo_exist(services):
    for name, spec in services.items():
        for path in re.findall(rf"{IMAGE_REPO}/(?!\.lab/)(\S+)", command_text(spec)):
            assert (REPO / path).is_file(), f"{name} runs {IMAGE_REPO}/{path}, which is not in the repo"


def test_smtp_provider_mirrors_native_mode(services):
    command = services["smtp"]["command"]
    assert command[:3] == ["python", "-m", "scalelab.stack.smtp_provider"]
    assert command[command.index("--host") + 1] == "0.0.0.0"
    assert command[command.index("--smtp-port") + 1] == str(BY_NAME["smtp"].inner_port)
    assert command[command.index("--api-port") + 1] == "8080"
    store = command[command.index("--store") + 1]
    assert any(store.startswith(v.split(":")[1] + "/") for v in services["smtp"]["volumes"]), "the mailbox is not on a volume"


def test_jupyter_serves_the_live_repo_with_the_lab_token(services):
    spec = services["jupyterlab"]
    assert REPO_MOUNT in spec["volumes"]
    assert "--ServerApp.root_dir=/repo" in spec["command"]
    assert "--IdentityProvider.token=${SCALELAB_JUPYTER_TOKEN:-}" in spec["command"]
    assert f"--port={BY_NAME['jupyterlab'].inner_port}" in spec["command"]


def test_postgres_starts_as_native_mode_s_does(compose, services):
    """initdb and init.sql on a new volume, then the server with the rendered config, as its own user."""
    spec = services["postgres"]
    assert spec["user"] == "postgres" and spec["command"] == ["start-postgres"] and spec["stop_signal"] == "SIGINT"
    script = (REPO / "infra" / "postgres" / "start-in-docker.sh").read_text()
    assert "initdb" in script and "/etc/lab/postgres/init.sql" in script and "config_file=/etc/lab/postgres/postgresql.conf" in script
    assert "COPY infra/postgres/start-in-docker.sh /usr/local/bin/start-postgres" in DOCKERFILE.read_text()
    data = [v for v in spec["volumes"] if v.split(":")[1] == "/var/lib/postgresql/data"]
    assert len(data) == 1 and data[0].split(":")[0] in compose["volumes"]


def test_seed_runs_once_and_the_apps_wait_for_it(services):
    seed = command_text(services["seed"])
    assert "python -m broken_app.seed" in seed
    assert "--database-url postgresql+psycopg2://chirp:chirp@postgres:5432/chirp" in seed
    # Where native mode's seed writes them (the mounted repo's .lab/seed): `scalelab load` reads them.
    assert "--credentials /repo/.lab/seed/credentials.csv" in seed and REPO_MOUNT in services["seed"]["volumes"]
    assert "if " in seed and "credentials.csv" in seed.split("then")[0], "no guard: every start would reseed"
    for instance in ("app1", "app2"):
        assert depends_on(services[instance])["seed"] == {"condition": "service_completed_successfully"}


# --- 4. Health and start order ---------------------------------------------------------------------


def test_every_long_running_service_has_a_healthcheck(long_running):
    for name, spec in long_running.items():
        check = spec.get("healthcheck")
        assert check and not check.get("disable"), f"{name} has no healthcheck"
        test = check["test"]
        assert isinstance(test, list) and test[0] in ("CMD", "CMD-SHELL") and len(test) > 1, name


def test_start_order_mirrors_needs(long_running):
    for service in SERVICES:
        deps = depends_on(long_running[service.name])
        for need in service.needs:
            assert deps.get(need) == {"condition": "service_healthy"}, f"{service.name} must wait for {need} healthy"
        assert set(deps) - HELPERS == set(service.needs), f"{service.name}: depends_on beyond services.py's needs"


def test_conditions_match_what_they_wait_for(services):
    for name, spec in services.items():
        for target, dep in depends_on(spec).items():
            if target in HELPERS:
                assert dep == {"condition": "service_completed_successfully"}, f"{name} -> {target}"
            else:
                assert dep == {"condition": "service_healthy"}, f"{name} -> {target}"
                assert "healthcheck" in services[target], f"{name} waits for {target}, which has no healthcheck"


def test_one_shot_helpers_are_awaited_by_a_long_running_service(services, long_running):
    """Each helper must finish before what needs it starts (scalelab waits for the long-running ones)."""
    for helper in HELPERS:
        assert "healthcheck" not in services[helper], helper
        waiting = [n for n, spec in long_running.items() if helper in depends_on(spec)]
        assert waiting, f"nothing waits for {helper}"


# --- 5. Config files: both modes read infra/<service>/ ----------------------------------------------


def test_config_helper_renders_infra_into_the_shared_volume(compose, services):
    spec = services["config"]
    assert spec["command"] == ["python", "-m", "scalelab.stack.render", "docker", "/etc/lab"]
    assert ".:/repo:ro" in spec["volumes"] and "lab-config:/etc/lab" in spec["volumes"]
    assert "lab-config" in compose["volumes"]


def test_services_that_read_rendered_config_mount_it_and_wait_for_it(long_running):
    readers = set()
    for name, spec in long_running.items():
        text = yaml.safe_dump({k: spec.get(k) for k in ("command", "entrypoint", "environment")}, width=float("inf"))
        if "/etc/lab" in text:
            readers.add(name)
            assert CONFIG_MOUNT in spec.get("volumes", []), f"{name} reads /etc/lab without mounting {CONFIG_MOUNT}"
        if CONFIG_MOUNT in spec.get("volumes", []):
            assert depends_on(spec).get("config") == {"condition": "service_completed_successfully"}, name
    mounting = {name for name, spec in long_running.items() if CONFIG_MOUNT in spec.get("volumes", [])}
    assert readers <= mounting == docker.CONFIG_READERS  # the ones a restart renders the config for


def test_rendered_files_the_services_read_exist(services, rendered):
    for name, spec in services.items():
        text = yaml.safe_dump({k: spec.get(k) for k in ("command", "entrypoint", "environment")}, width=float("inf"))
        for path in re.findall(r"/etc/lab/([\w./-]+)", text):
            assert (rendered / path).exists(), f"{name} reads /etc/lab/{path}, which the render does not write"


def test_files_the_dockerfile_copies_exist():
    copied = re.findall(r"^COPY (?!--from)(.+) \S+$", DOCKERFILE.read_text(), re.MULTILINE)
    sources = [source for line in copied for source in line.split()]
    assert sources and all((REPO / source).exists() for source in sources), sources


@pytest.mark.parametrize("service", sorted(p.name for p in (REPO / "infra").iterdir() if p.is_dir()))
def test_each_infra_folder_renders_for_docker_with_no_placeholder_left(service, tmp_path, docker_settings):
    values = {**render.variables(docker_settings, "docker"), "CONF_DIR": f"/etc/lab/{service}"}
    out = render.render_service(service, tmp_path / service, values)
    files = [p for p in out.rglob("*") if p.is_file()]
    assert files
    for path in files:
        text = path.read_text()
        assert not render.PLACEHOLDER.search(text), f"{path.relative_to(tmp_path)}: {render.PLACEHOLDER.search(text).group(0)}"
        assert not path.name.endswith(render.TEMPLATE_SUFFIX)


def test_rendered_addresses_are_compose_services_on_their_container_ports(services, docker_settings):
    values = render.variables(docker_settings, "docker")
    for service in SERVICES:
        host, port = values[f"ADDR_{service.name.upper()}"].split(":")
        assert host in services and int(port) == service.inner_port
    assert values["LISTEN_HOST"] == "0.0.0.0"


def test_rendered_configs_point_at_the_compose_services(rendered):
    nginx = (rendered / "nginx" / "chirp.conf").read_text()
    assert "server chirp:8000;" in nginx and "listen 80;" in nginx  # app1, app2 and replicas: test_nginx_balances…
    prometheus = yaml.safe_load((rendered / "prometheus" / "prometheus.yml").read_text())
    targets = {t for job in prometheus["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]}
    assert targets == {
        "prometheus:9090", "postgres_exporter:9187", "redis_exporter:9121", "nginx_exporter:9113",
        "app1:8000", "app2:8000", "worker:8001",  # Chirp itself, once Lab 4 gives it metrics
    }
    pgbouncer = (rendered / "pgbouncer" / "pgbouncer.ini").read_text()
    assert "host=postgres port=5432" in pgbouncer and "listen_port = 6432" in pgbouncer
    assert "auth_file = /etc/lab/pgbouncer/userlist.txt" in pgbouncer and (rendered / "pgbouncer" / "userlist.txt").is_file()
    assert "listen_addresses = '0.0.0.0'" in (rendered / "postgres" / "postgresql.conf").read_text()
    datasource = yaml.safe_load((rendered / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text())
    assert datasource["datasources"][0]["url"] == "http://prometheus:9090"
    assert datasource["datasources"][0]["uid"] == "lab-prometheus"


def test_the_render_runs_on_the_standard_library_alone(tmp_path):
    """The config helper is a bare python image: `python -S` leaves out every installed package."""
    env = {"PYTHONPATH": str(REPO), "SCALELAB_REPO": str(REPO), "PYTHONDONTWRITEBYTECODE": "1", "PATH": "/usr/bin:/bin"}
    probe = subprocess.run([sys.executable, "-S", "-c", "import yaml"], env=env, capture_output=True, cwd=tmp_path)
    assert probe.returncode != 0, "python -S still sees installed packages: this test would prove nothing"
    result = subprocess.run(
        [sys.executable, "-S", "-m", "scalelab.stack.render", "docker", str(tmp_path / "etc-lab")],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    for path in ("nginx/chirp.conf", "postgres/postgresql.conf", "pgbouncer/pgbouncer.ini", "prometheus/prometheus.yml"):
        assert (tmp_path / "etc-lab" / path).is_file(), path


# --- 6. Scale-out (Lab 5): `docker compose up --scale app=N`, `--scale locust-worker=N` ----------------


def test_app_replicas_are_app1_s_twin_without_port_or_disk_and_none_by_default(services):
    twin, replica = services["app1"], services["app"]
    for key in ("image", "command", "working_dir", "depends_on", "healthcheck", "networks"):
        assert replica[key] == twin[key], key
    assert {k: v for k, v in replica["environment"].items() if k != "CHIRP_INSTANCE"} == {
        k: v for k, v in twin["environment"].items() if k != "CHIRP_INSTANCE"
    }
    assert replica["profiles"] == ["scale-out"]  # none unless `scalelab up --docker --scale app=N`
    assert replica["volumes"] == [REPO_MOUNT]  # a replica's disk is its own container's: nothing to share


def test_nginx_balances_every_instance_by_one_alias_looked_up_at_each_reload(services, rendered):
    """nginx's upstream is the network alias all instances carry. Debian's nginx (1.22, as natively)
    resolves it when it starts or reloads, so scalelab reloads nginx after `--scale` and after it
    recreates an instance (a new container has a new address): scalelab/stack/docker.py."""
    aliased = {name for name, spec in services.items() if "chirp" in spec.get("networks", {}).get("default", {}).get("aliases", [])}
    assert aliased == {"app1", "app2", "app"} == docker.INSTANCES
    assert services["nginx"]["image"].startswith("scalelab/services:")
    nginx = (rendered / "nginx" / "chirp.conf").read_text()
    upstream = nginx[nginx.index("upstream chirp {"): nginx.index("}", nginx.index("upstream chirp {"))]
    assert "server chirp:8000;" in upstream and "server app1" not in upstream and "resolve" not in upstream


def test_prometheus_finds_the_replicas_by_name_and_labels_them(rendered):
    prometheus = yaml.safe_load((rendered / "prometheus" / "prometheus.yml").read_text())
    chirp = next(job for job in prometheus["scrape_configs"] if job["job_name"] == "chirp")
    assert chirp["dns_sd_configs"] == [{"names": ["app"], "type": "A", "port": 8000}]
    assert chirp["relabel_configs"] == [
        {"source_labels": ["__meta_dns_name"], "regex": "app", "target_label": "service", "replacement": "app"}
    ]


@pytest.mark.parametrize("mode", ["docker", "native"])
def test_prometheus_accepts_the_chirp_job_of_both_modes(mode, lab_settings, docker_settings, tmp_path):
    promtool = shutil.which("promtool")
    assert promtool, "promtool comes with Debian's prometheus package: `scalelab system-packages --for-tests`"
    values = render.variables(docker_settings if mode == "docker" else lab_settings, mode)
    render.render_service("prometheus", tmp_path, {**values, "CONF_DIR": str(tmp_path)})
    result = subprocess.run([promtool, "check", "config", str(tmp_path / "prometheus.yml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_native_mode_keeps_app1_and_app2_at_fixed_addresses(lab_settings):
    values = render.variables(lab_settings, "native")
    assert values["NGINX_UPSTREAM_SERVERS"].split("\n") == [
        f"server {values['ADDR_APP1']};", f"    server {values['ADDR_APP2']};"
    ]
    assert "resolve" not in values["NGINX_RESOLVER"]  # Debian's nginx 1.22 has no upstream `resolve`
    assert values["PROMETHEUS_APP_REPLICAS"] == ""


def test_locust_s_web_ui_is_a_master_whose_workers_scale(services):
    master, worker = services["locust"], services["locust-worker"]
    assert "--master" in master["command"]
    assert worker["command"][-3:] == ["--worker", "--master-host", "locust"]
    assert worker["command"][:3] == master["command"][:3]  # the same locustfile
    assert worker["environment"] == master["environment"] and worker["volumes"] == master["volumes"]
    assert "deploy" not in worker  # one worker by default, so the web UI can start a run at once
    assert depends_on(worker) == {"locust": {"condition": "service_healthy"}}


@pytest.mark.parametrize("text, expected", [("app=4", ("app", 4)), ("locust-worker=0", ("locust-worker", 0))])
def test_scale_takes_service_equals_count(text, expected):
    assert docker.parse_scale(text) == expected


@pytest.mark.parametrize("text", ["web=3", "app", "app=-1", "app=two", "nginx=2"])
def test_scale_refuses_what_compose_cannot_scale_in_one_line(text):
    with pytest.raises(LabError, match=r"^--scale takes SERVICE=N, e.g. --scale app=4; SERVICE is one of app .*locust-worker"):
        docker.parse_scale(text)


def test_scale_out_is_refused_natively_before_anything_starts():
    result = subprocess.run(
        [sys.executable, "-m", "scalelab", "up", "--native", "--scale", "app=2"], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "scalelab: --scale needs Docker mode (`scalelab up --docker --scale app=4`): natively the stack runs app1 and app2"
    )


# --- 7. Compose v2 and v1.29 -------------------------------------------------------------------------

COMPOSE_SPEC_SCHEMA = Path("/usr/lib/python3/dist-packages/compose/config/compose_spec.json")


def test_the_file_is_the_compose_specification_that_v2_reads(compose):
    """Docker Desktop runs Compose v2, CI v1.29 (the docker suite). v2 implements the compose
    specification: the file must validate against its JSON schema (the copy Debian's docker-compose
    ships), and use nothing only v1 knows (`version:`, whose file formats v2 ignores)."""
    import jsonschema

    assert COMPOSE_SPEC_SCHEMA.exists(), "Debian's docker-compose ships the schema: `scalelab system-packages --for-tests`"
    schema = json.loads(COMPOSE_SPEC_SCHEMA.read_text())
    assert schema["title"] == "Compose Specification"
    jsonschema.validate(compose, schema)
    assert "version" not in compose


@pytest.mark.parametrize(
    "rate, burst, expected",
    [
        ("0", "20", {"NGINX_LOGIN_LIMIT_KEY": '""', "NGINX_LOGIN_BURST": " burst=20"}),  # no limit: no request keyed
        ("8", "20", {"NGINX_LOGIN_LIMIT_KEY": '"logins"', "NGINX_LOGIN_RATE": "8", "NGINX_LOGIN_RETRY_AFTER_S": "2"}),
        ("1", "0", {"NGINX_LOGIN_BURST": "", "NGINX_LOGIN_RETRY_AFTER_S": "1"}),  # nginx refuses burst=0
    ],
)
def test_the_login_limit_renders_from_its_settings(rate, burst, expected):
    values = render.variables(
        Settings({**ENV_EXAMPLE, "SCALELAB_NGINX_LOGIN_RATE": rate, "SCALELAB_NGINX_LOGIN_BURST": burst}), "native"
    )
    assert expected.items() <= values.items()


def test_a_login_limit_that_is_not_a_number_names_its_setting():
    with pytest.raises(LabError, match="SCALELAB_NGINX_LOGIN_RATE='eight'"):
        render.variables(Settings({**ENV_EXAMPLE, "SCALELAB_NGINX_LOGIN_RATE": "eight"}), "native")
