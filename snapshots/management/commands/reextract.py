from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from platforms.models import Document
from snapshots.reextraction import document_reextract


class Command(BaseCommand):
    help = (
        "Re-extract documents from their stored pages with the current selectors; differences are "
        "recorded as technical changes, never published or alerted."
    )

    def add_arguments(self, parser):
        parser.add_argument("--document", type=int, metavar="ID", help="only this document")

    def handle(self, *args, document: int | None, **options):
        documents = Document.objects.select_related("platform", "latest_snapshot").order_by("id")
        if document is not None:
            documents = documents.filter(pk=document)
            if not documents.exists():
                raise CommandError(f"no document with id {document}")
        for doc in documents:
            self.stdout.write(f"{doc.pk:>5}  {doc}: {document_reextract(document=doc)}")
