"""Locust's users honour the edge's 429 and its Retry-After (scalelab/kit/locustfile.py): with nginx
letting 1 login a second through (SCALELAB_NGINX_LOGIN_RATE), a small login storm is refused at
first, comes back, and every member gets in; no login fails but for those 429s. (On the broken app,
this test's subject, the members' later requests meet Lab 2's lost sessions: not counted here.) benchmarks/login_storm.py
measures the storm at its size, with and without the limit.
"""

from __future__ import annotations

from scalelab import stack
from scalelab.kit import load
from scalelab.kit.clients import EDGE_REFUSED


def test_members_refused_by_the_edge_come_back_and_get_in(lab_settings, no_faults):
    running = stack.current(lab_settings)
    try:
        running.restart(["nginx"], env={"SCALELAB_NGINX_LOGIN_RATE": "1", "SCALELAB_NGINX_LOGIN_BURST": "0"})
        # The profile's shape, smaller: 12 users in 5 s, 7 of them members logging in as they arrive.
        # 7 logins in 5 s at 1 a second, none queued: at least 2 are refused.
        result = load.run("login-storm", users=12, duration=15, shorten=False, progress=False)
    finally:
        running.restart(["nginx"])
    logins = result.endpoints.set_index("Name").loc["/api/login"]
    errors = result.errors[result.errors.Name == "/api/login"]
    refused = errors[errors.Error.str.contains(EDGE_REFUSED, regex=False)].Occurrences.sum()
    assert refused >= 2, f"nginx refused {refused} logins: the limit was not in force"
    assert errors.Occurrences.sum() == refused, f"logins that failed otherwise than with the edge's 429:\n{errors}"
    assert logins.requests - logins.failures == 7, f"not every member got in:\n{result.endpoints}"
