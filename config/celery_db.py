"""Database connections in Celery workers: Django's request lifecycle, per task.

Django drops a connection between requests when it is older than CONN_MAX_AGE or has seen
an error it cannot recover from (the database restarted, failed over, or cut it). Worker
tasks get the same: before and after each task, so a connection broken under one task is
never handed to the next, while a healthy one is reused (CELERY_DB_REUSE_MAX keeps Celery's
own fixup from closing it every time).
"""

from __future__ import annotations

from typing import Any

from django.db import close_old_connections


def _close_old_connections(sender: Any = None, **_: Any) -> None:
    request = getattr(sender, "request", None)
    # A task run in-process (eager) is inside its caller's request or transaction.
    if not getattr(request, "is_eager", False):
        close_old_connections()


def connect_celery_signals() -> None:
    from celery import signals

    signals.task_prerun.connect(_close_old_connections, dispatch_uid="clausewatch-db-prerun")
    signals.task_postrun.connect(_close_old_connections, dispatch_uid="clausewatch-db-postrun")
