"""Lab 3 before and after, measured in one run: a signup wave while the email provider is slow.

    .venv/bin/python benchmarks/async_boundary.py             # 4 signing up + 4 reading, 20 s, email at 1 s
    .venv/bin/python benchmarks/async_boundary.py --email-ms 2000 --failure-rate 0.2

For 20 s, 4 clients sign up while 4 read the public feed, each sending its next request as soon as
the last one answered (scalelab.kit.clients), with the email provider at 1 s per message. First on the
app with Lab 3 broken (the email inside the request), then `scalelab solve 3` (which applies Labs 1
and 2 too) and the same wave on the fixed app, whose email is a Celery job. After each wave it waits
up to 60 s for the welcome emails of every account the wave created.

It prints both runs' signup and feed p95 and error rates, with the ratio broken / fixed (above 1: the
fix did better), and how many accounts got their email, and how many got more than one.

Expected on 2 cores: broken signup p95 a little over the provider's latency plus the password hash;
fixed signup p95 the hash alone, so a ratio of several times; every email delivered once in both
runs (with --failure-rate, the broken run loses the emails of the signups that failed). Why only 4
clients: a signup hashes its password with scrypt, about 0.1 s of CPU, so on 2 cores 20 clients
signing up nonstop queue for the CPU for seconds, and that queue, the same before and after, hides
the email's second (measured: 3.2 s broken, 3.6 s fixed, at 20 clients).

Needs the native stack (`make up`) and the labs' modules as in git: it refuses to run over your
edits. It puts the stack back at the end, even when it fails: faults cleared, `scalelab reset` for
each lab it solved. About 3 minutes.
"""

from __future__ import annotations

from labrun import (
    before_and_after,
    endpoint_rows,
    preflight,
    print_comparison,
    run,
    scalelab,
    summarize,
    wave_arguments,
)

from scalelab.kit import faults, mailbox, pg
from scalelab.kit.clients import signup_wave
from scalelab.stack import settings as settings_module

LAB = "3"
REQUIRED = ("1", "2")
EMAIL_WAIT_S = 60


def measure(label: str, settings, args) -> dict:
    print(
        f"{label}: {args.signups} clients signing up and {args.readers} reading the feed for {args.seconds:g} s, "
        f"the email provider at {args.email_ms} ms failing {args.failure_rate:.0%}…",
        flush=True,
    )
    faults.set_fault("smtp_latency_ms", args.email_ms)
    faults.set_fault("smtp_failure_rate", args.failure_rate)
    try:
        wave = signup_wave(settings.app_url, args.signups, args.readers, args.seconds)
        accounts = pg.account_emails(f"wave-{wave.run_id}-%", settings)
        print(f"{label}: waiting up to {EMAIL_WAIT_S} s for the welcome emails of {len(accounts)} accounts…", flush=True)
        counts = mailbox.deliveries(accounts, within_s=EMAIL_WAIT_S)
    finally:
        faults.clear()
    return {
        "label": label,
        "signup": summarize(wave.signups),
        "feed": summarize(wave.reads),
        "accounts": len(accounts),
        "emailed": len(counts),
        "emailed_twice": sum(count > 1 for count in counts.values()),
    }


def report(before: dict, after: dict) -> None:
    rows = endpoint_rows(before, after, ("signup", "feed"))
    for key, name in (("accounts", "accounts created"), ("emailed", "  of them emailed"), ("emailed_twice", "  emailed twice")):
        rows.append((name, str(before[key]), str(after[key]), ""))
    print_comparison(rows, width=22)


def main() -> int:
    parser = wave_arguments(__doc__.splitlines()[0], signups=4, readers=4, email_ms=1000)
    parser.add_argument("--failure-rate", type=float, default=0.0, help="share of emails the provider fails (default 0)")
    args = parser.parse_args()

    settings = settings_module.load()
    preflight(settings, (*REQUIRED, LAB))

    def put_back() -> None:
        print("putting the stack back: faults cleared, scalelab reset 3, 2 and 1…", flush=True)
        for alias in (LAB, *reversed(REQUIRED)):
            scalelab("reset", alias)

    before, after = before_and_after(LAB, lambda label: measure(label, settings, args), put_back)
    report(before, after)
    return 0


if __name__ == "__main__":
    run(main, "benchmarks/async_boundary.py")
