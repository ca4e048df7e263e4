from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from platforms.declarations import declarations_import
from snapshots.fetching import fetch_settings


class Command(BaseCommand):
    help = (
        "Create or update platforms and documents from Open Terms Archive service "
        "declarations (JSON files, or folders of them; *.history.json files are skipped). "
        "Idempotent, and rows an admin edited are kept. Each file is imported whole or not "
        "at all; a bad file is reported and the others are still imported. Exits 1 if any "
        "file failed or any document was skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", type=Path, metavar="PATH")

    def handle(self, *args, paths: list[Path], **options):
        # The fetcher's address policy: FETCH_ALLOW_PRIVATE, FETCH_ALLOWED_NETWORKS.
        report = declarations_import(paths=paths, policy=fetch_settings().policy)
        for line in report.lines():
            style = self.style.ERROR if line.startswith("FAILED") else None
            self.stdout.write(style(line) if style else line)
        if not report.ok:
            raise CommandError(
                f"{len(report.failed)} file(s) failed, {len(report.skipped)} document(s) skipped",
                returncode=1,
            )
