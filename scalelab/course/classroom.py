"""The classroom view (opt-in, LAN only, no accounts): an instructor sees a grid of learners x labs.

The instructor runs `scalelab classroom serve`; a learner runs `scalelab classroom join URL`, which
stores the URL and a learner name in .lab/classroom.json. From then on `scalelab check` sends each
result: lab id, passed, time and the learner name, never code, measurements or anything else.
A classroom that does not answer costs a check 2 s at most and never fails it.

The server is the standard library's ThreadingHTTPServer, as the lab's email provider: one static page
and two small JSON routes need no web framework, and the instructor's laptop needs nothing beyond
the course's own venv. The page polls GET /api/grid every 2 s (a few lines of JS): for 30 learners
that is a few kilobytes, and unlike Server-Sent Events it holds no thread per open page.
    GET  /              the page
    GET  /api/grid      {"labs": [{id, alias, title}], "learners": [{name, results: {lab id: {passed, time}}}],
                         "join": the command learners run}
    POST /api/learners  {"learner": name}: a learner joined (the row shows before the first check)
    POST /api/results   {"learner": name, "lab": id, "passed": bool, "time": ISO 8601}
Invalid input is answered 400 with {"error": one line}. The grid (the latest result of each learner
and lab) is kept in memory and in a JSON file, so a restart of the server keeps it.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import sys
import threading
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import requests

from scalelab import paths
from scalelab.course import catalogue, progress
from scalelab.course.catalogue import Lab
from scalelab.errors import LabError

DEFAULT_PORT = 18900
POST_TIMEOUT_S = 2.0
POLL_INTERVAL_MS = 2000
MAX_NAME_LENGTH = 40
MAX_LEARNERS = 200
MAX_BODY_BYTES = 4096
RESULT_FIELDS = ("learner", "lab", "passed", "time")
PAGE = Path(__file__).with_name("classroom.html")


class BadRequest(ValueError):
    """Input the classroom refuses; the message is the one-line error it answers with."""


def checked_name(name) -> str:
    """The learner name, stripped; BadRequest unless it is 1 to MAX_NAME_LENGTH printable characters."""
    stripped = name.strip() if isinstance(name, str) else ""
    if not stripped or len(stripped) > MAX_NAME_LENGTH or not stripped.isprintable():
        raise BadRequest(f"a learner name is 1 to {MAX_NAME_LENGTH} printable characters, not {str(name)[:60]!r}")
    return stripped


# --- The learner's side: join, leave, and send each check result ------------------------------------


def membership_file() -> Path:
    return paths.STATE / "classroom.json"


def membership() -> dict | None:
    """{"url", "name"} of the classroom this learner joined, or None."""
    path = membership_file()
    if not path.exists():
        return None
    try:
        joined = json.loads(path.read_text())
        return {"url": joined["url"], "name": checked_name(joined["name"])}
    except (ValueError, KeyError, TypeError):
        raise LabError(
            f"{path} is not readable: run `scalelab classroom join URL` again, or `scalelab classroom leave`"
        ) from None


def _send(url: str, route: str, body: dict) -> None:
    """POST body as JSON; requests.RequestException when the classroom does not answer, BadRequest when it refuses."""
    response = requests.post(url + route, json=body, timeout=POST_TIMEOUT_S)
    if response.status_code != HTTPStatus.OK:
        try:
            error = response.json()["error"]
        except (ValueError, KeyError, TypeError):
            error = f"HTTP {response.status_code}"
        raise BadRequest(error)


def join(url: str, name: str) -> list[str]:
    """Join the classroom at url as name, and send the latest result of each lab checked so far.
    Returns the ids of the labs sent. The classroom must answer."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path.strip("/") or parts.query:
        raise LabError(
            f"{url!r} is not a classroom address: give it as the instructor's page shows it, "
            f"e.g. http://192.168.1.20:{DEFAULT_PORT}/"
        )
    base = f"{parts.scheme}://{parts.netloc}"
    try:
        name = checked_name(name)
    except BadRequest as exc:
        raise LabError(f"{exc}: choose another with --name") from None
    statuses = progress.summary(catalogue.all_labs(), progress.read())
    checked = [status for status in statuses if status.last_check]
    try:
        _send(base, "/api/learners", {"learner": name})
        for status in checked:
            _send(base, "/api/results", _result(name, status.lab.id, status.passed, status.last_check))
    except requests.RequestException as exc:
        raise LabError(
            f"no classroom answers at {base} ({type(exc).__name__}): check the address, "
            "and that this computer is on the instructor's network"
        ) from None
    except BadRequest as exc:
        raise LabError(f"the classroom at {base} refused: {exc}") from None
    path = membership_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"url": base, "name": name}) + "\n")
    return [status.lab.id for status in checked]


def leave() -> bool:
    """Forget the classroom; False when this learner had joined none."""
    path = membership_file()
    if not path.exists():
        return False
    path.unlink()
    return True


def _result(name: str, lab_id: str, passed: bool, time: str) -> dict:
    # Everything the classroom ever learns about a check: never code, measurements or other data.
    return {"learner": name, "lab": lab_id, "passed": passed, "time": time}


def post_result(lab_id: str, passed: bool, time: str) -> None:
    """Send one check result to the joined classroom, if any. Never raises, and waits POST_TIMEOUT_S at
    most: it sends from a daemon thread, since requests' timeouts do not cover a slow DNS lookup.
    A problem is one line on stderr."""
    try:
        joined = membership()
    except LabError as exc:
        print(f"scalelab: this result was not sent to the classroom: {exc}", file=sys.stderr)
        return
    if joined is None:
        return
    outcome: list[str] = []  # "" once sent, else the problem; empty while no answer has come

    def send() -> None:
        try:
            _send(joined["url"], "/api/results", _result(joined["name"], lab_id, passed, time))
            outcome.append("")
        except requests.RequestException as exc:
            outcome.append(type(exc).__name__)
        except BadRequest as exc:
            outcome.append(str(exc))

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    sender.join(POST_TIMEOUT_S)
    problem = outcome[0] if outcome else f"no answer within {POST_TIMEOUT_S:g} s"
    if problem:
        print(
            f"scalelab: the classroom at {joined['url']} did not take this result ({problem}); it is recorded here "
            "all the same (`scalelab classroom leave` stops sending)",
            file=sys.stderr,
        )


# --- The instructor's side: the grid and its server -------------------------------------------------


class Classroom:
    """learner name -> lab id -> the latest result, in memory and in a JSON file."""

    def __init__(self, labs: list[Lab], store: Path):
        self.labs = labs
        # A result sent under a lab's former id (a learner on an older course) counts for the lab.
        self.lab_by_id = {recorded: lab for lab in labs for recorded in lab.recorded_ids}
        self.store = store
        self.lock = threading.Lock()
        self.learners: dict[str, dict[str, dict]] = self._load()

    def _load(self) -> dict:
        if not self.store.exists():
            return {}
        try:
            learners = json.loads(self.store.read_text())["learners"]
            if not isinstance(learners, dict):
                raise ValueError("learners is not an object")
        except (ValueError, KeyError, TypeError) as exc:
            raise LabError(
                f"{self.store} is not a classroom's results ({exc}): move it away to start with an empty grid"
            ) from None
        return learners

    def _save(self) -> None:
        partial = self.store.with_name(self.store.name + ".partial")
        partial.write_text(json.dumps({"version": 1, "learners": self.learners}, indent=1) + "\n")
        os.replace(partial, self.store)

    def _row(self, name: str) -> dict:
        if name not in self.learners and len(self.learners) >= MAX_LEARNERS:
            raise BadRequest(f"the classroom is full ({MAX_LEARNERS} learners): ask the instructor")
        return self.learners.setdefault(name, {})

    def add_learner(self, payload) -> None:
        name = checked_name(_fields(payload, ("learner",))["learner"])
        with self.lock:
            self._row(name)
            self._save()

    def add_result(self, payload) -> None:
        fields = _fields(payload, RESULT_FIELDS)
        name = checked_name(fields["learner"])
        lab = self.lab_by_id.get(fields["lab"]) if isinstance(fields["lab"], str) else None
        if lab is None:
            choices = ", ".join(lab.id for lab in self.labs)
            raise BadRequest(f"unknown lab {str(fields['lab'])[:60]!r}: send one of {choices}")
        if not isinstance(fields["passed"], bool):
            raise BadRequest("passed must be true or false")
        when = _aware_time(fields["time"])
        with self.lock:
            results = self._row(name)
            latest = results.get(lab.id)
            # Results may arrive out of order (join sends earlier ones): the grid keeps the latest check.
            if latest is None or when >= datetime.fromisoformat(latest["time"]):
                results[lab.id] = {"passed": fields["passed"], "time": when.isoformat(timespec="seconds")}
            self._save()

    def grid(self) -> dict:
        with self.lock:
            rows = sorted(self.learners.items(), key=lambda row: row[0].casefold())
            learners = [{"name": name, "results": dict(results)} for name, results in rows]
        labs = [{"id": lab.id, "alias": lab.alias, "title": lab.title} for lab in self.labs]
        return {"labs": labs, "learners": learners}


def _fields(payload, expected: tuple[str, ...]) -> dict:
    wanted = ", ".join(expected)
    if not isinstance(payload, dict):
        raise BadRequest(f"send a JSON object with {wanted}")
    missing = [key for key in expected if key not in payload]
    unknown = sorted(payload.keys() - set(expected))
    if missing:
        raise BadRequest(f"missing {', '.join(missing)}: send {wanted}")
    if unknown:
        raise BadRequest(f"unknown fields {', '.join(unknown)[:100]}: send only {wanted}")
    return payload


def _aware_time(value) -> datetime:
    try:
        when = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        when = None
    if when is None or when.tzinfo is None:
        example = "2025-01-01T12:00:00+00:00"
        raise BadRequest(f"time must be ISO 8601 with a time zone, e.g. {example}, not {str(value)[:60]!r}")
    return when


def on_lan(address: str) -> bool:
    """Whether a client address is on a local network (private, loopback or link-local)."""
    ip = ipaddress.ip_address(address.split("%")[0])
    return (getattr(ip, "ipv4_mapped", None) or ip).is_private


def _handler(classroom: Classroom) -> type[BaseHTTPRequestHandler]:
    page = PAGE.read_text().replace("POLL_INTERVAL_MS", str(POLL_INTERVAL_MS)).encode()
    routes = {"/api/learners": classroom.add_learner, "/api/results": classroom.add_result}

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, data: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def _json(self, status: int, body: dict) -> None:
            self._send(status, json.dumps(body).encode(), "application/json")

        def _from_lan(self) -> bool:
            if on_lan(self.client_address[0]):
                return True
            self._json(HTTPStatus.FORBIDDEN, {"error": "this classroom answers only on the local network"})
            return False

        def do_GET(self):
            if not self._from_lan():
                return
            if self.path == "/":
                self._send(HTTPStatus.OK, page, "text/html; charset=utf-8")
            elif self.path == "/api/grid":
                self._json(HTTPStatus.OK, {**classroom.grid(), "join": self.server.join_command})
            else:
                self._json(HTTPStatus.NOT_FOUND, {"error": f"no page {self.path[:60]}: open /"})

        def do_POST(self):
            if not self._from_lan():
                return
            if self.path not in routes:
                return self._json(HTTPStatus.NOT_FOUND, {"error": f"no route {self.path[:60]}: post to /api/results"})
            try:
                routes[self.path](self._payload())
            except BadRequest as exc:
                return self._json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
            self._json(HTTPStatus.OK, {"ok": True})

        def _payload(self):
            length = self.headers.get("Content-Length", "")
            if not length.isdigit() or not 0 < int(length) <= MAX_BODY_BYTES:
                raise BadRequest(f"send a JSON body of 1 to {MAX_BODY_BYTES} bytes, with its Content-Length")
            try:
                return json.loads(self.rfile.read(int(length)))
            except ValueError:  # UnicodeDecodeError is one too
                raise BadRequest("the body is not JSON: send a JSON object") from None

        def log_message(self, format, *args):  # noqa: A002 - the base class's name
            pass  # 30 pages polling every 2 s would drown the terminal the join command is shown in

    return Handler


def lan_address() -> str:
    """This computer's address on the LAN: the one its default route would use (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1; connect() on UDP only chooses a route
            return probe.getsockname()[0]
        except OSError:
            return "127.0.0.1"


def store_file() -> Path:
    return paths.STATE / "classroom-results.json"


class ClassroomServer(ThreadingHTTPServer):
    def __init__(self, labs: list[Lab], store: Path, host: str, port: int):
        super().__init__((host, port), _handler(Classroom(labs, store)))
        shown_host = lan_address() if host in ("0.0.0.0", "") else host
        # What learners join: the address others on the LAN reach, not 0.0.0.0.
        self.url = f"http://{shown_host}:{self.server_address[1]}/"
        self.join_command = f".venv/bin/scalelab classroom join {self.url} --name NAME"


def make_server(labs: list[Lab], store: Path, host: str = "0.0.0.0", port: int = DEFAULT_PORT) -> ClassroomServer:
    """The classroom's server, bound (port 0 picks a free port) but not serving yet."""
    store.parent.mkdir(parents=True, exist_ok=True)
    try:
        return ClassroomServer(labs, store, host, port)
    except OSError as exc:
        raise LabError(f"cannot listen on {host}:{port} ({exc.strerror}): choose another port with --port") from None
