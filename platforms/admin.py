from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count, Q

from platforms.forms import DocumentForm
from platforms.models import Document, Platform, Statement

TRACKING_FIELDS = (
    "status",
    "next_check_at",
    "last_checked_at",
    "consecutive_failures",
    "last_error",
)


class FailingFilter(admin.SimpleListFilter):
    title = "failing"
    parameter_name = "failing"

    def lookups(self, request, model_admin):
        return [("yes", "Failing"), ("no", "Healthy")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(consecutive_failures__gt=0)
        if self.value() == "no":
            return queryset.filter(consecutive_failures=0)
        return queryset


class DocumentInline(admin.StackedInline):
    model = Document
    form = DocumentForm
    extra = 0
    show_change_link = True
    readonly_fields = TRACKING_FIELDS
    fieldsets = [
        (None, {"fields": ["kind", "title", "url", "active"]}),
        (
            "Fetching",
            {
                "fields": ["fetcher", "check_interval", "select", "remove", "ignore_patterns"],
                "classes": ["collapse"],
            },
        ),
        ("Tracking", {"fields": TRACKING_FIELDS, "classes": ["collapse"]}),
    ]


class StatementInline(admin.StackedInline):
    model = Statement
    extra = 0
    show_change_link = True
    fields = ["date", "kind", "title", "summary", "quote", "source_url", "outlet"]


@admin.register(Platform)
class PlatformAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "homepage", "document_count", "failing_count"]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [DocumentInline, StatementInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                _documents=Count("documents", distinct=True),
                _failing=Count(
                    "documents", filter=Q(documents__consecutive_failures__gt=0), distinct=True
                ),
            )
        )

    @admin.display(description="documents", ordering="_documents")
    def document_count(self, obj) -> int:
        return obj._documents

    @admin.display(description="failing", ordering="_failing")
    def failing_count(self, obj) -> int:
        return obj._failing


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    form = DocumentForm
    list_display = ["title", "platform", "kind", "fetcher", "active", "status", "last_checked_at"]
    list_filter = ["kind", "status", FailingFilter, "active", "fetcher", "platform"]
    list_select_related = ["platform"]
    search_fields = ["title", "url", "platform__name"]
    autocomplete_fields = ["platform"]
    readonly_fields = TRACKING_FIELDS
    actions = ["activate", "deactivate"]
    fieldsets = [
        (None, {"fields": ["platform", "kind", "title", "url", "active"]}),
        (
            "Fetching",
            {"fields": ["fetcher", "check_interval", "select", "remove", "ignore_patterns"]},
        ),
        ("Tracking", {"fields": TRACKING_FIELDS}),
    ]

    @admin.action(description="Activate tracking of the selected documents")
    def activate(self, request, queryset):
        count = queryset.update(active=True)
        self.message_user(request, f"{count} document(s) activated.", messages.SUCCESS)

    @admin.action(description="Deactivate tracking of the selected documents")
    def deactivate(self, request, queryset):
        count = queryset.update(active=False)
        self.message_user(request, f"{count} document(s) deactivated.", messages.SUCCESS)


@admin.register(Statement)
class StatementAdmin(admin.ModelAdmin):
    list_display = ["date", "platform", "kind", "title", "outlet"]
    list_filter = ["kind", "platform"]
    list_select_related = ["platform"]
    search_fields = ["title", "summary", "quote", "outlet", "platform__name"]
    date_hierarchy = "date"
    autocomplete_fields = ["platform"]
