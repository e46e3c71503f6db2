"""Chirp's Celery app, on Redis, for whatever runs outside the request. Not a lab module.

Its tasks run inside a Flask app context, so they use the app's config and database like a request
does. How the queue behaves when a worker dies is queue_settings.py's business (Lab 3); the worker
process starts from make_celery.py.
"""

from celery import Celery, Task

from . import queue_settings


def init_app(app) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    queue = Celery(app.import_name, task_cls=FlaskTask)
    queue.conf.update(broker_url=app.config["REDIS_URL"], result_backend=app.config["REDIS_URL"])
    queue.conf.update(queue_settings.settings())
    queue.set_default()
    app.extensions["celery"] = queue
    return queue
