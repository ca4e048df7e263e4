from __future__ import annotations

import argparse
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from platforms.models import Document
from snapshots.backfill import BackfillError, document_backfill


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from None


class Command(BaseCommand):
    help = (
        "Record a document's history from the Wayback Machine (WAYBACK_URL). "
        "Resumable: rerunning continues where a run stopped and never records a capture twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("--document", type=int, required=True, metavar="ID")
        parser.add_argument(
            "--since", type=_date, metavar="YYYY-MM-DD", help="first day of captures to read"
        )
        parser.add_argument(
            "--until", type=_date, metavar="YYYY-MM-DD", help="last day of captures to read"
        )

    def handle(self, *args, document: int, since: date | None, until: date | None, **options):
        if since and until and since > until:
            raise CommandError("--since is after --until")
        doc = Document.objects.select_related("platform").filter(pk=document).first()
        if doc is None:
            raise CommandError(f"no document with id {document}")
        self.stdout.write(f"{doc.pk:>5}  {doc.platform.name} — {doc.title}: {doc.url}")
        try:
            report = document_backfill(document_id=doc.pk, since=since, until=until)
        except BackfillError as exc:
            raise CommandError(f"backfill of document {doc.pk} failed: {exc}") from None
        for url, reason in report.skipped:
            self.stdout.write(f"  skipped {url}: {reason}")
        for url, reason in report.failed:
            self.stdout.write(f"  failed  {url}: {reason}")
        self.stdout.write(report.summary())
        if report.stopped:
            raise CommandError(f"stopped early: {report.stopped}")
