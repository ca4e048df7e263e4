"""Which documents are due, claimed so that no two dispatchers send the same check."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection, transaction

from platforms.models import Document
from snapshots.models import Check, CheckOutcome
from snapshots.spreading import spread_evenly


def due_documents_claim(*, now: datetime, limit: int | None = None) -> list[int]:
    """Claim active documents whose next check is due; returns the ids this caller won.

    A claim pushes next_check_at forward by a lease: if the worker dies mid-check, the
    document becomes due again when the lease expires. On PostgreSQL the due rows are locked
    with SKIP LOCKED (a concurrent dispatcher passes over them) and leased in one UPDATE;
    elsewhere each claim is a conditional UPDATE on the due time read, so a concurrent
    dispatcher that read the same row updates nothing.
    """
    lease_until = now + settings.TRACK_CLAIM_LEASE
    due = Document.objects.filter(active=True, next_check_at__lte=now).order_by("next_check_at")
    limit = limit or settings.TRACK_DISPATCH_BATCH
    if connection.features.has_select_for_update_skip_locked:
        with transaction.atomic():
            ids = list(due.select_for_update(skip_locked=True).values_list("id", flat=True)[:limit])
            Document.objects.filter(id__in=ids).update(next_check_at=lease_until)
        return ids
    return [
        doc_id
        for doc_id, due_at in due.values_list("id", "next_check_at")[:limit]
        if Document.objects.filter(id=doc_id, next_check_at=due_at).update(
            next_check_at=lease_until
        )
    ]


def checks_dispatch(
    *, now: datetime, enqueue: Callable[[int], object], limit: int | None = None
) -> int:
    """Claim due documents and enqueue one check each, every host's checks spread out.

    Each host's checks are spread over the batch in proportion to their number
    (`spread_evenly`), so that few reach the per-host throttle before their host's next
    polite slot — a host with 8 of 1,000 checks comes every 125th, not in the last few
    turns of a round-robin, where only the hosts with many checks are left. Hosts with as
    many checks take their turns in the same (alphabetical) order in every batch, so that
    the last check of a host in one batch and its first in the next are about as far
    apart as in the middle of a batch. A check that does reach its host too early is
    re-queued for the slot the throttle reserves for it (snapshots/tasks.py). Enqueueing
    every check of a host with a countdown instead would keep each in a worker's timer,
    which costs about as much as the check of an unchanged page.
    """
    ids = due_documents_claim(now=now, limit=limit)
    if not ids:
        return 0
    urls = dict(Document.objects.filter(pk__in=ids).values_list("pk", "url"))
    by_host: dict[str, list[int]] = {}
    for doc_id in ids:
        host = (urlsplit(urls.get(doc_id, "")).hostname or "").removeprefix("www.")
        by_host.setdefault(host, []).append(doc_id)
    for doc_id in spread_evenly([by_host[host] for host in sorted(by_host)]):
        enqueue(doc_id)
    return len(ids)


def check_log_prune(*, now: datetime) -> int:
    """Drop old routine checks; errors, changes and holds stay as the document's record."""
    cutoff = now - settings.TRACK_CHECK_RETENTION
    deleted, _ = Check.objects.filter(
        outcome__in=[CheckOutcome.UNCHANGED, CheckOutcome.NOT_MODIFIED], checked_at__lt=cutoff
    ).delete()
    return deleted
