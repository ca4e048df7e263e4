"""Subscribers, deliveries and incidents in the admin: searchable, filterable, exportable."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Sequence

from django.contrib import admin
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from alerts import selectors
from alerts.models import Delivery, DocumentIncident, FanOut, Subscriber, Subscription

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "|", "%")


def csv_safe(value: object) -> str:
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def csv_response(
    filename: str,
    header: Sequence[str],
    rows: Iterable[object],
    values: Callable[[object], Sequence[object]],
) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="{filename}-{stamp}.csv"'
    writer = csv.writer(response)
    writer.writerow(header)
    for row in rows:
        writer.writerow([csv_safe(v) for v in values(row)])
    return response


class SubscriptionInline(admin.TabularInline):
    model = Subscription
    extra = 0
    autocomplete_fields = ["platform"]


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = [
        "email",
        "status",
        "frequency",
        "ai_only",
        "all_platforms",
        "confirmed_at",
        "created_at",
    ]
    list_filter = ["status", "frequency", "ai_only", "all_platforms"]
    search_fields = ["email"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "created_at",
        "confirmed_at",
        "unsubscribed_at",
        "updated_at",
        "digest_since",
        "token_version",
    ]
    inlines = [SubscriptionInline]
    actions = ["export_csv"]
    change_list_template = "alerts/admin/subscriber_change_list.html"

    @admin.action(description="Export selected subscribers as CSV")
    def export_csv(self, request, queryset):
        rows = queryset.prefetch_related("platforms").order_by("id")
        return csv_response(
            "subscribers",
            [
                "id",
                "email",
                "status",
                "frequency",
                "ai_only",
                "platforms",
                "confirmed_at",
                "created_at",
            ],
            rows,
            lambda s: [
                s.pk,
                s.email,
                s.status,
                s.frequency,
                s.ai_only,
                "all" if s.all_platforms else "; ".join(p.slug for p in s.platforms.all()),
                s.confirmed_at.isoformat() if s.confirmed_at else "",
                s.created_at.isoformat(),
            ],
        )

    def get_urls(self):
        custom = [
            path(
                "per-platform/",
                self.admin_site.admin_view(self.per_platform_view),
                name="alerts_subscriber_per_platform",
            )
        ]
        return custom + super().get_urls()

    def per_platform_view(self, request):
        """Read-only: how many active subscribers each platform has."""
        context = {
            **self.admin_site.each_context(request),
            "title": "Active subscribers per platform",
            "opts": self.model._meta,
            "rows": selectors.platform_subscriber_counts(),
        }
        return TemplateResponse(request, "alerts/admin/per_platform.html", context)

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "per_platform_url": reverse("admin:alerts_subscriber_per_platform"),
        }
        return super().changelist_view(request, extra_context)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "subscriber",
        "kind",
        "change",
        "period_end",
        "state",
        "attempts",
        "sent_at",
        "short_error",
    ]
    list_filter = ["state", "kind"]
    search_fields = ["subscriber__email", "=change__id", "last_error"]
    list_select_related = ["subscriber"]
    date_hierarchy = "created_at"
    raw_id_fields = ["subscriber", "change"]
    actions = ["export_csv"]
    readonly_fields = [f.name for f in Delivery._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="last error")
    def short_error(self, obj: Delivery) -> str:
        return obj.last_error[:80]

    @admin.action(description="Export selected deliveries as CSV")
    def export_csv(self, request, queryset):
        return csv_response(
            "deliveries",
            [
                "id",
                "email",
                "kind",
                "change",
                "period_end",
                "state",
                "attempts",
                "sent_at",
                "last_error",
            ],
            queryset.select_related("subscriber").order_by("id"),
            lambda d: [
                d.pk,
                d.subscriber.email,
                d.kind,
                d.change_id or "",
                d.period_end.isoformat() if d.period_end else "",
                d.state,
                d.attempts,
                d.sent_at.isoformat() if d.sent_at else "",
                d.last_error,
            ],
        )


@admin.register(FanOut)
class FanOutAdmin(admin.ModelAdmin):
    list_display = ["change", "created_at", "completed_at", "recipients"]
    raw_id_fields = ["change"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(DocumentIncident)
class DocumentIncidentAdmin(admin.ModelAdmin):
    list_display = ["document", "status", "last_status", "opened_at", "closed_at"]
    list_filter = ["status"]
    search_fields = ["document__title", "document__platform__name"]
    list_select_related = ["document__platform"]
    raw_id_fields = ["document"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
