"""Chirp: a small microblog, built the way a startup sensibly builds for its first 100 users.

Its scaling mistakes are deliberate, and each one is kept in one module whose docstring says
why it is fragile and which lab of Scale Wall Lab fixes it: db.py, auth.py and gunicorn.conf.py
(Lab 1), sessions.py, storage.py and config.py (Lab 2), queue_settings.py, uploads.py, mail.py and
reports.py (Lab 3), logs.py, metrics.py and tracing.py (Lab 4), posts.py (Lab 5). labs/labs.toml
lists them; tests/kit/test_layers.py keeps this list and each module's docstring in step with it.
"""

from flask import Flask, current_app
from sqlalchemy import text

from . import (
    api, auth, celery_app, config, db, errors, lab_faults, logs, metrics, pages, reports, schema, sessions, storage,
    tracing,
)


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(config.settings())
    if test_config is not None:
        app.config.update(test_config)
    sessions.init_app(app)
    celery_app.init_app(app)
    lab_faults.init_app(app)

    tracing.init_app(app)  # first: a request's span is open while the hooks below run and log
    metrics.init_app(app)
    logs.init_app(app)  # before the other hooks, so that its timer covers the whole request
    errors.init_app(app)
    db.init_app(app)
    schema.init_app(app)
    app.before_request(auth.load_logged_in_user)
    app.after_request(add_served_by)
    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(storage.bp)
    app.register_blueprint(reports.bp)
    app.add_url_rule("/healthz", view_func=healthz)
    return app


def add_served_by(response):
    """Tell which instance answered, so that load balancing is visible from the outside."""
    response.headers["X-Served-By"] = current_app.config["INSTANCE_NAME"]
    return response


def healthz():
    db.get_db().execute(text("SELECT 1"))
    return {"status": "ok", "instance": current_app.config["INSTANCE_NAME"]}
