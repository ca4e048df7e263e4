"""Histories of documents for the timeline tests: chained versions and their analysed changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from snapshots.models import Change, ChangeKind
from tests.factories import ChangeFactory, DocumentFactory, VersionFactory

BASE = "# Terms\n\nWe host your uploads.\n\n## Sharing\n\nWe share data with service providers.\n"
AI_CLAUSE = "\n## AI\n\nWe may use your uploads to train artificial intelligence models.\n"
START = datetime(2024, 1, 10, 12, 0, tzinfo=UTC)


def texts(n: int, *, ai_every: int = 0) -> list[str]:
    """n + 1 distinct texts; change k adds an AI clause when ai_every divides k."""
    out = [BASE]
    for k in range(1, n + 1):
        extra = AI_CLAUSE if ai_every and k % ai_every == 0 else ""
        out.append(f"{BASE}\nClause number {k} about accounts and billing.\n{extra}")
    return out


def history(
    versions: list[str] | None = None,
    *,
    document=None,
    start: datetime = START,
    step: timedelta = timedelta(days=3),
    published: bool = True,
    **document_kwargs,
) -> list[Change]:
    """A document whose versions are `versions` (observed `step` apart); one change each."""
    document = document or DocumentFactory(**document_kwargs)
    versions = versions or texts(1, ai_every=1)
    previous = VersionFactory(document=document, text=versions[0], observed_at=start)
    changes = []
    for k, text in enumerate(versions[1:], start=1):
        version = VersionFactory(
            document=document, previous=previous, text=text, observed_at=start + step * k
        )
        changes.append(
            ChangeFactory(
                document=document,
                old_version=previous,
                new_version=version,
                published_at=start + step * k if published else None,
            )
        )
        previous = version
    return changes


def hidden(change: Change, kind: str = ChangeKind.TECHNICAL) -> Change:
    Change.objects.filter(pk=change.pk).update(kind=kind, published_at=None)
    change.refresh_from_db()
    return change
