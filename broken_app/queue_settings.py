"""How Chirp's job queue (celery_app.py) treats a task: fixed in Lab 3 (async boundaries), to lose nothing.

Delivery is at least once: a task may run more than once, never zero times. So every task is
idempotent (the welcome email carries a key the provider deduplicates by, mail.py), and the settings
below make sure a task is never lost:
- task_acks_late: a task is acknowledged when it finishes, not when a worker takes it. A worker that
  dies mid-task has not acknowledged it, so the broker hands it out again.
- task_reject_on_worker_lost: when a worker's child process is killed mid-task (the OOM killer, a
  segfault), the task goes back to the queue instead of being acknowledged as failed.
- worker_prefetch_multiplier = 1: each worker process reserves one task at a time. Tasks wait in the
  queue, where any worker can take them, not in the memory of a busy one.
- visibility_timeout (Redis only) = 20 s: how long a task may stay taken and unacknowledged before
  Redis hands it to another worker. Celery's default is an hour, so a killed worker's tasks would
  wait an hour. Shorter brings them back sooner, but any task, or retry countdown, longer than it
  is handed out a second time while the first is still running or waiting: hence short tasks,
  retries capped well below it (mail.py), and idempotency for the rest. Kombu looks for such tasks
  only every 100 s by default (unacked_restore_interval x unacked_restore_throttle): every 2 s here.
- task_time_limit: a task that hangs is killed after 15 s, inside the visibility timeout.
"""

VISIBILITY_TIMEOUT_S = 20


def settings() -> dict:
    """Celery settings on top of its defaults."""
    return {
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "broker_transport_options": {
            "visibility_timeout": VISIBILITY_TIMEOUT_S,
            "unacked_restore_interval": 2,
            "unacked_restore_throttle": 1,
        },
        "result_backend_transport_options": {"visibility_timeout": VISIBILITY_TIMEOUT_S},
        "task_time_limit": 15,
        "broker_connection_retry_on_startup": True,
    }
