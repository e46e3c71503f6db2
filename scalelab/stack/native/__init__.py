"""Native mode: the lab stack from system packages, as private processes under `.lab/`, no Docker.

`NativeStack` is the stack interface (scalelab/stack/__init__.py) over the modules here: `lifecycle` starts
and stops services in dependency order, `process` keeps one pid file per service, `commands` says how
each service is launched.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterable
from typing import BinaryIO

import psutil

from scalelab.errors import LabError
from scalelab.paths import log_file
from scalelab.stack import Say, Stack, describe_unavailable
from scalelab.stack.native import lifecycle, packages, process
from scalelab.stack.settings import Settings


class NativeStack(Stack):
    mode = "native"

    def up(self, say: Say, scale: dict[str, int] | None = None) -> None:
        packages.ensure()
        lifecycle.up(self.settings, say)

    def down(self, say: Say) -> None:
        lifecycle.down(self.settings, say)

    def status(self) -> dict[str, dict]:
        return lifecycle.status(self.settings)

    def running(self, service: str) -> bool:
        return process.running_pid(service) is not None

    def require(self, services: Iterable[str], purpose: str) -> None:
        stopped = [name for name in services if not self.running(name)]
        if stopped:
            raise describe_unavailable(stopped, purpose)

    def restart(self, services: list[str], *, env: dict[str, str] | None = None, stop_signal: int | None = None) -> None:
        # The SCALELAB_* part of env changes how a service is configured (nginx's balancing, say);
        # all of it goes into the services' environment.
        settings = Settings({**self.settings.values, **env}) if env else self.settings
        lifecycle.restart(services, settings, extra_env=env, stop_signal=stop_signal)

    def kill(self, service: str, stop_signal: int = signal.SIGTERM) -> bool:
        return process.stop(service, stop_signal)

    def logs(self, service: str) -> BinaryIO:
        path = log_file(service)
        if not path.exists():
            raise LabError(f"no log for {service} yet ({path}): start the stack with `make up`")
        return open(path, "rb")

    def tail(self, service: str, lines: int, follow: bool) -> int:
        path = log_file(service)
        if not path.exists():
            raise LabError(f"no log for {service} yet ({path}): start the stack with `make up`")
        return subprocess.call(["tail", "-n", str(lines), *(["-F"] if follow else []), str(path)])

    def processes(self, service: str) -> list[psutil.Process]:
        pid = process.running_pid(service)
        if pid is None:
            return []
        try:
            root = psutil.Process(pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []
