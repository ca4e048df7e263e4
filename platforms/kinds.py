"""The fixed vocabulary of document kinds, aligned with Open Terms Archive's terms types."""

from __future__ import annotations

from django.db import models


class DocumentKind(models.TextChoices):
    TERMS_OF_SERVICE = "terms_of_service", "Terms of Service"
    PRIVACY_POLICY = "privacy_policy", "Privacy Policy"
    AI_POLICY = "ai_policy", "AI Policy"
    DEVELOPER_TERMS = "developer_terms", "Developer Terms"
    COMMUNITY_GUIDELINES = "community_guidelines", "Community Guidelines"
    ACCEPTABLE_USE = "acceptable_use", "Acceptable Use Policy"
    COPYRIGHT_CLAIMS = "copyright_claims", "Copyright Claims Policy"
    COMMERCIAL_TERMS = "commercial_terms", "Commercial Terms"
    TRACKERS_POLICY = "trackers_policy", "Trackers Policy"


# Open Terms Archive terms type -> our kind (used by import_declarations).
OTA_TERMS_TYPES: dict[str, str] = {
    "Terms of Service": DocumentKind.TERMS_OF_SERVICE,
    "Privacy Policy": DocumentKind.PRIVACY_POLICY,
    "Developer Terms": DocumentKind.DEVELOPER_TERMS,
    "Community Guidelines": DocumentKind.COMMUNITY_GUIDELINES,
    "Acceptable Use Policy": DocumentKind.ACCEPTABLE_USE,
    "Copyright Claims Policy": DocumentKind.COPYRIGHT_CLAIMS,
    "Commercial Terms": DocumentKind.COMMERCIAL_TERMS,
    "Trackers Policy": DocumentKind.TRACKERS_POLICY,
    "Generative AI Policy": DocumentKind.AI_POLICY,
    "AI Policy": DocumentKind.AI_POLICY,
}


class Fetcher(models.TextChoices):
    HTTP = "http", "Plain HTTP"
    BROWSER = "browser", "Headless browser (JavaScript pages)"


class DocumentStatus(models.TextChoices):
    NEW = "new", "Not checked yet"
    OK = "ok", "OK"
    FAILING = "failing", "Failing"
    BLOCKED = "blocked", "Blocked"
    SELECTOR_BROKEN = "selector_broken", "Selector broken"
    SUSPICIOUS = "suspicious", "Suspicious change held"
    UNSUPPORTED = "unsupported", "Unsupported content"


class StatementKind(models.TextChoices):
    STATEMENT = "statement", "Company statement"
    EVENT = "event", "Reported event"
