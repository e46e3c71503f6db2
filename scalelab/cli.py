"""The `scalelab` command: run the lab stack and work with it from outside.

Every problem the user can fix ends the command with one line naming the fix (see errors.LabError).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys

from scalelab import stack
from scalelab.course import classroom, notebooks
from scalelab.errors import LabError, StackNotRunning
from scalelab.paths import REPO
from scalelab.stack import compose, doctor, envfile
from scalelab.stack import settings as settings_module
from scalelab.stack.services import BY_NAME


def cmd_up(args, settings) -> int:
    wanted = "docker" if args.docker else "native" if args.native else None
    running = stack.up(wanted, settings, lambda line: print(line, flush=True), args.scale)
    print(urls(settings, running.mode))
    return 0


def urls(settings, mode: str) -> str:
    lines = [
        "",
        "The lab is up:",
        f"  Chirp (through nginx)  {settings.app_url}/",
        f"  JupyterLab             http://127.0.0.1:{settings.port('JUPYTER')}/lab",
        f"  Prometheus             {settings.prometheus_url}/",
        f"  Locust                 http://127.0.0.1:{settings.port('LOCUST')}/",
        f"  Email provider API     {settings.smtp_api_url}/messages",
        f"  Object storage (S3)    {settings.objectstore().endpoint_url}/",
    ]
    if mode == "docker":
        lines.append(f"  Flower (Celery)        http://127.0.0.1:{settings.port('FLOWER')}/")
        if compose.upstream_enabled(settings):
            lines.append(f"  Grafana                http://127.0.0.1:{settings.port('GRAFANA')}/")
            lines.append(f"  Mailpit                http://127.0.0.1:{settings.port('MAILPIT')}/")
            lines.append(f"  Jaeger                 http://127.0.0.1:{settings.port('JAEGER')}/")
    return "\n".join(lines)


def cmd_down(args, settings) -> int:
    stack.down(settings, print)
    return 0


def cmd_status(args, settings) -> int:
    running = stack.current(settings)
    report = {"services": running.status(), "mode": running.mode}
    if args.json:
        print(json.dumps(report))
    else:
        print(f"mode: {report['mode']}")
        for name, info in report["services"].items():
            state = "healthy" if info["healthy"] else ("UNHEALTHY" if info["pid"] else "stopped")
            print(f"  {name:<18} {state:<10} port {info['port']:<6} pid {info['pid'] or '-'}")
    return 0 if all(s["healthy"] for s in report["services"].values()) else 3


def _known_services(names: list[str]) -> None:
    unknown = [name for name in names if name not in BY_NAME]
    if unknown:
        raise LabError(f"unknown service {unknown[0]!r}: choose one of {', '.join(BY_NAME)}")


def cmd_logs(args, settings) -> int:
    _known_services([args.service])
    return stack.current(settings).tail(args.service, args.lines, args.follow)


def cmd_restart(args, settings) -> int:
    _known_services(args.services)
    stack.current(settings).restart(args.services)
    print(f"{', '.join(args.services)} restarted, healthy")
    return 0


def cmd_doctor(args, settings) -> int:
    blocking, notes = doctor.problems(settings)
    for line in blocking:
        print(f"problem: {line}")
    for line in notes:
        print(f"note: {line}")
    if not blocking:
        print("ok: this machine can run the lab")
    return 1 if blocking else 0


def cmd_load(args, settings) -> int:
    from scalelab.kit import load  # pandas is slow to import; only this verb needs it

    run = load.run(
        args.profile, users=args.users, duration=args.duration, seed=args.seed, progress=not args.json, processes=args.processes
    )
    summary = run.summary
    if args.json:
        print(json.dumps(summary))
        return 0
    print(f"\n{'endpoint':<22} {'requests':>9} {'failures':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    rows = [*summary["endpoints"].items(), ("all", summary)]
    for name, row in rows:
        p = [("-" if row[k] is None else f"{row[k]:.0f}") for k in ("p50_ms", "p95_ms", "p99_ms")]
        print(f"{name:<22} {row['requests']:>9} {row['failures']:>9} {p[0]:>8} {p[1]:>8} {p[2]:>8}")
    print(f"\nerror rate {summary['error_rate']:.2%}, {summary['rps']:.1f} requests/s; CSVs in {run.directory}")
    for error in summary["errors"][:5]:
        print(f"  {error['count']:>6} x {error['endpoint']}: {error['error']}")
    if summary["loadgen_cpu_warning"]:
        print("warning: Locust's CPU went above 90%: this run measured the load generator as much as the app")
    return 0


# --- The lab verbs: check, solve, reset, hint, fault, mail ------------------------------------------


def cmd_check(args, settings) -> int:
    from scalelab.course import catalogue
    from scalelab.course.checks import runner

    try:
        lab = catalogue.find(args.lab)
        # With --json, stdout carries the JSON object only: whatever a check prints goes to stderr.
        with contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext():
            result = runner.run(lab, settings)
    except LabError as error:
        if args.json:  # a script reads why the check could not run, as well as its exit code (2)
            print(json.dumps({"lab": args.lab, "passed": None, "measurements": {}, "reasons": [], "error": str(error)}))
        raise
    runner.record(lab, result)
    if args.json:
        print(json.dumps(runner.as_json(lab, result), default=str))
    else:
        print(runner.describe(lab, result))
    return 0 if result.passed else 1


def cmd_solve(args, settings) -> int:
    from scalelab.course import catalogue, overlays

    lab = catalogue.find(args.lab)
    outcome = overlays.solve(lab)
    print(f"solve lab {lab.alias} ({lab.title}):")
    overlays.report(outcome, REPO, print)
    overlays.restart_services(outcome, stack.current(settings), print)
    back = f"`scalelab reset {lab.alias}` brings its broken modules back"
    if lab.requires:  # solve applied the labs it builds on too; reset N leaves those solved
        back += ", `scalelab reset --all` those of the labs it builds on too"
    print(f"now `scalelab check {lab.alias}` should pass; {back}")
    return 0


def cmd_reset(args, settings) -> int:
    from scalelab.course import catalogue, overlays

    if args.all == bool(args.labs):
        raise LabError("name a lab or --all: `scalelab reset 1`, `scalelab reset 3 2 1` or `scalelab reset --all`")
    every = catalogue.all_labs()
    selected = every if args.all else [catalogue.find(name) for name in args.labs]
    outcome = overlays.reset(selected, every)
    names = ", ".join(f"{lab.alias} ({lab.title})" for lab in selected)
    print("reset every lab:" if args.all else f"reset lab{'s' if len(selected) > 1 else ''} {names}:")
    overlays.report(outcome, REPO, print)
    if not outcome.changes and not outcome.problems:
        print("nothing to reset: this lab has no broken modules")
    elif not outcome.changed_paths and not outcome.problems:
        print("nothing to reset: every module is as in git")
    overlays.restart_services(outcome, stack.current(settings), print)
    if outcome.problems:
        # Everything else was reset; the first problem is the one to fix (the others are alike).
        more = f" (and {len(outcome.problems) - 1} more like it)" if len(outcome.problems) > 1 else ""
        raise LabError(outcome.problems[0] + more)
    return 0


def cmd_hint(args, settings) -> int:
    from scalelab.course import catalogue, hints, progress

    lab = catalogue.find(args.lab)
    try:
        level = int(args.level)
    except ValueError:
        raise LabError(f"--level takes a number: `scalelab hint {lab.alias} --level 2`") from None
    try:
        last_reasons = progress.of_lab(lab, progress.read()).last_reasons
    except LabError:  # unreadable progress: the next check starts a new file; the hint needs none
        last_reasons = ()
    print(hints.hint(lab, level, last_reasons))
    return 0


def _print_faults(current: dict) -> None:
    from scalelab.kit import faults

    shown = {name: json.dumps(value) for name, value in current.items()}
    name_width = max(len(name) for name in shown)
    value_width = max(len(value) for value in shown.values())
    for name, value in shown.items():
        meaning = faults.FAULTS[name].meaning if name in faults.FAULTS else ""
        print(f"  {name:<{name_width}}  {value:<{value_width}}  {meaning}".rstrip())


def cmd_fault(args, settings) -> int:
    from scalelab.kit import faults

    if args.name in ("list", "clear"):
        if args.value is not None:
            raise LabError(f"`scalelab fault {args.name}` takes no value: run it alone")
        current = faults.current() if args.name == "list" else faults.clear()
        print("faults now:" if args.name == "clear" else "faults:")
        _print_faults(current)
        return 0
    if args.name not in faults.FAULTS:
        raise LabError(f"unknown fault {args.name!r}: choose one of {', '.join(faults.FAULTS)} (or list, clear)")
    if args.value is None:
        raise LabError(f"give {args.name} a value: `scalelab fault {args.name} {faults.FAULTS[args.name].example}`")
    current = faults.set_fault(args.name, args.value)
    print("faults now:")
    _print_faults(current)
    print("`scalelab fault clear` removes them all")
    return 0


def cmd_mail(args, settings) -> int:
    from datetime import datetime

    from scalelab.kit import mailbox

    messages = mailbox.messages()
    total = len(messages)
    if args.last is not None:
        messages = messages[-args.last :] if args.last > 0 else []
    if args.json:
        print(json.dumps(messages))
        return 0
    for message in messages:
        when = datetime.fromtimestamp(message["time"]).strftime("%Y-%m-%d %H:%M:%S")
        to = ", ".join(message["to"])
        print(f"{when}  to {to}  {message['subject']!r}  Message-ID {message['message_id'] or '-'}")
    shown = f"the last {len(messages)} of " if len(messages) < total else ""
    print(f"{shown}{total} message{'s' if total != 1 else ''} delivered")
    return 0


def cmd_drill(args, settings) -> int:
    from scalelab.course import drill

    if args.drill_action == "start":
        drill.start(seed=args.seed, settings=settings)
        print(
            "a drill is on: one thing in the stack is broken. Put some load on it (`scalelab load check`: readers, members and sign-ups), find "
            f"out what with Prometheus ({settings.prometheus_url}/), the logs (`scalelab logs SERVICE`) "
            "and the traces, then answer `scalelab drill answer CAUSE`, CAUSE one of:"
        )
        for name in drill.CAUSES:
            print(f"  {name}")
        return 0
    if args.drill_action == "answer":
        verdict = drill.answer(args.cause, settings)
        print(verdict)
        return 0 if verdict.correct else 1
    if args.drill_action == "stop":
        cause = drill.stop(settings)
        print(f"drill stopped: the cause was {cause}; the stack is restored" if cause else "no drill is running: nothing to restore")
        return 0
    print(drill.status())
    return 0


# --- Progress and the classroom ----------------------------------------------------------------------


def cmd_progress(args, settings) -> int:
    from scalelab.course import catalogue, progress

    statuses = progress.summary(catalogue.all_labs(), progress.read(), with_edits=args.json)
    if args.json:
        print(json.dumps(progress.as_json(statuses)))
        return 0
    print(progress.table(statuses))
    joined = classroom.membership()
    if joined:
        print(f"each check is also sent to the classroom at {joined['url']} as {joined['name']!r}")
    return 0


def cmd_classroom_serve(args, settings) -> int:
    from scalelab.course import catalogue

    server = classroom.make_server(catalogue.all_labs(), classroom.store_file(), args.host, args.port)
    print(f"classroom view: {server.url} (results kept in {classroom.store_file()}; Ctrl-C stops it)")
    print(f"learners run: {server.join_command}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("classroom stopped; `scalelab classroom serve` again shows the same grid")
    finally:
        server.server_close()
    return 0


def cmd_classroom_join(args, settings) -> int:
    import getpass

    sent = classroom.join(args.url, args.name or getpass.getuser())
    joined = classroom.membership()
    print(f"joined the classroom at {joined['url']} as {joined['name']!r}")
    if sent:
        print(f"sent the latest check of {', '.join(sent)}")
    print(
        f"from now on each `scalelab check` sends its lab, verdict and time there (a classroom that does not "
        f"answer costs a check {classroom.POST_TIMEOUT_S:g} s at most); `scalelab classroom leave` stops it"
    )
    return 0


def cmd_classroom_leave(args, settings) -> int:
    if classroom.leave():
        print("left the classroom: check results stay on this computer")
    else:
        print("not in a classroom: nothing to leave")
    return 0


def cmd_system_packages(args, settings) -> int:
    stack.ensure_system_packages(for_tests=args.for_tests)
    print("system packages: all present")
    return 0


def cmd_docker_base(args, settings) -> int:
    from scalelab.stack import dockerbase

    dockerbase.make(print)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scalelab", description="Scale Wall Lab: run the lab stack and its labs.")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="COMMAND")

    up = verbs.add_parser("up", help="start the lab stack (docker if an engine answers, else native)")
    mode = up.add_mutually_exclusive_group()
    mode.add_argument("--native", action="store_true", help="private processes from system packages, no Docker")
    mode.add_argument("--docker", action="store_true", help="docker-compose.yml")
    up.add_argument(
        "--scale", action="append", default=[], metavar="SERVICE=N",
        help="Docker mode: N of a service, app (Chirp instances beyond app1 and app2) or locust-worker",
    )
    up.set_defaults(func=cmd_up)

    verbs.add_parser("down", help="stop every service of the stack").set_defaults(func=cmd_down)

    status = verbs.add_parser("status", help="each service's port, pid and health")
    status.add_argument("--json", action="store_true", help="one JSON object, for scripts")
    status.set_defaults(func=cmd_status)

    logs = verbs.add_parser("logs", help="the log of one service")
    logs.add_argument("service")
    logs.add_argument("-n", "--lines", type=int, default=50)
    logs.add_argument("-f", "--follow", action="store_true")
    logs.set_defaults(func=cmd_logs)

    restart = verbs.add_parser("restart", help="stop services and start them again (native mode), e.g. after editing the app")
    restart.add_argument("services", nargs="+", metavar="SERVICE")
    restart.set_defaults(func=cmd_restart)

    verbs.add_parser("doctor", help="can this machine run the lab? one line per problem, with its fix").set_defaults(
        func=cmd_doctor
    )
    notebooks.register(verbs)

    load = verbs.add_parser("load", help="run a load profile with Locust and summarize it")
    load.add_argument("profile", help="baseline, launch-day, spike or check")
    load.add_argument("--users", type=int, help="peak users (the profile's shape is kept)")
    load.add_argument("--duration", type=float, help="total seconds (the profile's shape is kept)")
    load.add_argument("--seed", type=int, default=42, help="the same seed sends the same requests")
    load.add_argument(
        "--processes", type=int, default=1, help="Locust worker processes, one core each (default 1: a single process)"
    )
    load.add_argument("--json", action="store_true", help="print the summary as JSON")
    load.set_defaults(func=cmd_load)

    check = verbs.add_parser("check", help="grade a lab on the running stack (exit 0 pass, 1 fail, 2 could not run)")
    check.add_argument("lab", help="the lab's number or id")
    check.add_argument("--json", action="store_true", help="print {lab, passed, measurements, reasons}")
    check.set_defaults(func=cmd_check)

    solve = verbs.add_parser("solve", help="apply a lab's solution (and the labs it builds on), then restart the app")
    solve.add_argument("lab", help="the lab's number or id")
    solve.set_defaults(func=cmd_solve)

    reset = verbs.add_parser("reset", help="put a lab's broken modules back as in git (your edits are backed up)")
    # Several labs at once restart the app once: a notebook resets what it solved in one go.
    reset.add_argument("labs", nargs="*", metavar="LAB", help="the labs' numbers or ids")
    reset.add_argument("--all", action="store_true", help="every lab's modules")
    reset.set_defaults(func=cmd_reset)

    hint = verbs.add_parser("hint", help="a hint for a lab; --level 2 and 3 say more")
    hint.add_argument("lab", help="the lab's number or id")
    hint.add_argument("--level", default="1", help="1 is a nudge, the last nearly the answer")
    hint.set_defaults(func=cmd_hint)

    fault = verbs.add_parser("fault", help="inject a fault into the running stack: NAME VALUE, list or clear")
    fault.add_argument("name", metavar="NAME", help="a fault (see `scalelab fault list`), list or clear")
    fault.add_argument("value", nargs="?", metavar="VALUE")
    fault.set_defaults(func=cmd_fault)

    mail = verbs.add_parser("mail", help="the messages the email provider delivered")
    mail.add_argument("--json", action="store_true", help="print the list as JSON")
    mail.add_argument("--last", type=int, metavar="N", help="only the N most recent")
    mail.set_defaults(func=cmd_mail)

    drill_verb = verbs.add_parser("drill", help="the incident drill: start, status, answer CAUSE, stop")
    drill_actions = drill_verb.add_subparsers(dest="drill_action", required=True, metavar="ACTION")
    drill_start = drill_actions.add_parser("start", help="hide one fault in the running stack (Labs 1-4 solved)")
    drill_start.add_argument("--seed", type=int, help="the same seed hides the same fault (default: a random one)")
    drill_actions.add_parser("status", help="whether a drill is on, and for how long (never which fault)")
    drill_answer = drill_actions.add_parser("answer", help="name the cause; a right answer restores the stack")
    drill_answer.add_argument("cause", metavar="CAUSE")
    drill_actions.add_parser("stop", help="give up: say the cause and restore the stack")
    drill_verb.set_defaults(func=cmd_drill)

    progress = verbs.add_parser("progress", help="each lab passed, failed or not started, with its last check")
    progress.add_argument("--json", action="store_true", help="one JSON object, for scripts")
    progress.set_defaults(func=cmd_progress)

    classroom_verb = verbs.add_parser("classroom", help="opt-in classroom view on the LAN: serve, join URL, leave")
    actions = classroom_verb.add_subparsers(dest="classroom_action", required=True, metavar="ACTION")
    serve = actions.add_parser("serve", help="(instructor) a live grid of learners x labs in the browser")
    serve.add_argument("--host", default="0.0.0.0", help="the address to listen on (default: every interface)")
    serve.add_argument("--port", type=int, default=classroom.DEFAULT_PORT, help=f"default {classroom.DEFAULT_PORT}")
    serve.set_defaults(func=cmd_classroom_serve)
    join = actions.add_parser("join", help="(learner) send each check's lab, verdict and time to a classroom")
    join.add_argument("url", metavar="URL", help="the address `classroom serve` printed")
    join.add_argument("--name", help="the name the instructor sees (default: your login name)")
    join.set_defaults(func=cmd_classroom_join)
    actions.add_parser("leave", help="(learner) stop sending check results").set_defaults(func=cmd_classroom_leave)

    packages_verb = verbs.add_parser(
        "system-packages", help="install the Debian packages native mode needs (apt-get as root, else the command)"
    )
    packages_verb.add_argument("--for-tests", action="store_true", help="also what the test suite needs")
    packages_verb.set_defaults(func=cmd_system_packages)
    base_verb = verbs.add_parser(
        "docker-base", help="make Docker mode's pinned Debian base with debootstrap, where it cannot be pulled (root)"
    )
    base_verb.set_defaults(func=cmd_docker_base)
    return parser


# The verbs that write .env when there is none (`make up` and `make doctor` do too, through Makefile).
CREATE_ENV = ("up", "doctor")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.verb in CREATE_ENV:
            envfile.ensure()  # with the machine size for this machine
        return args.func(args, settings_module.load())
    except StackNotRunning as exc:
        print(f"scalelab: {exc}", file=sys.stderr)
        return exc.exit_code
    except LabError as exc:
        print(f"scalelab: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("scalelab: interrupted", file=sys.stderr)
        return 130
