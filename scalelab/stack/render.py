"""Render the config files in `infra/<service>/` for one mode (native or docker).

Both modes read the same files. A file named `*.template` has its `${NAME}` placeholders filled in
and loses the suffix; other files are copied as they are. Only `${UPPER_CASE}` names are placeholders,
so nginx's own `$host` and friends pass through untouched (the same rule as envsubst with a list).
This module uses the standard library only: under Docker a one-shot container runs it
(`python -m scalelab.stack.render docker OUT`) before the services that read its output.
"""

from __future__ import annotations

import argparse
import re
import shutil
from pathlib import Path

from scalelab.errors import LabError
from scalelab.paths import INFRA
from scalelab.stack.services import SERVICES
from scalelab.stack.settings import Settings, load

PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")
TEMPLATE_SUFFIX = ".template"


# SCALELAB_NGINX_BALANCE -> the directive in nginx's upstream block. ip_hash is the sticky-sessions
# experiment of Lab 2: it sends each client address to one instance.
BALANCING = {"round-robin": "# round-robin: nginx's default, one request at a time", "ip_hash": "ip_hash;"}


def variables(settings: Settings, mode: str) -> dict[str, str]:
    """Every SCALELAB_* setting, plus where each service listens (PORT_X) and is reached (ADDR_X)."""
    values = dict(settings.values)
    for service in SERVICES:
        key = service.name.upper()
        if mode == "native":
            port = str(settings.port(service.port_key))
            values[f"HOST_{key}"] = "127.0.0.1"
        else:
            port = str(service.inner_port)
            values[f"HOST_{key}"] = service.name
        values[f"PORT_{key}"] = port
        values[f"ADDR_{key}"] = f"{values[f'HOST_{key}']}:{port}"
    values["LISTEN_HOST"] = "127.0.0.1" if mode == "native" else "0.0.0.0"
    balance = settings.values.get("SCALELAB_NGINX_BALANCE", "round-robin")
    if balance not in BALANCING:
        raise LabError(f"SCALELAB_NGINX_BALANCE={balance!r} is not a balancing nginx knows here: set {' or '.join(BALANCING)} in .env")
    values["NGINX_BALANCING"] = BALANCING[balance]
    values.update(_login_limit(settings))
    values.update(DOCKER_INSTANCES if mode == "docker" else _native_instances(values))
    return values


def _login_limit(settings: Settings) -> dict[str, str]:
    """nginx's limit on the requests that hash a password (infra/nginx/chirp.conf.template)."""
    numbers = {}
    for name, default in (("SCALELAB_NGINX_LOGIN_RATE", "0"), ("SCALELAB_NGINX_LOGIN_BURST", "20")):
        value = settings.values.get(name) or default
        if not value.isdigit():
            raise LabError(f"{name}={value!r} is not a whole number of requests: set it to 0 or more in .env")
        numbers[name] = int(value)
    rate, burst = numbers["SCALELAB_NGINX_LOGIN_RATE"], numbers["SCALELAB_NGINX_LOGIN_BURST"]
    return {
        "NGINX_LOGIN_LIMIT_KEY": '"logins"' if rate else '""',
        "NGINX_LOGIN_RATE": str(rate or 1),  # nginx wants a rate even for a zone no request uses
        "NGINX_LOGIN_BURST": f" burst={burst}" if burst else "",  # nginx refuses burst=0
        # About the time the queue takes to drain: sooner, and the client only meets the limit again.
        "NGINX_LOGIN_RETRY_AFTER_S": str(max(1, round(burst / rate)) if rate else 1),
    }


# Under Docker, Chirp's instances are app1, app2 and the replicas of `scalelab up --docker --scale app=N`
# (docker-compose.yml): every one carries the network alias `chirp`. nginx (Debian's 1.22, as natively:
# no upstream `resolve`) looks the alias up when it starts or reloads, so `up --scale` reloads it;
# Prometheus finds the replicas by their service name `app`. Natively there are exactly app1 and app2.
DOCKER_INSTANCES = {
    "NGINX_RESOLVER": "# Docker: `chirp` is every instance's alias, resolved when nginx starts or reloads",
    "NGINX_UPSTREAM_SERVERS": "server chirp:8000;",
    "PROMETHEUS_APP_REPLICAS": (
        "\n    # The replicas of `scalelab up --docker --scale app=N`, labelled service=app. With none running"
        "\n    # (the default), Prometheus logs that `app` does not resolve."
        "\n    dns_sd_configs:"
        "\n      - names: [app]"
        "\n        type: A"
        "\n        port: 8000"
        "\n    relabel_configs:"
        "\n      - source_labels: [__meta_dns_name]"
        "\n        regex: app"
        "\n        target_label: service"
        "\n        replacement: app"
    ),
}


def _native_instances(values: dict[str, str]) -> dict[str, str]:
    return {
        "NGINX_RESOLVER": "# native mode: app1 and app2, at fixed addresses",
        "NGINX_UPSTREAM_SERVERS": f"server {values['ADDR_APP1']};\n    server {values['ADDR_APP2']};",
        "PROMETHEUS_APP_REPLICAS": "",
    }


def render_text(text: str, values: dict[str, str], source: str = "template") -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise KeyError(f"{source}: no value for ${{{name}}}")
        return values[name]

    return PLACEHOLDER.sub(fill, text)


def render_service(service: str, out_dir: Path, values: dict[str, str]) -> Path:
    """Render infra/<service>/ into out_dir (created). CONF_DIR is where the files end up."""
    source_dir = INFRA / service
    out_dir.mkdir(parents=True, exist_ok=True)
    for source in sorted(p for p in source_dir.rglob("*") if p.is_file()):
        relative = source.relative_to(source_dir)
        if source.name.endswith(TEMPLATE_SUFFIX):
            target = out_dir / str(relative)[: -len(TEMPLATE_SUFFIX)]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(render_text(source.read_text(), values, str(source)))
        else:
            target = out_dir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        target.chmod(0o644)
    return out_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["native", "docker"])
    parser.add_argument("out", type=Path, help="one sub-folder per service is written here")
    args = parser.parse_args(argv)
    values = variables(load(), args.mode)
    for service_dir in sorted(p for p in INFRA.iterdir() if p.is_dir()):
        conf_dir = f"/etc/lab/{service_dir.name}" if args.mode == "docker" else str(args.out / service_dir.name)
        render_service(service_dir.name, args.out / service_dir.name, {**values, "CONF_DIR": conf_dir})
        print(f"rendered infra/{service_dir.name} -> {args.out / service_dir.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
