"""Fixtures for the `wall` tests: real load against the real stack (two instances behind nginx).

Lab 1's two walls (the default pool times out while PostgreSQL idles; more workers run PostgreSQL out
of connections) have no test here: solutions/notebooks/01-connection-pool.ipynb drives both and its
checked cells assert them (signups fail, QueuePool timeouts logged, connections idle in transaction;
PostgreSQL refuses connections at 90% of its slots), and nbval runs it. A copy here cost 150 s of CI.
"""

from __future__ import annotations

import csv

import pytest

from scalelab.kit import faults
from scalelab.paths import SEED_CREDENTIALS

pytestmark = pytest.mark.wall


@pytest.fixture
def no_faults(broken):
    """The broken app, each wall test's subject, with no fault set."""
    faults.clear()
    yield
    faults.clear()


@pytest.fixture(scope="session")
def seeded_credentials(running_stack) -> list[tuple[str, str]]:
    with open(SEED_CREDENTIALS, newline="") as f:
        return [(row["email"], row["password"]) for row in csv.DictReader(f)]
