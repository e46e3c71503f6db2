"""The worker's entry point: `celery -A broken_app.make_celery worker`. Not a lab module.

It creates Chirp's Flask app, whose Celery app (celery_app.py) knows every task the app's modules
define, and gives the worker a liveness probe for the stack: once the worker is ready to take
tasks, GET / on CHIRP_WORKER_HEALTH_PORT (at CHIRP_WORKER_HEALTH_HOST, 127.0.0.1 by default)
answers 200. Celery has no HTTP endpoint of its own. The same server answers GET /metrics with the
worker's metrics for Prometheus, once Lab 4 gives it some (metrics.exposition()).
"""

import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from celery.signals import worker_ready

from . import create_app, metrics, tracing

flask_app = create_app()
celery_app = flask_app.extensions["celery"]
metrics.init_worker()
tracing.init_worker()


class Alive(BaseHTTPRequestHandler):
    def do_GET(self):
        page = metrics.exposition() if self.path == "/metrics" else (b"ok\n", "text/plain")
        if page is None:
            self.send_error(404, "no metrics: the worker measures nothing yet (Lab 4)")
            return
        body, content_type = page
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.end_headers()
        self.wfile.write(body)

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
