"""The lab's "email provider": a real SMTP server whose latency and failure rate change while it runs.

Chirp talks SMTP to it like to any provider. Operators (the toolkit, notebooks, checks) use its small
HTTP API:
    GET  /health
    GET  /faults                      {"latency_ms": 0, "failure_rate": 0.0}
    PUT  /faults                      the same JSON, any subset of the keys
    GET  /messages                    every delivered message: to, from, subject, message_id,
                                      idempotency_key, time
    GET  /stats                       {"delivered": n, "duplicates_dropped": n}
    DELETE /messages                  forget them (the lab's checks start from an empty mailbox)
Delivered messages are appended to a JSON-lines file, so a restart of the provider loses none.
Like the idempotency keys of real email APIs, a message whose X-Chirp-Idempotency-Key was already
delivered is accepted (250) but not delivered again: a client that sends again after a timeout or a
crash, not knowing whether the first send went through, cannot make a duplicate.
A failed delivery answers 451, a temporary failure: a well behaved client retries later. Failures are
spread evenly at the failure rate (at 0.2, one message in every five), not drawn at random: a wave of
30 signups then meets 6 failures every time, so no lesson and no test misses the failure by chance
(30 random draws at 0.2 miss it one time in 800). With --relay HOST:PORT (Docker mode: Mailpit), a copy of every delivered
message is passed on, in the background, for a mail UI to show; a relay that is down loses only copies.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import json
import smtplib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from aiosmtpd.controller import Controller


class Mailbox:
    """Delivered messages and the current faults, shared by the SMTP and HTTP sides."""

    def __init__(self, store: Path, latency_ms: int, failure_rate: float):
        self.store = store
        self.lock = threading.Lock()
        self.faults = {"latency_ms": latency_ms, "failure_rate": failure_rate}
        # The failures owed so far: each message adds the failure rate, and one fails when it reaches
        # 1. Starting at a half, a short run still meets its share (3 messages at 0.2: one fails).
        self.failures_owed = 0.5
        self.keys = {record.get("idempotency_key") for record in self.messages()} - {"", None}
        self.duplicates_dropped = 0

    def set_faults(self, changes: dict) -> dict:
        latency = int(changes.get("latency_ms", self.faults["latency_ms"]))
        rate = float(changes.get("failure_rate", self.faults["failure_rate"]))
        if latency < 0 or not 0.0 <= rate <= 1.0:
            raise ValueError("latency_ms must be >= 0 and failure_rate between 0 and 1")
        with self.lock:
            if rate != self.faults["failure_rate"]:
                self.failures_owed = 0.5
            self.faults = {"latency_ms": latency, "failure_rate": rate}
            return dict(self.faults)

    def fails_next(self) -> bool:
        """Whether the next message fails: evenly, at the failure rate."""
        with self.lock:
            self.failures_owed += self.faults["failure_rate"]
            if self.failures_owed >= 1:
                self.failures_owed -= 1
                return True
            return False

    def deliver(self, record: dict) -> bool:
        """Store the message; False, storing nothing, when its idempotency key was delivered before."""
        key = record["idempotency_key"]
        with self.lock:
            if key and key in self.keys:
                self.duplicates_dropped += 1
                return False
            self.keys.add(key)
            with self.store.open("a") as out:
                out.write(json.dumps(record) + "\n")
            return True

    def stats(self) -> dict:
        with self.lock:
            return {"delivered": len(self.messages_unlocked()), "duplicates_dropped": self.duplicates_dropped}

    def messages(self) -> list[dict]:
        with self.lock:
            return self.messages_unlocked()

    def messages_unlocked(self) -> list[dict]:
        if not self.store.exists():
            return []
        return [json.loads(line) for line in self.store.read_text().splitlines() if line.strip()]

    def clear(self) -> None:
        with self.lock:
            self.store.write_text("")
            self.keys.clear()
            self.duplicates_dropped = 0


class SlowFlakyHandler:
    """aiosmtpd handler: waits the injected latency, then fails at the injected rate or delivers."""

    def __init__(self, mailbox: Mailbox, relay: tuple[str, int] | None = None):
        self.mailbox = mailbox
        self.relay = relay
        self.relay_queue = ThreadPoolExecutor(max_workers=1)

    def _pass_on(self, mail_from: str, rcpt_tos: list[str], content: bytes) -> None:
        try:
            with smtplib.SMTP(*self.relay, timeout=10) as smtp:
                smtp.sendmail(mail_from, rcpt_tos, content)
        except (OSError, smtplib.SMTPException) as exc:
            print(f"relay to {self.relay[0]}:{self.relay[1]} failed: {exc}", flush=True)

    async def handle_DATA(self, server, session, envelope):
        faults = dict(self.mailbox.faults)
        if faults["latency_ms"]:
            await asyncio.sleep(faults["latency_ms"] / 1000)
        if self.mailbox.fails_next():
            return "451 4.3.0 Temporary failure injected by the lab (smtp_failure_rate)"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        delivered = self.mailbox.deliver(
            {
                "to": list(envelope.rcpt_tos),
                "from": envelope.mail_from,
                "subject": str(message.get("Subject", "")),
                "message_id": str(message.get("Message-ID", "")),
                "idempotency_key": str(message.get("X-Chirp-Idempotency-Key", "")),
                "time": time.time(),
            }
        )
        if not delivered:
            return "250 2.0.0 Already delivered (same X-Chirp-Idempotency-Key): not sent again"
        if self.relay:
            self.relay_queue.submit(self._pass_on, envelope.mail_from, list(envelope.rcpt_tos), envelope.content)
        return "250 2.0.0 Message accepted for delivery"


def api_handler(mailbox: Mailbox):
    class Api(BaseHTTPRequestHandler):
        def _send(self, status: int, body) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            routes = {
                "/health": lambda: {"status": "ok"},
                "/faults": lambda: mailbox.faults,
                "/messages": mailbox.messages,
                "/stats": mailbox.stats,
            }
            if self.path not in routes:
                return self._send(HTTPStatus.NOT_FOUND, {"error": f"no route {self.path}"})
            self._send(HTTPStatus.OK, routes[self.path]())

        def do_PUT(self):
            if self.path != "/faults":
                return self._send(HTTPStatus.NOT_FOUND, {"error": f"no route {self.path}"})
            try:
                changes = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                self._send(HTTPStatus.OK, mailbox.set_faults(changes))
            except (ValueError, TypeError, AttributeError) as exc:
                self._send(HTTPStatus.BAD_REQUEST, {"error": str(exc)})

        def do_DELETE(self):
            if self.path != "/messages":
                return self._send(HTTPStatus.NOT_FOUND, {"error": f"no route {self.path}"})
            mailbox.clear()
            self._send(HTTPStatus.OK, {"deleted": True})

        def log_message(self, format, *args):  # noqa: A002 - the base class's name
            pass  # one line per API call would drown the provider's own log

    return Api


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The lab's SMTP email provider")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--smtp-port", type=int, required=True)
    parser.add_argument("--api-port", type=int, required=True)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--failure-rate", type=float, default=0.0)
    parser.add_argument("--store", type=Path, required=True, help="JSON-lines file of delivered messages")
    parser.add_argument("--relay", help="HOST:PORT of an SMTP server that gets a copy of each message")
    args = parser.parse_args(argv)
    relay = None
    if args.relay:
        host, _, port = args.relay.rpartition(":")
        relay = (host, int(port))

    mailbox = Mailbox(args.store, args.latency_ms, args.failure_rate)
    controller = Controller(SlowFlakyHandler(mailbox, relay), hostname=args.host, port=args.smtp_port)
    controller.start()
    api = ThreadingHTTPServer((args.host, args.api_port), api_handler(mailbox))
    print(f"SMTP on {args.host}:{args.smtp_port}, API on {args.host}:{args.api_port}, faults {mailbox.faults}", flush=True)
    try:
        api.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
