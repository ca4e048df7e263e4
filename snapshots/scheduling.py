"""Which documents are due, claimed so that no two dispatchers send the same check."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection, transaction

from platforms.models import Document
from snapshots.models import Check, CheckOutcome
from snapshots.spreading import fair_shares, spread_evenly

# How far beyond the batch a claim looks among the due documents, so that each host takes
# no more than its share of the batch (fair_shares) while others are due.
CLAIM_WINDOW = 4


def due_documents_claim(*, now: datetime, limit: int | None = None) -> list[int]:
    """Claim active documents whose next check is due; returns the ids this caller won.

    The most overdue first, but no host more than its share of the batch while other hosts'
    documents are due (among the `CLAIM_WINDOW` times `limit` most overdue). A batch then
    carries each host in proportion, rather than more of one host's checks than its
    politeness interval lets the workers fetch while they work through the batch.

    A claim pushes next_check_at forward by a lease: if the worker dies mid-check, the
    document becomes due again when the lease expires. On PostgreSQL the chosen rows are
    locked with SKIP LOCKED (a concurrent dispatcher passes over them) and leased in one
    UPDATE; elsewhere each claim is a conditional UPDATE on the due time read, so a
    concurrent dispatcher that read the same row updates nothing.
    """
    return [doc_id for doc_id, _ in _claimed(now=now, limit=limit)]


def _claimed(*, now: datetime, limit: int | None) -> list[tuple[int, str]]:
    """(id, url) of the documents claimed, most overdue first."""
    lease_until = now + settings.TRACK_CLAIM_LEASE
    due = Document.objects.filter(active=True, next_check_at__lte=now).order_by("next_check_at")
    limit = limit or settings.TRACK_DISPATCH_BATCH
    window = list(due.values_list("id", "url", "next_check_at")[: limit * CLAIM_WINDOW])
    chosen = [window[i] for i in fair_shares([url_host(url) for _, url, _ in window], limit)]
    if connection.features.has_select_for_update_skip_locked:
        with transaction.atomic():
            won = set(
                due.filter(id__in=[doc_id for doc_id, _, _ in chosen])
                .select_for_update(skip_locked=True)
                .values_list("id", flat=True)
            )
            Document.objects.filter(id__in=won).update(next_check_at=lease_until)
        return [(doc_id, url) for doc_id, url, _ in chosen if doc_id in won]
    return [
        (doc_id, url)
        for doc_id, url, due_at in chosen
        if Document.objects.filter(id=doc_id, next_check_at=due_at).update(
            next_check_at=lease_until
        )
    ]


def url_host(url: str) -> str:
    """The host a document's checks are polite to, as dispatch groups them."""
    return (urlsplit(url).hostname or "").removeprefix("www.")


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
    claimed = _claimed(now=now, limit=limit)
    by_host: dict[str, list[int]] = {}
    for doc_id, url in claimed:
        by_host.setdefault(url_host(url), []).append(doc_id)
    for doc_id in spread_evenly([by_host[host] for host in sorted(by_host)]):
        enqueue(doc_id)
    return len(claimed)


def check_log_prune(*, now: datetime) -> int:
    """Drop old routine checks; errors, changes and holds stay as the document's record."""
    cutoff = now - settings.TRACK_CHECK_RETENTION
    deleted, _ = Check.objects.filter(
        outcome__in=[CheckOutcome.UNCHANGED, CheckOutcome.NOT_MODIFIED], checked_at__lt=cutoff
    ).delete()
    return deleted
