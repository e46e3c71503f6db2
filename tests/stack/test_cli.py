"""The `scalelab` command's contract and its one-line errors for bad input and bad state."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest

from scalelab import docker
from scalelab.errors import LabError
from scalelab.native import process, stack
from scalelab.native.account import current_account
from scalelab.paths import REPO
from scalelab.services import BY_NAME, Service, native_services
from scalelab.settings import Settings


def scalelab(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scalelab", *args], capture_output=True, text=True, cwd=REPO, timeout=120)


def test_status_json_is_the_documented_object(running_stack):
    result = scalelab("status", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["mode"] == "native"
    assert set(report["services"]) == {s.name for s in native_services()}
    for name, info in report["services"].items():
        assert set(info) == {"port", "pid", "healthy"}
        assert isinstance(info["port"], int) and isinstance(info["pid"], int) and info["healthy"] is True, name


def test_unknown_service_for_logs_is_one_line_naming_the_choices():
    result = scalelab("logs", "no-such-service")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "choose one of postgres" in result.stderr


def test_logs_show_the_tail_of_a_service_log(running_stack):
    result = scalelab("logs", "postgres", "-n", "5")
    assert result.returncode == 0
    assert 0 < len(result.stdout.splitlines()) <= 5


def test_a_port_already_in_use_names_the_port_service_and_env_key(lab_settings):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = Settings({**lab_settings.values, "SCALELAB_REDIS_PORT": str(port)})
        with pytest.raises(LabError) as error:
            stack._check_ports_free([BY_NAME["redis"]], settings)
    message = str(error.value)
    assert f"port {port} for redis" in message and "SCALELAB_REDIS_PORT" in message and "\n" not in message


def test_docker_mode_without_an_engine_says_so_and_names_native_mode():
    if docker.engine_available():
        pytest.skip("a Docker engine answers on this machine")
    with pytest.raises(LabError, match=r"scalelab up --native"):
        docker.up()


def test_a_service_that_will_not_start_shows_its_log_tail(lab_settings, tmp_path):
    broken = Service("broken_probe", "REDIS", 0, "redis")
    pid = process.spawn(
        broken.name,
        ["sh", "-c", "echo 'FATAL: could not open config file'; exit 3"],
        env={"PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        account=current_account(),
    )
    settings = Settings({**lab_settings.values, "SCALELAB_REDIS_PORT": "1"})  # nothing answers on port 1
    try:
        with pytest.raises(LabError) as error:
            stack._wait_healthy(broken, settings, pid)
        assert "broken_probe exited while starting" in str(error.value)
        assert "FATAL: could not open config file" in str(error.value)
        assert "broken_probe.log" in str(error.value)
    finally:
        process.pid_file(broken.name).unlink(missing_ok=True)
        process.log_file(broken.name).unlink(missing_ok=True)


def test_doctor_passes_on_this_machine(running_stack):
    result = scalelab("doctor")
    assert result.returncode == 0, result.stdout
    assert "ok: this machine can run the lab" in result.stdout
