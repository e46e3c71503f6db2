"""Returning members: the session cookies they kept from an earlier visit ("remember me").

On launch day most members are not new to Chirp: they were here yesterday, logged in then, and their
browser kept the session cookie (the fixed app's sessions last a week and are refreshed as they are
used: Lab 2). So they arrive logged in, and log in again only when the app refuses the cookie.

The cookies are made as they are made in life, through the app's own login, once ("yesterday"), and
kept in .lab/returning-members.json for later runs, for as long as the app still accepts them. Not at
seed time: which store holds a session (a process's memory before Lab 2, Redis after) is the very thing
the course changes, so only the running app can make one. Each login hashes a password (about 0.135 s
of CPU), so the first `remember` of N members costs N of them, on LOGIN_THREADS; later ones only ask
"who am I?" with each cookie and log in the members whose cookie was refused.

Make them on the app whose sessions should last (Labs 1 and 2 solved). A load run then gets the file
(`load.run(..., returning=True)`) and its members present those cookies (scalelab/kit/locustfile.py).
On the broken app the same members present the same cookies; its sessions lived in its processes and
died at its last restart, so it refuses every one and every member logs in again at once: with
sessions in memory, every deploy is a login storm.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import requests

from scalelab.kit.clients import log_in, require_app, seeded_credentials
from scalelab.paths import STATE

FILE = STATE / "returning-members.json"
# The logins are CPU in the app (the hash): more at once than its cores only queue them there.
LOGIN_THREADS = 2
CHECK_THREADS = 8


def remember(settings, members: int, say: Callable[[str], None] = print) -> dict[str, dict[str, str]]:
    """The first `members` seeded members' cookies, each still accepted by the app: kept ones checked,
    the rest made by logging in. Writes FILE and returns {email: cookies}."""
    url = settings.app_url
    require_app(url)
    credentials = seeded_credentials(members)
    kept = load()
    with ThreadPoolExecutor(max_workers=CHECK_THREADS) as pool:
        accepted = list(pool.map(lambda pair: pair[0] in kept and _accepted(url, kept[pair[0]]), credentials))
    missing = [pair for pair, ok in zip(credentials, accepted) if not ok]
    say(
        f"returning members: {len(credentials) - len(missing)} of {len(credentials)} kept cookies still accepted; "
        f"{len(missing)} log in now, yesterday's visit (about {len(missing) * 0.135 / LOGIN_THREADS:.0f} s)"
    )
    with ThreadPoolExecutor(max_workers=LOGIN_THREADS) as pool:
        for done, (email, cookies) in enumerate(pool.map(lambda pair: (pair[0], log_in(url, *pair)), missing), 1):
            kept[email] = cookies
            if done % 200 == 0:
                say(f"  {done} of {len(missing)} logged in")
    remembered = {email: kept[email] for email, _ in credentials}
    FILE.parent.mkdir(parents=True, exist_ok=True)
    FILE.write_text(json.dumps(remembered))
    return remembered


def load() -> dict[str, dict[str, str]]:
    """The kept cookies, {email: {cookie name: value}}; none before the first `remember`."""
    return json.loads(FILE.read_text()) if FILE.exists() else {}


def _accepted(url: str, cookies: dict[str, str]) -> bool:
    return requests.get(f"{url}/api/me", cookies=cookies, timeout=30).status_code == 200
