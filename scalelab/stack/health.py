"""Probe a service from outside, over its own protocol, as an operator would."""

from __future__ import annotations

import smtplib
import socket

import psycopg2
import redis
import requests

from scalelab.stack.services import Service
from scalelab.stack.settings import Settings

TIMEOUT_S = 2.0


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def check(service: Service, settings: Settings) -> tuple[bool, str]:
    """(healthy, detail). Never raises: a failed probe is the answer, not an error."""
    port = settings.port(service.port_key)
    try:
        kind = service.health
        if kind == "postgres":
            _sql(settings.postgres_url("postgres"))
        elif kind == "pgbouncer":
            _sql(settings.postgres_url("chirp", user="chirp", via_pgbouncer=True))
        elif kind == "redis":
            redis.Redis(port=port, socket_timeout=TIMEOUT_S).ping()
        elif kind == "smtp":
            with smtplib.SMTP("127.0.0.1", port, timeout=TIMEOUT_S) as smtp:
                smtp.noop()
        elif kind.startswith("http:"):
            response = requests.get(f"http://127.0.0.1:{port}{kind[5:]}", timeout=TIMEOUT_S)
            if response.status_code >= 400:
                return False, f"HTTP {response.status_code}"
        else:
            raise ValueError(f"unknown health check {kind!r} for {service.name}")
    except (OSError, psycopg2.Error, redis.RedisError, smtplib.SMTPException, requests.RequestException) as exc:
        return False, f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    return True, "ok"


def _sql(url: str) -> None:
    conn = psycopg2.connect(url, connect_timeout=int(TIMEOUT_S))
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
    finally:
        conn.close()
