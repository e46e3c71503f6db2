"""The worker's entry point: `celery -A broken_app.make_celery worker`. Not a lab module.

It creates Chirp's Flask app, whose Celery app (celery_app.py) knows every task the app's modules
define, and gives the worker a liveness probe for the stack: once the worker is ready to take
tasks, GET / on CHIRP_WORKER_HEALTH_PORT (at CHIRP_WORKER_HEALTH_HOST, 127.0.0.1 by default)
answers 200. Celery has no HTTP endpoint of its own.
"""

import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from celery.signals import worker_ready

from . import create_app

flask_app = create_app()
celery_app = flask_app.extensions["celery"]


class Alive(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"ok\n")

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass  # a line per probe would drown the worker's log


@worker_ready.connect
def serve_liveness_probe(**_) -> None:
    port = os.environ.get("CHIRP_WORKER_HEALTH_PORT")
    if port:
        # Loopback unless told otherwise: natively the stack probes it from the same machine.
        host = os.environ.get("CHIRP_WORKER_HEALTH_HOST", "127.0.0.1")
        server = ThreadingHTTPServer((host, int(port)), Alive)
        threading.Thread(target=server.serve_forever, daemon=True).start()
