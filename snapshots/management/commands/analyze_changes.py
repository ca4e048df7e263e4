from __future__ import annotations

from django.core.management.base import BaseCommand

from snapshots.models import Change
from snapshots.recording import change_analyze


class Command(BaseCommand):
    help = (
        "Compute the stored diff, word counts, AI analysis and summary of changes: those never "
        "analysed (recorded before the analysis existed), or all of them with --all."
    )

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="re-analyse every change")
        parser.add_argument("--batch", type=int, default=200, help="changes per batch")

    def handle(self, *args, all: bool, batch: int, **options):
        changes = Change.objects.order_by("id")
        if not all:
            changes = changes.filter(analyzed_at__isnull=True)
        total = 0
        last_id = 0
        while True:
            chunk = list(
                changes.filter(id__gt=last_id).select_related("old_version", "new_version")[:batch]
            )
            if not chunk:
                break
            for change in chunk:
                change_analyze(change=change)
                total += 1
            last_id = chunk[-1].id
            self.stdout.write(f"analysed {total} change(s)…")
        self.stdout.write(f"done: {total} change(s) analysed")
