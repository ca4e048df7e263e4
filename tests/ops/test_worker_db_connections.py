"""Worker tasks reuse their database connection, and never inherit a broken one."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from celery import signals
from celery.fixups.django import DjangoWorkerFixup
from django.db import connection

from config.celery import app


class Task:
    """What the task signals get as sender: a task and the request it runs."""

    name = "snapshots.tasks.check_document"

    def __init__(self, *, eager: bool = False) -> None:
        self.request = SimpleNamespace(is_eager=eager)


def task_in_a_worker() -> Task:
    return Task()


def around_a_task(fixup: DjangoWorkerFixup) -> None:
    """The signals a worker sends around one task: Celery's fixup and ours."""
    sender = task_in_a_worker()
    fixup.on_task_prerun(sender)
    signals.task_prerun.send(sender=sender, task_id="t", task=sender, args=(), kwargs={})
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    fixup.on_task_postrun(sender)
    signals.task_postrun.send(sender=sender, task_id="t", task=sender, args=(), kwargs={})


@pytest.fixture
def persistent_connection():
    """The connection as production opens it: kept for CONN_MAX_AGE seconds."""
    max_age = connection.settings_dict["CONN_MAX_AGE"]
    connection.close()
    connection.settings_dict["CONN_MAX_AGE"] = 60
    connection.ensure_connection()
    yield connection
    connection.settings_dict["CONN_MAX_AGE"] = max_age
    connection.close()


@pytest.mark.django_db(transaction=True)
def test_a_worker_keeps_its_connection_from_task_to_task(persistent_connection):
    fixup = DjangoWorkerFixup(app)
    assert fixup.db_reuse_max == 1000  # without it, Celery closes the connection every task
    raw = persistent_connection.connection
    for _ in range(5):
        around_a_task(fixup)
    assert persistent_connection.connection is raw


@pytest.mark.django_db(transaction=True)
def test_a_connection_broken_under_a_task_is_not_handed_to_the_next(persistent_connection):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite never reports a connection unusable; workers run on PostgreSQL")
    fixup = DjangoWorkerFixup(app)
    around_a_task(fixup)
    broken = persistent_connection.connection
    # The database went away under the task: the driver's connection is dead, Django saw errors.
    broken.close()
    persistent_connection.errors_occurred = True
    sender = task_in_a_worker()
    signals.task_postrun.send(sender=sender, task_id="t", task=sender, args=(), kwargs={})
    assert persistent_connection.connection is None  # dropped, not reused
    around_a_task(fixup)  # the next task connects afresh
    assert persistent_connection.connection is not None
    assert persistent_connection.connection is not broken


@pytest.mark.django_db(transaction=True)
def test_a_task_run_in_process_leaves_its_callers_connection_alone(persistent_connection):
    raw = persistent_connection.connection
    persistent_connection.errors_occurred = True  # even one a worker would drop
    raw.close()
    eager = Task(eager=True)
    signals.task_postrun.send(sender=eager, task_id="t", task=eager, args=(), kwargs={})
    assert persistent_connection.connection is raw
    persistent_connection.errors_occurred = False
