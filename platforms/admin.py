from __future__ import annotations

from urllib.parse import urlsplit

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from platforms.forms import DocumentForm
from platforms.models import Document, Platform, Statement

TRACKING_FIELDS = (
    "status",
    "next_check_at",
    "last_checked_at",
    "consecutive_failures",
    "last_error",
)


class AdminDocumentForm(DocumentForm):
    """The document form, refusing at once an address the fetcher would refuse (SSRF)."""

    def clean_url(self) -> str:
        from platforms.declarations import address_refusal
        from snapshots.fetching import address_policy

        url = self.cleaned_data["url"]
        try:
            refusal = urlsplit(url).hostname and address_refusal(url, address_policy())
        except ValueError:
            refusal = None  # malformed: the model's validator says what is wrong with it
        if refusal:
            raise ValidationError(f"The tracker may not fetch this address: {refusal}.")
        return url


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


class UnstableFilter(admin.SimpleListFilter):
    title = "unstable"
    parameter_name = "unstable"

    def lookups(self, request, model_admin):
        return [("yes", "Flip-flopping")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(unstable_since__isnull=False)
        return queryset


class DocumentInline(admin.StackedInline):
    model = Document
    form = AdminDocumentForm
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
    form = AdminDocumentForm
    list_display = ["title", "platform", "kind", "fetcher", "active", "status", "last_checked_at"]
    list_filter = ["kind", "status", FailingFilter, UnstableFilter, "active", "fetcher", "platform"]
    list_select_related = ["platform"]
    search_fields = ["title", "url", "platform__name"]
    autocomplete_fields = ["platform"]
    readonly_fields = [*TRACKING_FIELDS, "unstable_since", "preview_link"]
    actions = ["activate", "deactivate", "check_now", "clear_unstable", "backfill_from_wayback"]
    fieldsets = [
        (None, {"fields": ["platform", "kind", "title", "url", "active"]}),
        (
            "Fetching",
            {
                "fields": [
                    "fetcher",
                    "check_interval",
                    "select",
                    "remove",
                    "ignore_patterns",
                    "preview_link",
                ]
            },
        ),
        ("Tracking", {"fields": [*TRACKING_FIELDS, "unstable_since"]}),
    ]

    def get_urls(self):
        preview = self.admin_site.admin_view(self.preview_view)
        return [
            path("<int:pk>/preview/", preview, name="platforms_document_preview"),
            *super().get_urls(),
        ]

    @admin.display(description="extraction preview")
    def preview_link(self, obj) -> str:
        if obj is None or obj.pk is None:
            return "Save the document first."
        url = reverse("admin:platforms_document_preview", args=[obj.pk])
        return format_html('<a href="{}">Try selectors on the latest stored page</a>', url)

    def preview_view(self, request, pk: int):
        from snapshots.reextraction import extraction_preview

        document = get_object_or_404(Document.objects.select_related("latest_snapshot"), pk=pk)
        if not self.has_view_permission(request, document):
            raise PermissionDenied

        def lines(name: str, default: list[str]) -> list[str]:
            raw = request.GET.get(name, "\n".join(default))
            return [line.strip() for line in raw.splitlines() if line.strip()]

        select = lines("select", document.select)
        remove = lines("remove", document.remove)
        ignore = lines("ignore_patterns", document.ignore_patterns)
        preview = extraction_preview(
            document=document, select=select, remove=remove, ignore_patterns=ignore
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": document,
            "title": f"Extraction preview: {document}",
            "select": "\n".join(select),
            "remove": "\n".join(remove),
            "ignore_patterns": "\n".join(ignore),
            "preview": preview,
        }
        return TemplateResponse(request, "admin/platforms/document/preview.html", context)

    @admin.action(description="Check the selected documents now", permissions=["change"])
    def check_now(self, request, queryset):
        from snapshots.tasks import check_document

        ids = list(queryset.values_list("pk", flat=True))
        for pk in ids:
            check_document.delay_on_commit(pk)
        self.message_user(
            request, f"{len(ids)} check(s) queued; see the check log for results.", messages.SUCCESS
        )

    @admin.action(description="Clear the unstable flag", permissions=["change"])
    def clear_unstable(self, request, queryset):
        from alerts.services import document_status_notify

        for document in queryset.filter(unstable_since__isnull=False, status="ok"):
            # Closes the "unstable" incident (and tells the admins) when nothing else is wrong.
            document_status_notify(document_id=document.pk, old_status="unstable", new_status="ok")
        count = queryset.update(unstable_since=None)
        self.message_user(
            request, f"{count} document(s) no longer marked unstable.", messages.SUCCESS
        )

    @admin.action(description="Activate tracking of the selected documents", permissions=["change"])
    def activate(self, request, queryset):
        count = queryset.update(active=True)
        self.message_user(request, f"{count} document(s) activated.", messages.SUCCESS)

    @admin.action(
        description="Deactivate tracking of the selected documents", permissions=["change"]
    )
    def deactivate(self, request, queryset):
        count = queryset.update(active=False)
        self.message_user(request, f"{count} document(s) deactivated.", messages.SUCCESS)

    @admin.action(description="Backfill from the Wayback Machine", permissions=["change"])
    def backfill_from_wayback(self, request, queryset):
        from snapshots.tasks import backfill_document

        ids = list(queryset.values_list("pk", flat=True))
        for pk in ids:
            backfill_document.delay_on_commit(pk)
        self.message_user(
            request,
            f"{len(ids)} backfill(s) queued. They run at the archive's pace (a few captures a "
            "second); see the check log (fetcher “wayback”) for each capture.",
            messages.SUCCESS,
        )


@admin.register(Statement)
class StatementAdmin(admin.ModelAdmin):
    list_display = ["date", "platform", "kind", "title", "outlet"]
    list_filter = ["kind", "platform"]
    list_select_related = ["platform"]
    search_fields = ["title", "summary", "quote", "outlet", "platform__name"]
    date_hierarchy = "date"
    # Autocomplete, not a select of every change: there are tens of thousands.
    autocomplete_fields = ["platform", "changes"]
    readonly_fields = ["suggested_changes"]

    @admin.display(description="changes closest in date")
    def suggested_changes(self, obj) -> str:
        """The same platform's published changes nearest the statement's date, to link."""
        from django.utils.html import format_html_join

        from timeline.selectors import changes_near

        if obj is None or obj.pk is None or obj.platform_id is None or obj.date is None:
            return (
                "Save the statement first: changes of its platform closest to its date appear here."
            )
        linked = set(obj.changes.values_list("pk", flat=True))
        nearby = changes_near(platform_id=obj.platform_id, day=obj.date)
        if not nearby:
            return "No published change of this platform yet."
        rows = format_html_join(
            "",
            '<li><a href="{}">#{}</a> {} · {} · {}{}</li>',
            (
                (
                    c.get_absolute_url(),
                    c.pk,
                    f"{c.observed_at:%Y-%m-%d}",
                    c.document.title,
                    c.headline or c.summary,
                    " (linked)" if c.pk in linked else "",
                )
                for c in nearby
            ),
        )
        return format_html(
            "<ul>{}</ul><p>To link one, type words of its summary or its document's title in “Changes”.</p>",
            rows,
        )
