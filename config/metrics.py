"""/metrics: the tracker's state in the Prometheus text format, read from the database at
scrape time.

Nothing is counted in process memory: gunicorn runs several workers and Celery others, and
the database already holds every check and email. So every figure is a gauge over the
tables — six aggregate queries per scrape — and the same from whichever process answers.

Access: with METRICS_TOKEN set, `Authorization: Bearer <token>`; without it, only from
loopback while DEBUG is on, and not at all in production (a reverse proxy on the same host
would make every public request look like loopback).
"""

from __future__ import annotations

import hmac
from datetime import timedelta
from ipaddress import ip_address

from django.conf import settings
from django.db.models import Count, Max, Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

# Windows of the check counts. Routine checks are pruned after TRACK_CHECK_RETENTION_DAYS, so
# totals over the whole table would fall: recent windows are what an alert can rely on.
CHECK_WINDOWS = {"1h": timedelta(hours=1), "24h": timedelta(hours=24)}
# A due document not dispatched within this is overdue: beat or the dispatcher has stopped.
OVERDUE_AFTER = timedelta(minutes=10)


class TrackerCollector:
    """Reads the figures when Prometheus scrapes (prometheus_client's custom collector)."""

    def describe(self):
        return []  # nothing to query at registration

    def collect(self):
        now = timezone.now()
        yield from self._checks(now)
        yield from self._documents(now)
        yield from self._archive()
        yield from self._alerts()
        yield from self._queue()

    def _checks(self, now):
        from snapshots.models import Check, CheckOutcome

        family = GaugeMetricFamily(
            "clausewatch_checks",
            "Document checks in the last window, by outcome.",
            labels=["outcome", "window"],
        )
        longest = max(CHECK_WINDOWS.values())
        counts = {
            name: Count("id", filter=Q(checked_at__gte=now - span))
            for name, span in CHECK_WINDOWS.items()
        }
        # Listing every outcome lets the database use check_prune_idx (outcome, checked_at):
        # one range per outcome instead of reading the whole check log.
        rows = {
            row["outcome"]: row
            for row in Check.objects.filter(
                outcome__in=CheckOutcome.values, checked_at__gte=now - longest
            )
            .order_by()
            .values("outcome")
            .annotate(**counts)
        }
        for outcome in CheckOutcome.values:
            for window in CHECK_WINDOWS:
                family.add_metric([outcome, window], rows.get(outcome, {}).get(window, 0))
        yield family

    def _documents(self, now):
        from platforms.kinds import DocumentStatus
        from platforms.models import Document

        rows = list(
            Document.objects.order_by()
            .values("status", "active")
            .annotate(
                n=Count("id"),
                failing=Count("id", filter=Q(consecutive_failures__gt=0)),
                overdue=Count("id", filter=Q(active=True, next_check_at__lt=now - OVERDUE_AFTER)),
                last_checked=Max("last_checked_at"),
            )
        )
        by_status = GaugeMetricFamily(
            "clausewatch_documents",
            "Tracked documents by status (active ones, and all).",
            labels=["status", "active"],
        )
        for status in DocumentStatus.values:
            for active in (True, False):
                n = sum(r["n"] for r in rows if r["status"] == status and r["active"] is active)
                by_status.add_metric([status, "true" if active else "false"], n)
        yield by_status
        yield GaugeMetricFamily(
            "clausewatch_documents_failing",
            "Active documents whose last check failed (one or more failures in a row).",
            value=sum(r["failing"] for r in rows if r["active"]),
        )
        yield GaugeMetricFamily(
            "clausewatch_documents_overdue",
            f"Active documents due for more than {int(OVERDUE_AFTER.total_seconds())} s: "
            "the dispatcher is not keeping up or has stopped.",
            value=sum(r["overdue"] for r in rows),
        )
        last = max((r["last_checked"] for r in rows if r["last_checked"]), default=None)
        if last is not None:
            yield GaugeMetricFamily(
                "clausewatch_last_check_age_seconds",
                "Seconds since the most recent check of any document.",
                value=max(0.0, (now - last).total_seconds()),
            )

    def _archive(self):
        from snapshots.models import Change, Version

        yield GaugeMetricFamily(
            "clausewatch_versions",
            "Versions recorded (all documents).",
            value=Version.objects.count(),
        )
        changes = GaugeMetricFamily(
            "clausewatch_changes",
            "Changes recorded, by kind and whether they are published.",
            labels=["kind", "published"],
        )
        rows = (
            Change.objects.order_by()
            .values("kind")
            .annotate(
                published=Count("id", filter=Q(published_at__isnull=False)),
                unpublished=Count("id", filter=Q(published_at__isnull=True)),
            )
        )
        for row in rows:
            changes.add_metric([row["kind"], "true"], row["published"])
            changes.add_metric([row["kind"], "false"], row["unpublished"])
        yield changes

    def _alerts(self):
        from alerts.models import Delivery, DeliveryState, Subscriber

        deliveries = GaugeMetricFamily(
            "clausewatch_deliveries",
            "Alert emails by kind and state (state=sent: emails sent; failed: given up).",
            labels=["kind", "state"],
        )
        counts = {
            (row["kind"], row["state"]): row["n"]
            for row in Delivery.objects.order_by().values("kind", "state").annotate(n=Count("id"))
        }
        kinds = sorted({kind for kind, _ in counts} | {"instant", "daily", "weekly"})
        for kind in kinds:
            for state in DeliveryState.values:
                deliveries.add_metric([kind, state], counts.get((kind, state), 0))
        yield deliveries
        subscribers = GaugeMetricFamily(
            "clausewatch_subscribers", "Alert subscribers by status.", labels=["status"]
        )
        for row in Subscriber.objects.order_by().values("status").annotate(n=Count("id")):
            subscribers.add_metric([row["status"]], row["n"])
        yield subscribers

    def _queue(self):
        """Celery's queue in Redis: waiting messages and those reserved by workers. Absent
        when tasks run in-process (no REDIS_URL)."""
        if not settings.REDIS_URL:
            return
        import redis
        from kombu.transport.redis import PRIORITY_STEPS, Channel

        from config.celery import app

        queue = app.conf.task_default_queue
        # Kombu keeps one Redis list per priority step: "celery", "celery\x06\x163", …
        keys = [queue] + [f"{queue}{Channel.sep}{step}" for step in PRIORITY_STEPS if step]
        up = GaugeMetricFamily("clausewatch_broker_up", "1 if the Celery broker (Redis) answered.")
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2
        )
        try:
            pipe = client.pipeline(transaction=False)
            for key in keys:
                pipe.llen(key)
            pipe.hlen(Channel.unacked_key)
            *lengths, unacked = pipe.execute()
        except redis.RedisError:
            up.add_metric([], 0)
            yield up
            return
        finally:
            client.close()
        up.add_metric([], 1)
        yield up
        depth = GaugeMetricFamily(
            "clausewatch_queue_depth", "Tasks waiting in the Celery queue.", labels=["queue"]
        )
        depth.add_metric([queue], sum(lengths))
        yield depth
        yield GaugeMetricFamily(
            "clausewatch_queue_unacked",
            "Tasks reserved by workers and not yet acknowledged (running, or waiting on a countdown).",
            value=unacked,
        )


registry = CollectorRegistry(auto_describe=False)
registry.register(TrackerCollector())


def _allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        header = request.headers.get("Authorization", "")
        scheme, _, given = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), token.encode()
        )
    if not settings.DEBUG:
        return False
    try:
        return ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        if settings.METRICS_TOKEN:
            response = HttpResponse("Unauthorized\n", status=401, content_type="text/plain")
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        # No token in production: the endpoint does not exist.
        return HttpResponse("Not Found\n", status=404, content_type="text/plain")
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
