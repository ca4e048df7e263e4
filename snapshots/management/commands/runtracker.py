from __future__ import annotations

import time

from django.core.management.base import BaseCommand
from django.utils import timezone

from config.logcontext import log_context
from snapshots.retention import snapshots_retention_prune
from snapshots.scheduling import check_log_prune, due_documents_claim
from snapshots.services import document_check


class Command(BaseCommand):
    help = "Run the tracker in this process (make run): dispatch due checks every minute, without Celery."

    def add_arguments(self, parser):
        parser.add_argument(
            "--interval", type=float, default=60.0, help="seconds between dispatches"
        )
        parser.add_argument("--once", action="store_true", help="dispatch once and exit")

    def _alerts_housekeeping(self) -> None:
        """What beat does with Celery: digests when a period ends, retries of failed sends."""
        from alerts.tasks import resume_deliveries, send_digests

        for task, args in (
            (send_digests, ("daily",)),
            (send_digests, ("weekly",)),
            (resume_deliveries, ()),
        ):
            try:
                task(*args)  # each is idempotent: safe every minute
            except Exception as exc:  # mail trouble must not stop the tracker
                self.stderr.write(f"{task.name}: {type(exc).__name__}: {exc}")

    def handle(self, *args, interval: float, once: bool, **options):
        last_prune = 0.0
        while True:
            started = time.monotonic()
            for doc_id in due_documents_claim(now=timezone.now()):
                try:
                    with log_context(task="runtracker", document_id=doc_id):
                        check = document_check(document_id=doc_id)
                    self.stdout.write(f"document {doc_id}: {check.outcome}")
                except Exception as exc:  # one bad document must not stop the tracker
                    self.stderr.write(f"document {doc_id}: {type(exc).__name__}: {exc}")
            if started - last_prune > 6 * 3600:
                check_log_prune(now=timezone.now())
                snapshots_retention_prune(now=timezone.now())
                last_prune = started
            self._alerts_housekeeping()
            if once:
                return
            time.sleep(max(0.0, interval - (time.monotonic() - started)))
