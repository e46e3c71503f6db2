"""How Chirp's job queue (celery_app.py) treats a task: Celery's defaults.

Fragile on purpose (Lab 3), twice:
- Nothing is sent to the queue yet. The welcome email (mail.py), the PDF report (reports.py) and the
  avatar resize (uploads.py) all run inside the request that asks for them, holding its thread.
- Celery's defaults are made for throughput rather than for losing nothing: a task is acknowledged
  as soon as a worker takes it, so a worker that dies mid-task loses it (task_acks_late is off);
  each worker process reserves 4 tasks ahead of time (worker_prefetch_multiplier); and with Redis
  as the broker, a task taken by a worker that then vanished is handed out again only after an hour
  (the visibility_timeout).
Lab 3 moves the slow work onto the queue and makes the queue lose nothing.
"""


def settings() -> dict:
    """Celery settings on top of its defaults: none."""
    return {}
