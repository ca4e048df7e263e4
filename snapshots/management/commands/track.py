from __future__ import annotations

from collections import Counter

from django.core.management.base import BaseCommand, CommandError

from platforms.models import Document
from snapshots.services import document_check


class Command(BaseCommand):
    help = "Check documents now, synchronously, and print what happened."

    def add_arguments(self, parser):
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--all", action="store_true", help="every active document")
        target.add_argument(
            "--platform", metavar="SLUG", help="the active documents of one platform"
        )
        target.add_argument(
            "--document", type=int, metavar="ID", help="one document, active or not"
        )

    def handle(self, *args, all: bool, platform: str | None, document: int | None, **options):
        documents = Document.objects.select_related("platform").order_by("platform__name", "id")
        if document is not None:
            documents = documents.filter(pk=document)
            if not documents.exists():
                raise CommandError(f"no document with id {document}")
        elif platform:
            documents = documents.filter(platform__slug=platform, active=True)
            if not documents.exists():
                raise CommandError(f"no active documents for platform {platform!r}")
        else:
            documents = documents.filter(active=True)
        totals: Counter[str] = Counter()
        for doc in documents:
            check = document_check(document_id=doc.pk)
            totals[check.outcome] += 1
            line = f"{doc.pk:>5}  {doc.platform.name} — {doc.title}: {check.get_outcome_display()}"
            if check.http_status:
                line += f" (HTTP {check.http_status})"
            if check.error:
                line += f" — {check.error}"
            elif check.detail:
                line += f" — {check.detail}"
            self.stdout.write(line)
        summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(totals.items()))
        self.stdout.write(f"checked {sum(totals.values())} document(s): {summary or 'nothing'}")
