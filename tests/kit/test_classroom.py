"""The classroom view: its server's API, and the learner's side (join, leave, and what a check sends).

The server runs in a thread on a free port with its results in a temporary file, and knows the real
catalogue's labs. The learner's .lab/ is a temporary folder, so nothing here touches this checkout's
own progress or classroom. Nothing needs the stack: `scalelab check`'s sending is exercised through
runner.record, which every check ends with.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import socket
import threading
import time
from pathlib import Path

import pytest
import requests

from scalelab import paths
from scalelab.course import catalogue, classroom
from scalelab.course.checks import CheckResult, runner
from scalelab.errors import LabError

LABS = catalogue.all_labs()
INTRO, POOL = LABS[:2]
EARLY, LATE = "2025-03-01T09:00:00+00:00", "2025-03-01T10:00:00+00:00"


def start(labs: list[catalogue.Lab], store: Path) -> classroom.ClassroomServer:
    server = classroom.make_server(labs, store, "127.0.0.1", 0)
    # A short poll interval, so that shutdown() at the end of each test takes no half second.
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    return server


@pytest.fixture
def store(tmp_path) -> Path:
    return tmp_path / "instructor" / "classroom-results.json"


@pytest.fixture
def server(store):
    running = start(LABS, store)
    yield running
    running.shutdown()
    running.server_close()


def post(server, route: str, body) -> requests.Response:
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return requests.post(f"{server.url.rstrip('/')}{route}", data=data, timeout=5)


def grid(server) -> dict:
    return requests.get(f"{server.url}api/grid", timeout=5).json()


def results_of(server, name: str) -> dict:
    (learner,) = [learner for learner in grid(server)["learners"] if learner["name"] == name]
    return learner["results"]


def result(learner="Ada", lab=INTRO.id, passed=True, when=LATE) -> dict:
    return {"learner": learner, "lab": lab, "passed": passed, "time": when}


# --- The server's API ---------------------------------------------------------------------------------


def test_the_page_polls_the_grid_which_lists_the_catalogue(server):
    page = requests.get(server.url, timeout=5)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert 'fetch("/api/grid"' in page.text and f"setInterval(refresh, {classroom.POLL_INTERVAL_MS})" in page.text
    shown = grid(server)
    assert [lab["id"] for lab in shown["labs"]] == [lab.id for lab in LABS]
    assert shown["learners"] == []
    assert shown["join"] == f".venv/bin/scalelab classroom join {server.url} --name NAME"


def test_a_learner_who_joins_has_a_row_before_any_check(server):
    assert post(server, "/api/learners", {"learner": "  Grace  "}).json() == {"ok": True}
    assert grid(server)["learners"] == [{"name": "Grace", "results": {}}]


def test_a_result_shows_and_the_latest_check_wins(server):
    assert post(server, "/api/results", result(passed=False, when=EARLY)).status_code == 200
    assert post(server, "/api/results", result(passed=True, when=LATE)).status_code == 200
    # An older result arriving later (join sends earlier checks) does not replace a newer one.
    assert post(server, "/api/results", result(passed=False, when=EARLY)).status_code == 200
    assert results_of(server, "Ada") == {INTRO.id: {"passed": True, "time": LATE}}


def test_a_result_under_a_former_id_counts_for_the_renamed_lab(store):
    renamed = dataclasses.replace(POOL, id="01-pools", formerly=(POOL.id,))
    server = start([INTRO, renamed], store)
    try:
        assert post(server, "/api/results", result(lab=POOL.id)).status_code == 200
        assert results_of(server, "Ada") == {"01-pools": {"passed": True, "time": LATE}}
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (result(lab="09-nope"), "unknown lab '09-nope': send one of 00-meet-chirp, "),
        (result(lab=7), "unknown lab '7'"),
        (result(learner="x" * (classroom.MAX_NAME_LENGTH + 1)), f"is 1 to {classroom.MAX_NAME_LENGTH} printable"),
        (result(learner="   "), "a learner name is 1 to"),
        (result(learner="Ada\nBob"), "printable characters"),
        (result(learner=None), "a learner name is 1 to"),
        ({**result(), "measurements": {"p95_ms": 300}}, "unknown fields measurements: send only learner, lab, passed, time"),
        ({key: value for key, value in result().items() if key != "time"}, "missing time: send learner, lab, passed, time"),
        (result(passed="yes"), "passed must be true or false"),
        (result(when="2025-03-01T10:00:00"), "time must be ISO 8601 with a time zone"),
        (result(when="yesterday"), "time must be ISO 8601"),
        ([result()], "send a JSON object with learner, lab, passed, time"),
        ("{not json", "the body is not JSON"),
        (b"\xff\xfe", "the body is not JSON"),
        ("", "send a JSON body of 1 to"),
        (b"{}", "missing learner, lab, passed, time: send learner, lab, passed, time"),
        (json.dumps({**result(), "code": "x" * classroom.MAX_BODY_BYTES}), "send a JSON body of 1 to"),
    ],
)
def test_invalid_input_is_answered_400_in_one_line(server, body, expected):
    response = post(server, "/api/results", body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert expected in error and "\n" not in error, error
    assert grid(server)["learners"] == []  # nothing was kept


def test_a_content_length_that_is_not_a_number_is_400(server):
    connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=5)
    connection.putrequest("POST", "/api/results")
    connection.putheader("Content-Length", "lots")
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == 400 and "with its Content-Length" in json.loads(response.read())["error"]
    connection.close()


def test_an_unknown_route_is_404(server):
    assert post(server, "/api/code", result()).status_code == 404
    assert requests.get(f"{server.url}admin", timeout=5).status_code == 404


def test_the_classroom_holds_a_bounded_number_of_learners(server, monkeypatch):
    monkeypatch.setattr(classroom, "MAX_LEARNERS", 2)
    for name in ("Ada", "Grace"):
        assert post(server, "/api/learners", {"learner": name}).status_code == 200
    full = post(server, "/api/results", result(learner="Linus"))
    assert full.status_code == 400 and "the classroom is full (2 learners)" in full.json()["error"]
    assert post(server, "/api/results", result(learner="Ada")).status_code == 200  # known learners still report


def test_a_restart_keeps_the_grid(server, store):
    post(server, "/api/results", result())
    server.shutdown()
    server.server_close()
    again = start(LABS, store)
    try:
        assert results_of(again, "Ada") == {INTRO.id: {"passed": True, "time": LATE}}
    finally:
        again.shutdown()
        again.server_close()


def test_an_unreadable_results_file_is_one_line(store):
    store.parent.mkdir(parents=True)
    store.write_text("{not json")
    with pytest.raises(LabError, match="is not a classroom's results .*: move it away") as raised:
        classroom.make_server(LABS, store, "127.0.0.1", 0)
    assert "\n" not in str(raised.value)


def test_a_port_in_use_is_one_line(server, store):
    with pytest.raises(LabError, match=r"cannot listen on 127.0.0.1:\d+ .*: choose another port with --port"):
        classroom.make_server(LABS, store, "127.0.0.1", server.server_address[1])


@pytest.mark.parametrize(
    ("address", "local"),
    [
        ("127.0.0.1", True),
        ("10.1.2.3", True),
        ("172.20.0.9", True),
        ("192.168.1.20", True),
        ("::1", True),
        ("fe80::1%eth0", True),
        ("::ffff:192.168.1.20", True),
        ("8.8.8.8", False),
        ("2001:4860:4860::8888", False),
        ("::ffff:8.8.8.8", False),
    ],
)
def test_only_the_local_network_is_answered(address, local):
    assert classroom.on_lan(address) is local


# --- The learner's side ---------------------------------------------------------------------------


@pytest.fixture
def learner_state(tmp_path, monkeypatch) -> Path:
    """The learner's .lab/: membership and progress live there."""
    state = tmp_path / "learner"
    monkeypatch.setattr(paths, "STATE", state)
    return state


def test_join_stores_the_classroom_and_sends_the_latest_earlier_checks(server, learner_state):
    progress = {INTRO.id: [{"passed": False, "time": EARLY}, {"passed": True, "time": LATE}]}
    learner_state.mkdir()
    (learner_state / "progress.json").write_text(json.dumps({"version": 1, "labs": progress}))
    assert classroom.join(server.url, " Ada ") == [INTRO.id]
    assert json.loads((learner_state / "classroom.json").read_text()) == {"url": server.url.rstrip("/"), "name": "Ada"}
    assert results_of(server, "Ada") == {INTRO.id: {"passed": True, "time": LATE}}


def test_a_check_sends_only_lab_verdict_time_and_name(server, store, learner_state):
    classroom.join(server.url, "Ada")
    runner.record(POOL, CheckResult(False, {"feed_p95_ms": 4321, "statuses": {"503": 7}}, ["too slow"]))
    (sent,) = results_of(server, "Ada").values()
    assert sent["passed"] is False and sent.keys() == {"passed", "time"}
    assert "4321" not in store.read_text() and "too slow" not in store.read_text()


def test_without_a_classroom_a_check_sends_nothing(learner_state, capsys):
    classroom.post_result(INTRO.id, True, LATE)
    assert capsys.readouterr().err == ""


def unanswered_address() -> tuple[socket.socket, str]:
    """A port that accepts connections (the kernel's backlog) but never answers."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    return silent, f"http://127.0.0.1:{silent.getsockname()[1]}"


def joined(state: Path, url: str) -> None:
    state.mkdir(parents=True, exist_ok=True)
    (state / "classroom.json").write_text(json.dumps({"url": url, "name": "Ada"}))


@pytest.mark.parametrize("hang", ["silent port", "request stuck longer than its timeouts"])
def test_a_classroom_that_does_not_answer_costs_a_check_2_s_at_most(learner_state, capsys, monkeypatch, hang):
    silent, url = unanswered_address()
    joined(learner_state, url)
    if hang != "silent port":  # e.g. a DNS lookup, which requests' timeouts do not cover
        monkeypatch.setattr(classroom, "_send", lambda *args: time.sleep(30))
    started = time.monotonic()
    with silent:
        classroom.post_result(INTRO.id, True, LATE)
    assert time.monotonic() - started < classroom.POST_TIMEOUT_S + 0.5
    error = capsys.readouterr().err
    assert error.startswith(f"scalelab: the classroom at {url} did not take this result (") and error.count("\n") == 1
    assert "recorded here all the same" in error


def test_a_refused_result_is_one_line_naming_why(server, learner_state, capsys):
    joined(learner_state, server.url.rstrip("/"))
    classroom.post_result("09-from-a-newer-course", True, LATE)
    error = capsys.readouterr().err
    assert "did not take this result (unknown lab '09-from-a-newer-course': send one of" in error
    assert error.count("\n") == 1


def test_join_where_no_classroom_answers_is_one_line_and_stores_nothing(learner_state, free_port):
    unused = free_port()
    with pytest.raises(LabError, match=r"no classroom answers at http://127.0.0.1:\d+ \(ConnectionError\): check"):
        classroom.join(f"http://127.0.0.1:{unused}/", "Ada")
    assert not (learner_state / "classroom.json").exists()


@pytest.mark.parametrize(
    ("url", "name", "expected"),
    [
        ("192.168.1.20:18900", "Ada", "is not a classroom address: give it as the instructor's page shows it"),
        ("http://192.168.1.20:18900/api/grid", "Ada", "is not a classroom address"),
        ("http://192.168.1.20:18900/", "x" * 41, "printable characters, not 'xxx"),
    ],
)
def test_join_with_a_bad_address_or_name_is_one_line(learner_state, url, name, expected):
    with pytest.raises(LabError, match=expected) as raised:
        classroom.join(url, name)
    assert "\n" not in str(raised.value)


def test_leave_forgets_the_classroom(server, learner_state):
    classroom.join(server.url, "Ada")
    assert classroom.leave() is True
    assert classroom.membership() is None
    assert classroom.leave() is False


def test_an_unreadable_membership_never_fails_a_check(learner_state, capsys):
    learner_state.mkdir()
    (learner_state / "classroom.json").write_text("{oops")
    classroom.post_result(INTRO.id, True, LATE)
    assert "classroom.json is not readable: run `scalelab classroom join URL` again" in capsys.readouterr().err
