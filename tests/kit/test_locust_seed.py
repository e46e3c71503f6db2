"""`scalelab load --seed`: each simulated user takes the same steps in the same order in every run with
that seed (scalelab/kit/locustfile.py picks the next step with the user's own generator, not Locust's
process-wide `random`).

The locustfile runs in a subprocess: importing locust patches the importing process with gevent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from scalelab.paths import REPO

STEPS_PER_USER = 60
SCRIPT = f"""
import json
from locust.env import Environment
from scalelab.kit import locustfile
kinds = (locustfile.Reader, locustfile.Member, locustfile.Exporter, locustfile.Uploader)
environment = Environment(user_classes=list(kinds))
users = []
for kind in kinds:
    kind.host = "http://127.0.0.1:9"  # what `--host` sets; nothing is sent
    users.append(kind(environment))
print(json.dumps({{type(user).__name__: [user.pick_step() for _ in range({STEPS_PER_USER})] for user in users}}))
"""


def steps_with_seed(seed: int) -> dict[str, list[str]]:
    env = {**os.environ, "SCALELAB_LOAD_SEED": str(seed)}
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_the_same_seed_gives_every_user_the_same_steps_and_another_seed_others():
    first, again, other = steps_with_seed(7), steps_with_seed(7), steps_with_seed(8)
    assert first == again
    assert all(first[kind] != other[kind] for kind in first)


def test_every_step_is_one_of_the_user_s_own_and_each_is_taken():
    from_seed = steps_with_seed(7)
    assert set(from_seed["Reader"]) == {"feed", "home_page"}
    assert set(from_seed["Member"]) == {"timeline", "feed", "post"}
    assert set(from_seed["Exporter"]) == {"timeline", "feed", "post", "export_report"}
    assert set(from_seed["Uploader"]) == {"timeline", "feed", "post", "upload_avatar"}
