"""Every available lab's solution notebook runs top to bottom on the live stack under nbval.

nbval runs in its own pytest process with `--nbval-lax`: every cell must run without an error, and
the cells marked `# NBVAL_CHECK_OUTPUT` must print what the stored notebook printed (the verdicts,
such as "baseline error rate under 1%: True"); timings are in unchecked cells and plots. A separate
process keeps the notebook's kernel, and its Locust runs, apart from this test session.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest
import requests

from scalelab.course import catalogue
from scalelab.kit import faults
from scalelab.paths import REPO

pytestmark = pytest.mark.wall

# A notebook runs load (Lab 0: a 1-minute baseline and a 90 s ramp) and waits for it; 15 minutes is
# several times what any of them needs on 2 cores, and still ends a hung kernel.
NOTEBOOK_TIMEOUT_S = 15 * 60
CELL_TIMEOUT_S = 10 * 60
# After a ramp past the wall, the instances still work through the requests queued in them.
CALM_LATENCY_S = 1.0
CALM_WAIT_S = 120

NOTEBOOKS = [lab for lab in catalogue.all_labs() if lab.available]
# Lab 0's ramp finds the wall with up to 2,000 users. CI's stack runs the 4gib profile (.ci/run), which
# caps a load run at 500 users, and at 500 the broken app does not reach the wall: nbval printed
# "the ramp hit the wall: False" there. So that notebook runs with the cap of `full`, the profile it
# was written for, on the same stack (its kernel reads SCALELAB_MACHINE from the environment; only the
# cap differs for a notebook, the stack is already up).
MACHINE_FOR_NOTEBOOK = {"0": "full"}
SLOW_CELL = re.compile(r"^\d+\.\d+s call .*$", re.MULTILINE)
SLOW_CELLS_SHOWN = 6


def wait_until_calm(app_url: str) -> None:
    """Return once the feed answers within CALM_LATENCY_S again, so later tests meet a calm app."""
    deadline = time.monotonic() + CALM_WAIT_S
    while time.monotonic() < deadline:
        started = time.monotonic()
        try:
            if requests.get(f"{app_url}/api/feed?limit=1", timeout=10).ok and time.monotonic() - started < CALM_LATENCY_S:
                return
        except requests.RequestException:
            pass
        time.sleep(1)


@pytest.mark.parametrize("lab", NOTEBOOKS, ids=lambda lab: f"lab{lab.alias}-{lab.notebook}")  # `-k lab3` picks one lab
def test_the_solution_notebook_passes_nbval(lab, lab_settings, course_tree, capsys):
    notebook = lab.notebook_source.relative_to(REPO)
    command = [
        sys.executable, "-m", "pytest", str(notebook),
        "--nbval-lax",
        "--nbval-current-env",  # the kernel runs this virtualenv's Python, whatever the kernelspec says
        f"--nbval-cell-timeout={CELL_TIMEOUT_S}",
        "-p", "no:cacheprovider",
        "-q",
    ]
    env = dict(os.environ)
    if lab.alias in MACHINE_FOR_NOTEBOOK:
        env["SCALELAB_MACHINE"] = MACHINE_FOR_NOTEBOOK[lab.alias]
    course_tree.hold(set())  # each notebook starts where a learner starts: the broken app
    try:
        result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=NOTEBOOK_TIMEOUT_S)
    finally:
        course_tree.forget()  # the notebook solved and reset labs itself
        faults.clear()
        wait_until_calm(lab_settings.app_url)
    report = "\n".join((result.stdout + result.stderr).strip().splitlines()[-60:])
    assert result.returncode == 0, f"nbval failed on {notebook}:\n{report}"
    # nbval's own --durations (pyproject's addopts): the notebook's costliest cells, in CI's log.
    with capsys.disabled():
        print(f"\n{notebook}, slowest cells:", *SLOW_CELL.findall(result.stdout)[:SLOW_CELLS_SHOWN], sep="\n  ")
