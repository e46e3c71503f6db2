"""Load runs mark Grafana's dashboards when Grafana answers, and skip it quietly when not.

Grafana runs in Docker mode only, so the first test stands a small HTTP server in for it, on
Grafana's port, answering the two calls scalelab.kit.annotations makes (GET /api/health, POST
/api/annotations) and recording what it was sent: it checks the request, not Grafana.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from scalelab.kit import annotations
from scalelab.stack import settings as settings_module


@pytest.fixture
def grafana_port_settings(lab_settings, free_port):
    port = free_port()
    return port, settings_module.Settings({**lab_settings.values, "SCALELAB_GRAFANA_PORT": str(port)})


def test_a_mark_posts_an_annotation_with_the_runs_tags(grafana_port_settings):
    port, lab = grafana_port_settings
    received = []

    class GrafanaStandIn(BaseHTTPRequestHandler):
        def do_GET(self):
            self._answer({"database": "ok"} if self.path == "/api/health" else {})

        def do_POST(self):
            received.append((self.path, json.loads(self.rfile.read(int(self.headers["Content-Length"])))))
            self._answer({"id": 1, "message": "Annotation added"})

        def _answer(self, body):
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), GrafanaStandIn)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        api = annotations.grafana(lab)
        assert api is not None
        annotations.mark(api, "load run X started", ["baseline"])
    finally:
        server.shutdown()
    [(path, body)] = received
    assert path == "/api/annotations"
    assert body["text"] == "load run X started"
    assert body["tags"] == ["scalelab", "load", "baseline"]
    assert body["time"] > 1_700_000_000_000  # milliseconds


def test_without_grafana_marking_is_skipped_quietly(grafana_port_settings):
    _, lab = grafana_port_settings  # nothing listens there
    api = annotations.grafana(lab)
    assert api is None
    annotations.mark(api, "load run X started", ["baseline"])  # no error, nothing sent
