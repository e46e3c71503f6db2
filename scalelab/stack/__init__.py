"""The stack: the lab's services (PostgreSQL, PgBouncer, Redis, nginx, app1 and app2, the Celery worker,
Prometheus...), started, stopped, watched and poked. Two backends run it: `stack.native` (private
processes from Debian's packages, under `.lab/`) and `stack.docker` (docker-compose.yml).

Everything outside this package talks to the running stack through one `Stack`, from `current()`, and
never looks past it: no pid, no log path and no mode file outside this package. `stack.settings`
(read from .env) says where each service listens; `stack.machines` sizes the stack for the machine.

    stack = current(settings)        # the backend that runs the stack now (native if none is up)
    stack.restart(["app1"], env={"WEB_CONCURRENCY": "1"})
    stack.kill("redis")              # down until restarted (the drill's outages)
"""

from __future__ import annotations

import signal
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, BinaryIO, ClassVar

from scalelab.errors import LabError, StackNotRunning
from scalelab.paths import STATE, TRACES
from scalelab.stack.settings import Settings
from scalelab.stack.settings import load as load_settings

if TYPE_CHECKING:  # the stack's config renderer runs on the standard library alone (docker-compose.yml)
    import psutil

Say = Callable[[str], None]
MODES = ("native", "docker")
# Which backend runs the stack: written by `up`, removed by `down`.
MODE_FILE = STATE / "mode"


class Stack(ABC):
    """The running stack, as the CLI, the labs, the checks, the drill and the kit use it."""

    mode: ClassVar[str]

    def __init__(self, settings: Settings):
        self.settings = settings

    def url(self, service: str) -> str:
        """Where a service answers HTTP from this machine, e.g. http://127.0.0.1:18081 for app1."""
        return f"http://{self.settings.address(service)}"

    @abstractmethod
    def up(self, say: Say, scale: dict[str, int] | None = None) -> None:
        """Start every service that is not running, each healthy before what needs it starts.
        scale: how many of a scalable service to run (Docker mode, `--scale app=4`)."""

    @abstractmethod
    def down(self, say: Say) -> None:
        """Stop every service."""

    @abstractmethod
    def status(self) -> dict[str, dict]:
        """Per service: {"port", "pid" (None where the backend has none), "healthy"}."""

    @abstractmethod
    def running(self, service: str) -> bool:
        """Is the service's process (or container) up? Healthy or not."""

    @abstractmethod
    def require(self, services: Iterable[str], purpose: str) -> None:
        """Raise StackNotRunning (one line: `purpose`, and the fix) unless these services run and this
        backend can restart and kill them."""

    @abstractmethod
    def restart(self, services: list[str], *, env: dict[str, str] | None = None, stop_signal: int | None = None) -> None:
        """Stop the services and start them again, healthy, in dependency order.

        env: SCALELAB_* settings and environment variables the services get on top of their usual
        ones, until the next restart without them (an experiment). stop_signal=signal.SIGKILL
        makes the stop a crash."""

    @abstractmethod
    def kill(self, service: str, stop_signal: int = signal.SIGTERM) -> bool:
        """Stop one service with this signal; it stays down until restarted. True if it was running."""

    @abstractmethod
    def logs(self, service: str) -> BinaryIO:
        """The service's log, as a seekable binary file (the caller closes it)."""

    @abstractmethod
    def tail(self, service: str, lines: int, follow: bool) -> int:
        """Show the end of a service's log in the terminal; returns an exit code."""

    def span_lines(self) -> Iterator[str]:
        """The spans the traced processes exported (Lab 4), one JSON object per line. Both modes write
        them under .lab/traces (Docker mode's containers mount the repo)."""
        for path in sorted(TRACES.glob("*.jsonl")):
            with open(path, encoding="utf-8", errors="replace") as file:
                yield from file

    @abstractmethod
    def processes(self, service: str) -> list[psutil.Process]:
        """The service's processes (a gunicorn master and its workers...), for CPU accounting; [] if down."""


def running_mode() -> str | None:
    """The mode `up` recorded, or None when the stack was never started (or was stopped)."""
    return MODE_FILE.read_text().strip() if MODE_FILE.exists() else None


def backend(mode: str, settings: Settings) -> Stack:
    if mode == "docker":
        from scalelab.stack.docker import DockerStack

        return DockerStack(settings)
    from scalelab.stack.native import NativeStack

    return NativeStack(settings)


def current(settings: Settings | None = None) -> Stack:
    """The stack as it runs now: the backend `up` chose, native when none did."""
    return backend(running_mode() or "native", settings or load_settings())


def up(mode: str | None, settings: Settings, say: Say, scale: Iterable[str] = ()) -> Stack:
    """Start the stack in `mode` (None: the running one, else Docker when an engine answers, else native).
    scale: `--scale` texts such as "app=4" (Docker mode)."""
    from scalelab.stack import docker

    scale = dict(docker.parse_scale(text) for text in scale)
    current_mode = running_mode()
    if current_mode and mode and current_mode != mode:
        raise LabError(f"the stack is already up in {current_mode} mode: run `scalelab down` first")
    mode = mode or current_mode or ("docker" if docker.engine_available() else "native")
    if scale and mode != "docker":
        raise LabError("--scale needs Docker mode (`scalelab up --docker --scale app=4`): natively the stack runs app1 and app2")
    say(f"starting the lab stack ({mode} mode)…")
    STATE.mkdir(parents=True, exist_ok=True)
    MODE_FILE.write_text(mode + "\n")
    stack = backend(mode, settings)
    stack.up(say, scale)
    return stack


def down(settings: Settings, say: Say) -> None:
    current(settings).down(say)
    MODE_FILE.unlink(missing_ok=True)


def ensure_system_packages(for_tests: bool = False) -> None:
    """Install the Debian packages native mode needs (apt-get as root, else say the command to run)."""
    from scalelab.stack.native import packages

    packages.ensure(for_tests=for_tests)


def describe_unavailable(services: list[str], purpose: str, mode: str = "native") -> StackNotRunning:
    names = services[0] if len(services) == 1 else f"{', '.join(services[:-1])} and {services[-1]}"
    return StackNotRunning(f"{purpose}, which needs {names} running: run `scalelab up --{mode}`")
