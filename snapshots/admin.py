from __future__ import annotations

from django.contrib import admin, messages

from snapshots.models import Change, Check, Version, VersionState
from snapshots.recording import held_version_approve, held_version_reject


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Check)
class CheckAdmin(ReadOnlyAdmin):
    list_display = [
        "checked_at",
        "document",
        "outcome",
        "http_status",
        "bytes",
        "duration_ms",
        "error",
    ]
    list_filter = ["outcome", "fetcher", "document__platform"]
    list_select_related = ["document__platform"]
    search_fields = ["document__title", "document__url", "error", "detail"]
    date_hierarchy = "checked_at"
    raw_id_fields = ["document", "snapshot", "version"]


@admin.register(Version)
class VersionAdmin(admin.ModelAdmin):
    list_display = [
        "observed_at",
        "document",
        "state",
        "held_reason",
        "source",
        "word_count",
        "sha_short",
    ]
    list_filter = ["state", "source", "document__platform"]
    list_select_related = ["document__platform"]
    search_fields = ["document__title", "sha256"]
    date_hierarchy = "observed_at"
    readonly_fields = [f.name for f in Version._meta.fields]
    actions = ["approve_held", "reject_held"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="sha256")
    def sha_short(self, obj) -> str:
        return obj.sha256[:12]

    @admin.action(
        description="Approve the selected held versions (publish their change)",
        permissions=["change"],
    )
    def approve_held(self, request, queryset):
        approved = 0
        for version in queryset.filter(state=VersionState.HELD):
            held_version_approve(version=version)
            approved += 1
        self.message_user(
            request, f"{approved} held version(s) approved and published.", messages.SUCCESS
        )

    @admin.action(
        description="Reject the selected held versions (discard them)", permissions=["change"]
    )
    def reject_held(self, request, queryset):
        rejected = 0
        for version in queryset.filter(state=VersionState.HELD):
            held_version_reject(version=version)
            rejected += 1
        self.message_user(request, f"{rejected} held version(s) discarded.", messages.SUCCESS)


@admin.register(Change)
class ChangeAdmin(admin.ModelAdmin):
    list_display = [
        "observed_at",
        "document",
        "kind",
        "ai_relevant",
        "words_added",
        "words_removed",
        "published_at",
        "summary",
    ]
    list_filter = ["kind", "ai_relevant", "document__platform", "document__kind"]
    list_select_related = ["document__platform"]
    search_fields = ["summary", "headline", "document__title"]
    date_hierarchy = "observed_at"
    fields = [
        "document",
        "observed_at",
        "kind",
        "published_at",
        "retracted_at",
        "alertable",
        "headline",
        "summary",
        "ai_relevant",
        "ai_categories",
        "words_added",
        "words_removed",
        "old_version",
        "new_version",
    ]
    readonly_fields = [f for f in fields if f != "headline"]

    def has_add_permission(self, request) -> bool:
        return False
