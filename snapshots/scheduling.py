"""Which documents are due, claimed so that no two dispatchers send the same check."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection, transaction

from platforms.models import Document
from snapshots.models import Check, CheckOutcome


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


def checks_dispatch(*, now: datetime, enqueue, limit: int | None = None) -> int:
    """Claim due documents and enqueue one check each, spreading checks of one host in time.

    Workers would otherwise sit in the per-host throttle: the k-th document of a host in
    this batch is enqueued with a countdown of k times FETCH_HOST_INTERVAL. The throttle stays
    as the guarantee; this only keeps worker slots from waiting on it.
    """
    ids = due_documents_claim(now=now, limit=limit)
    if not ids:
        return 0
    hosts = dict(Document.objects.filter(pk__in=ids).values_list("pk", "url"))
    seen: dict[str, int] = {}
    for doc_id in ids:
        host = (urlsplit(hosts.get(doc_id, "")).hostname or "").removeprefix("www.")
        slot = seen.get(host, 0)
        seen[host] = slot + 1
        enqueue(doc_id, countdown=slot * settings.FETCH_HOST_INTERVAL)
    return len(ids)


def check_log_prune(*, now: datetime) -> int:
    """Drop old routine checks; errors, changes and holds stay as the document's record."""
    cutoff = now - settings.TRACK_CHECK_RETENTION
    deleted, _ = Check.objects.filter(
        outcome__in=[CheckOutcome.UNCHANGED, CheckOutcome.NOT_MODIFIED], checked_at__lt=cutoff
    ).delete()
    return deleted
