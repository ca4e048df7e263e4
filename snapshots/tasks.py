"""Celery tasks: thin, load by id, call a service, safe to run twice."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone
from kombu import Connection

from config.logcontext import log_context
from platforms.models import Document
from snapshots.scheduling import check_log_prune, checks_dispatch
from snapshots.services import document_check
from snapshots.throttle import HostBusy, Reservation, holding, patience

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True)
def dispatch_due_checks() -> int:
    with checks_enqueuer() as enqueue:
        return checks_dispatch(now=timezone.now(), enqueue=enqueue)


# On the Redis broker, kombu keeps a list per priority step (0, 3, 6, 9) and workers take
# from the lowest number first. A dispatch sends thousands of checks at once; a check
# re-queued for the slot the throttle reserved for it must not wait behind them (it would
# come back after its slot, and lose it), nor should an admin's "Check now" or the alert
# and email tasks. So a dispatch's checks go at a later priority than everything else.
DISPATCHED_CHECK_PRIORITY = 6


def enqueue_check(
    doc_id: int, *, countdown: float | None = None, reservation: Reservation | None = None
) -> None:
    kwargs = {"reservation": reservation.as_message()} if reservation is not None else None
    check_document.apply_async((doc_id,), kwargs, countdown=countdown or None)


@contextmanager
def checks_enqueuer(connection: Connection | None = None) -> Iterator[Callable[[int], None]]:
    """enqueue_check for a batch: the messages go to the broker together, in order, on exit.

    Sent one by one, each message cost the dispatcher as much CPU as an unchanged static
    page costs the worker (kombu builds a Redis client per message). A batch is one
    pipeline per 1,000 messages. Should the dispatch fail, the checks it claimed and did
    not send are dispatched again when their claim's lease runs out, as after a crash.
    `connection` is the broker connection to send on; by default, one from the app's pool.
    """
    if settings.CELERY_TASK_ALWAYS_EAGER:
        yield enqueue_check  # in-process: each check runs as it is enqueued
        return
    app = check_document.app
    producing = app.producer_or_acquire() if connection is None else app.amqp.Producer(connection)
    with producing as producer, producer.batch():
        yield lambda doc_id: check_document.apply_async(
            (doc_id,), producer=producer, priority=DISPATCHED_CHECK_PRIORITY
        )


# The database restarting or failing over under a check: try again in seconds rather than
# wait for the claim lease (TRACK_CLAIM_LEASE) to run out. A check is safe to run twice.
@shared_task(
    acks_late=True,
    ignore_result=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=2,
    retry_backoff_max=60,
    max_retries=5,
)
def check_document(document_id: int, reservation: object = None) -> str | None:
    """`reservation`: the host's slot the throttle reserved for this check when it was
    re-queued (Reservation.as_message()); anything else is ignored."""
    with log_context(document_id=document_id):
        try:
            # A worker process asleep in the per-host throttle is a check not done: when the
            # host's next slot is further off, the throttle reserves it for this check, which
            # comes back at that slot holding the reservation, and the process takes other
            # checks meanwhile.
            # (Not when tasks run in-process: there is no other work to take meanwhile.)
            eager = settings.CELERY_TASK_ALWAYS_EAGER
            with (
                patience(None if eager else settings.FETCH_THROTTLE_PATIENCE),
                holding(Reservation.from_message(reservation)),
            ):
                return document_check(document_id=document_id).outcome
        except HostBusy as busy:
            logger.info("host busy: check again in %.2f s (%s)", busy.retry_in, busy)
            enqueue_check(document_id, countdown=busy.retry_in, reservation=busy.reservation)
            return "host busy"
        except Document.DoesNotExist:
            return None  # deleted after it was dispatched


@shared_task(acks_late=True, ignore_result=True)
def prune_check_log() -> int:
    return check_log_prune(now=timezone.now())


@shared_task(acks_late=True, ignore_result=True)
def prune_snapshots() -> str:
    """Orphaned bodies, and old versions' bodies when TRACK_SNAPSHOT_RETENTION_DAYS is set."""
    from snapshots.retention import snapshots_retention_prune

    return snapshots_retention_prune(now=timezone.now()).summary()


@shared_task(acks_late=True, ignore_result=True)
def backfill_document(
    document_id: int, since: str | None = None, until: str | None = None
) -> str | None:
    """History from the Wayback Machine; rerunning continues where a run stopped."""
    from datetime import date

    from snapshots.backfill import BackfillError, document_backfill

    with log_context(document_id=document_id):
        try:
            report = document_backfill(
                document_id=document_id,
                since=date.fromisoformat(since) if since else None,
                until=date.fromisoformat(until) if until else None,
            )
        except Document.DoesNotExist:
            return None  # deleted after it was queued
        except BackfillError as exc:
            logger.warning("backfill of document %s failed: %s", document_id, exc)
            return f"failed: {exc}"
        return report.summary()
