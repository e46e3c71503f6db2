"""native/npm.py runs `npm ci` on the first start and when the lock changes, and at no other start.

A stand-in npm records each run, so these tests need neither the registry nor the running stack.
"""

from __future__ import annotations

import json

import pytest

from scalelab.errors import LabError
from scalelab.stack.native import binaries, npm


@pytest.fixture
def infra(tmp_path, monkeypatch):
    """infra/store/ with a package.json and a lock, and an npm that logs its runs to npm-runs.log."""
    source = tmp_path / "infra" / "store"
    source.mkdir(parents=True)
    (source / "package.json").write_text(json.dumps({"dependencies": {"s3rver": "3.7.1"}}))
    (source / "package-lock.json").write_text(json.dumps({"lockfileVersion": 3}))
    fake_npm = tmp_path / "npm"
    fake_npm.write_text(
        f'#!/bin/sh\necho "$*" >> {tmp_path}/npm-runs.log\n'
        f'[ -e {tmp_path}/npm-fails ] && {{ echo "npm error network ETIMEDOUT" >&2; exit 1; }}\n'
        "mkdir -p node_modules/s3rver\n"
    )
    fake_npm.chmod(0o755)
    monkeypatch.setattr(npm, "INFRA", tmp_path / "infra")
    monkeypatch.setattr(binaries, "require", lambda program: str(fake_npm))
    return source


def runs(tmp_path) -> list[str]:
    log = tmp_path / "npm-runs.log"
    return log.read_text().splitlines() if log.exists() else []


def test_npm_ci_runs_once_then_again_only_when_the_lock_changes(infra, tmp_path, capsys):
    folder = tmp_path / "installed"
    assert npm.ensure("store", folder) == folder / "node_modules"
    assert runs(tmp_path) == ["ci --ignore-scripts --no-audit --no-fund"]
    assert (folder / "package-lock.json").read_text() == (infra / "package-lock.json").read_text()
    assert "store: installing its npm packages" in capsys.readouterr().out

    npm.ensure("store", folder)
    assert len(runs(tmp_path)) == 1 and capsys.readouterr().out == ""

    (infra / "package-lock.json").write_text(json.dumps({"lockfileVersion": 3, "packages": {}}))
    npm.ensure("store", folder)
    assert len(runs(tmp_path)) == 2


def test_missing_packages_are_installed_again(infra, tmp_path):
    folder = tmp_path / "installed"
    npm.ensure("store", folder)
    (folder / "node_modules" / "s3rver").rmdir()
    (folder / "node_modules").rmdir()
    npm.ensure("store", folder)
    assert len(runs(tmp_path)) == 2


def test_a_failed_install_says_why_and_is_retried_on_the_next_start(infra, tmp_path):
    folder = tmp_path / "installed"
    (tmp_path / "npm-fails").touch()
    with pytest.raises(LabError) as error:
        npm.ensure("store", folder)
    assert "`npm ci` for store failed" in str(error.value) and "ETIMEDOUT" in str(error.value)
    (tmp_path / "npm-fails").unlink()
    npm.ensure("store", folder)
    assert len(runs(tmp_path)) == 2 and (folder / npm.STAMP).exists()
