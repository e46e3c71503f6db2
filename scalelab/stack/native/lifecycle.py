"""Bring the native stack up and down, restart its services, and report on them (for NativeStack)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from scalelab.errors import LabError
from scalelab.paths import log_file
from scalelab.stack import health
from scalelab.stack.native import bootstrap, process
from scalelab.stack.native.account import Account, current_account, service_account
from scalelab.stack.native.commands import LAUNCHERS, STOP_SIGNALS
from scalelab.stack.services import BY_NAME, Service, native_services, start_waves
from scalelab.stack.settings import Settings

# Seconds to wait for a service to answer its health check after it starts. JupyterLab is slow to
# import on a 2-core laptop; everything else answers in one or two seconds.
START_TIMEOUT_S = {"jupyterlab": 90.0, "postgres": 60.0}
DEFAULT_START_TIMEOUT_S = 45.0

# Run once the services of a wave are healthy, before the next wave starts.
AFTER_START: dict[str, Callable[[Settings], None]] = {
    "postgres": lambda settings: (bootstrap.ensure_database(settings), bootstrap.seed(settings)),
}


def log_tail(service: str, lines: int = 8) -> str:
    path = log_file(service)
    if not path.exists():
        return f"(no log at {path})"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def ports_of(service: Service, settings: Settings) -> dict[str, int]:
    """The .env key -> port pairs a service listens on."""
    ports = {f"SCALELAB_{service.port_key}_PORT": settings.port(service.port_key)}
    if service.name == "smtp":
        ports["SCALELAB_SMTP_API_PORT"] = settings.port("SMTP_API")
    return ports


def _check_ports_free(services: list[Service], settings: Settings) -> None:
    for service in services:
        for key, port in ports_of(service, settings).items():
            if health.port_in_use(port):
                raise LabError(
                    f"port {port} for {service.name} is already in use by another program: "
                    f"set another {key} in .env, or stop that program (`ss -ltnp 'sport = :{port}'` shows it)"
                )


def _wait_healthy(service: Service, settings: Settings, pid: int) -> float:
    started = time.monotonic()
    deadline = started + START_TIMEOUT_S.get(service.name, DEFAULT_START_TIMEOUT_S)
    detail = ""
    while time.monotonic() < deadline:
        ok, detail = health.check(service, settings)
        if ok:
            return time.monotonic() - started
        if process.running_pid(service.name) != pid:
            raise LabError(
                f"{service.name} exited while starting; its log ({log_file(service.name)}) ends with:\n"
                + log_tail(service.name)
            )
        time.sleep(0.2)
    raise LabError(
        f"{service.name} did not become healthy in {deadline - started:.0f} s ({detail}); "
        f"its log ({log_file(service.name)}) ends with:\n" + log_tail(service.name)
    )


def start(service: Service, settings: Settings, account: Account, extra_env: dict[str, str] | None = None) -> int:
    """Spawn one service (not waiting for it). extra_env overrides its environment, for experiments."""
    launch = LAUNCHERS[service.name](settings, account)
    env = {**os.environ, **launch.env, **(extra_env or {})}
    if launch.as_service_account and not account.is_current:
        env["HOME"] = str(launch.cwd)
    return process.spawn(
        service.name,
        launch.argv,
        env=env,
        cwd=launch.cwd,
        account=account if launch.as_service_account else current_account(),
    )


def restart(
    names: list[str], settings: Settings, extra_env: dict[str, str] | None = None, stop_signal: int | None = None
) -> None:
    """Stop these services and start them again (with extra environment, if given), healthy.

    stop_signal=signal.SIGKILL makes the stop a crash (no clean shutdown), for experiments."""
    account = service_account()
    # Side by side: each stop waits for its process to finish its requests and exit.
    with ThreadPoolExecutor(max_workers=len(names) or 1) as pool:
        list(pool.map(lambda name: process.stop(name, stop_signal or STOP_SIGNALS.get(name, signal.SIGTERM)), names))
    # In dependency order, whatever the caller's: nginx started before its apps would never be healthy.
    # A wave starts at once, as in up(): app1 and app2 import the app side by side.
    for wave in start_waves([BY_NAME[name] for name in names]):
        pids = [(service, start(service, settings, account, extra_env)) for service in wave]
        for service, pid in pids:
            _wait_healthy(service, settings, pid)


def up(settings: Settings, say: Callable[[str], None] = print) -> None:
    services = native_services()
    for service in services:
        if process.clear_stale(service.name):
            say(f"  {service.name}: removed a stale pid file left by a crash")
    not_running = [s for s in services if process.running_pid(s.name) is None]
    _check_ports_free(not_running, settings)
    account = service_account()
    total, done = len(services), 0
    for wave in start_waves(services):
        started = {
            service.name: start(service, settings, account)
            for service in wave
            if process.running_pid(service.name) is None
        }
        for service in wave:
            done += 1
            port = settings.port(service.port_key)
            if service.name in started:
                seconds = _wait_healthy(service, settings, started[service.name])
                say(f"[{done:2}/{total}] {service.name:<18} started, healthy in {seconds:4.1f} s  (port {port})")
            else:
                ok, detail = health.check(service, settings)
                state = "already running" if ok else f"running but NOT healthy ({detail}): see {log_file(service.name)}"
                say(f"[{done:2}/{total}] {service.name:<18} {state}  (port {port})")
        for service in wave:
            if service.name in AFTER_START:
                AFTER_START[service.name](settings)


def down(settings: Settings, say: Callable[[str], None] = print) -> None:
    stopped = 0
    for wave in reversed(start_waves(native_services())):
        for service in wave:
            if process.stop(service.name, STOP_SIGNALS.get(service.name, signal.SIGTERM)):
                stopped += 1
                say(f"  stopped {service.name}")
    if not stopped:
        say("nothing was running")


def status(settings: Settings) -> dict[str, dict]:
    report = {}
    for service in native_services():
        pid = process.running_pid(service.name)
        healthy = pid is not None and health.check(service, settings)[0]
        report[service.name] = {"port": settings.port(service.port_key), "pid": pid, "healthy": healthy}
    return report
