"""What the before/after benchmarks of a lab share: run scalelab's verbs, refuse to run over the
learner's edits, and summarize and compare the outcomes of scalelab.kit.clients.

Each benchmark (pool.py, async_boundary.py) measures the broken app, runs `scalelab solve`, measures
the fixed app, and resets: solve and reset would replace a learner's edits, so it first checks that
the lab's modules are as in git.
"""

from __future__ import annotations

import argparse
import collections
import sys

from scalelab import stack
from scalelab.course import catalogue, overlays
from scalelab.errors import LabError
from scalelab.kit import faults, verbs
from scalelab.kit.clients import Outcome, percentile, require_app
from scalelab.paths import REPO


def scalelab(*args: str) -> str:
    """A verb, run quietly: what it printed (a failure raises LabError with it)."""
    return verbs.scalelab(*args, show=False).stdout


def preflight(settings, aliases: tuple[str, ...]) -> None:
    """The native stack answers, and the modules of every lab the benchmark solves are as in git."""
    if stack.current(settings).mode != "native":
        raise LabError("this benchmark restarts services of the native stack: run it with `scalelab up --native`")
    require_app(settings.app_url)
    for alias in aliases:
        require_pristine_modules(alias)


def require_pristine_modules(alias: str) -> None:
    """Refuse to run over the learner's edits: solve and reset would replace them (with a backup)."""
    lab = catalogue.find(alias)
    overlays.require_git(REPO)
    changed = [path for path in lab.modules if (REPO / path).read_bytes() != overlays.pristine(REPO, path)]
    if changed:
        raise LabError(
            f"{', '.join(changed)} differ from git: this benchmark solves and resets lab {alias}, so commit or "
            f"stash your edits first (or run `scalelab reset {alias}`, which saves them under .lab/backups/)"
        )


def summarize(outcomes: list[Outcome]) -> dict:
    failed = sum(outcome.status >= 500 or outcome.status == 0 for outcome in outcomes)
    return {
        "requests": len(outcomes),
        "failed": failed,
        "error_rate": failed / len(outcomes) if outcomes else 0.0,
        "p95_ms": percentile([outcome.seconds for outcome in outcomes], 95) * 1000 if outcomes else float("nan"),
        "statuses": collections.Counter(outcome.status for outcome in outcomes),
    }


def ratio(before: float, after: float) -> str:
    if after == 0:
        return "n/a (0 after)" if before else "-"
    return f"{before / after:.1f}x"


def endpoint_rows(before: dict, after: dict, endpoints: tuple[str, ...]) -> list[tuple[str, str, str, str]]:
    """p95, error rate and request count of each endpoint's summary, broken and fixed, with their ratio."""
    rows = []
    for endpoint in endpoints:
        b, a = before[endpoint], after[endpoint]
        rows.append((f"{endpoint} p95", f"{b['p95_ms']:,.0f} ms", f"{a['p95_ms']:,.0f} ms", ratio(b["p95_ms"], a["p95_ms"])))
        rows.append((f"{endpoint} errors", f"{b['error_rate']:.1%}", f"{a['error_rate']:.1%}", ratio(b["error_rate"], a["error_rate"])))
        rows.append((f"{endpoint} requests", f"{b['requests']:,}", f"{a['requests']:,}", ""))
    return rows


def print_comparison(rows: list[tuple[str, str, str, str]], width: int = 28) -> None:
    print(f"\n{'':<{width}}{'broken':>14}{'fixed':>14}{'broken/fixed':>16}")
    for name, b, a, r in rows:
        print(f"{name:<{width}}{b:>14}{a:>14}{r:>16}")


def wave_arguments(description: str, signups: int, readers: int, email_ms: int) -> argparse.ArgumentParser:
    """The options of a signup wave: how many clients sign up and read, for how long, how slow the email."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--signups", type=int, default=signups, help=f"clients signing up (default {signups})")
    parser.add_argument("--readers", type=int, default=readers, help=f"clients reading the feed (default {readers})")
    parser.add_argument("--seconds", type=float, default=20, help="how long the clients send requests (default 20)")
    parser.add_argument("--email-ms", type=int, default=email_ms, help=f"the email provider's latency (default {email_ms})")
    return parser


def before_and_after(alias: str, measure, put_back) -> tuple[dict, dict]:
    """measure("broken"), `scalelab solve alias`, measure("fixed"); then, whatever happened, clear the
    faults and put_back() the stack."""
    faults.clear()
    try:
        before = measure("broken")
        print(f"applying the reference fix: scalelab solve {alias}…", flush=True)
        scalelab("solve", alias)
        after = measure("fixed")
    finally:
        faults.clear()
        put_back()
    return before, after


def run(main, script: str) -> None:
    """Exit with main()'s code; a LabError is one line naming the fix, and its exit code."""
    try:
        sys.exit(main())
    except LabError as error:
        print(f"{script}: {error}", file=sys.stderr)
        sys.exit(error.exit_code)
