"""The `scalelab` command's contract and its one-line errors for bad input and bad state."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest

from scalelab.errors import LabError
from scalelab.paths import REPO
from scalelab.stack import docker, doctor
from scalelab.stack.native import binaries, commands, lifecycle, packages, process
from scalelab.stack.native.account import current_account
from scalelab.stack.services import BY_NAME, Service, native_services
from scalelab.stack.settings import Settings


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
            lifecycle._check_ports_free([BY_NAME["redis"]], settings)
    message = str(error.value)
    assert f"port {port} for redis" in message and "SCALELAB_REDIS_PORT" in message and "\n" not in message


def test_docker_mode_without_an_engine_says_so_and_names_native_mode(lab_settings, monkeypatch):
    monkeypatch.setattr(docker, "engine_available", lambda: False)  # CI runs an engine for the docker suite
    with pytest.raises(LabError, match=r"^(Docker is not installed|no Docker engine answers).*`scalelab up --native`"):
        docker.up(lab_settings, print)


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
            lifecycle._wait_healthy(broken, settings, pid)
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


def hide_programs(monkeypatch, *hidden: str) -> None:
    """As if these programs were not installed."""
    find = binaries.find
    monkeypatch.setattr(binaries, "find", lambda program: None if program in hidden else find(program))


def test_doctor_names_the_node_packages_when_they_are_missing(monkeypatch, lab_settings):
    hide_programs(monkeypatch, "node", "npm")
    monkeypatch.setattr(docker, "engine_available", lambda: False)
    blocking, _ = doctor.problems(lab_settings)
    assert [line for line in blocking if "node" in line] == [
        "missing programs for native mode (node, npm): run `sudo apt-get install -y nodejs npm`"
    ]


def test_system_packages_without_root_prints_the_apt_command_for_them(monkeypatch):
    hide_programs(monkeypatch, "node", "npm")
    monkeypatch.setattr(packages.os, "getuid", lambda: 1000)
    with pytest.raises(LabError) as error:
        packages.ensure()
    assert str(error.value) == "missing node, npm: run `sudo apt-get update && sudo apt-get install -y nodejs npm`"


def test_a_node_too_old_for_s3rver_is_one_line_from_doctor_and_from_up(monkeypatch, lab_settings, tmp_path):
    old_node = tmp_path / "node"
    old_node.write_text("#!/bin/sh\necho v12.22.9\n")  # Ubuntu 22.04's
    old_node.chmod(0o755)
    find = binaries.find
    monkeypatch.setattr(binaries, "find", lambda program: str(old_node) if program == "node" else find(program))
    monkeypatch.setattr(docker, "engine_available", lambda: False)
    too_old = [line for line in doctor.problems(lab_settings)[0] if "Node.js" in line]
    assert len(too_old) == 1 and "v12.22.9 is too old" in too_old[0] and "18 or newer" in too_old[0]
    with pytest.raises(LabError) as error:
        commands.objectstore(lab_settings, current_account())
    assert str(error.value) == too_old[0]


def test_an_access_key_s3rver_does_not_know_is_refused_before_it_starts(lab_settings):
    settings = Settings({**lab_settings.values, "SCALELAB_OBJECTSTORE_ACCESS_KEY": "minioadmin"})
    with pytest.raises(LabError) as error:
        commands.objectstore(settings, current_account())
    assert "set SCALELAB_OBJECTSTORE_ACCESS_KEY=S3RVER in .env" in str(error.value) and "\n" not in str(error.value)
