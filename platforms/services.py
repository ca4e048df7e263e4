"""Writes for the platforms app."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, models, transaction

from platforms.models import Document, Platform, Statement
from platforms.registry import DocumentEntry, PlatformEntry, StatementEntry


class SeedConflict(Exception):
    """The registry disagrees with a row in a way seeding must not resolve on its own."""


@dataclass
class SeedReport:
    counts: Counter = field(default_factory=Counter)
    kept: list[str] = field(default_factory=list)

    def add(self, model: str, outcome: str, label: str) -> None:
        self.counts[(model, outcome)] += 1
        if outcome == "kept":
            self.kept.append(f"{model} {label}")

    def lines(self) -> list[str]:
        out = []
        for model in ("platform", "document", "statement"):
            parts = [
                f"{self.counts[(model, o)]} {o}"
                for o in ("created", "updated", "unchanged", "kept")
                if self.counts[(model, o)]
            ]
            out.append(f"{model}s: {', '.join(parts) or 'none'}")
        out.extend(f"kept admin edits: {k}" for k in self.kept)
        return out


PLATFORM_FIELDS = ("name", "homepage", "description")
DOCUMENT_FIELDS = ("kind", "title", "fetcher", "select", "remove", "ignore_patterns")
STATEMENT_FIELDS = ("kind", "date", "title", "summary", "quote", "outlet")


def registry_seed(*, entries: list[PlatformEntry]) -> SeedReport:
    """Create or update the registry; idempotent, never overwrites a row an admin edited.

    All or nothing: on a conflict nothing is written and SeedConflict says what to fix.
    """
    report = SeedReport()
    try:
        with transaction.atomic():
            for entry in entries:
                platform = _seed_platform(entry, report)
                for doc in entry.documents:
                    _seed_document(platform, doc, report)
                for statement in entry.statements:
                    _seed_statement(platform, statement, report)
    except IntegrityError as exc:
        raise SeedConflict(f"the database refused a registry row: {exc}") from exc
    return report


def _seed_platform(entry: PlatformEntry, report: SeedReport) -> Platform:
    existing = Platform.objects.filter(slug=entry.slug).first()
    if existing is None:
        clash = Platform.objects.filter(name__iexact=entry.name).first()
        if clash is not None:
            raise SeedConflict(
                f"platform {entry.name!r} already exists with slug {clash.slug!r}, but the "
                f"registry gives it slug {entry.slug!r}; rename one of them, then seed again"
            )
    values = {"name": entry.name, "homepage": entry.homepage, "description": entry.description}
    return _sync(Platform, existing, {"slug": entry.slug}, values, report, entry.slug)


def _seed_document(platform: Platform, entry: DocumentEntry, report: SeedReport) -> None:
    existing = Document.objects.filter(platform=platform, url=entry.url).first()
    values = {
        "kind": entry.kind,
        "title": entry.title,
        "fetcher": entry.fetcher,
        "select": list(entry.select),
        "remove": list(entry.remove),
        "ignore_patterns": list(entry.ignore_patterns),
    }
    key = {"platform": platform, "url": entry.url}
    _sync(Document, existing, key, values, report, entry.url)


def _seed_statement(platform: Platform, entry: StatementEntry, report: SeedReport) -> None:
    existing = Statement.objects.filter(platform=platform, source_url=entry.source_url).first()
    values = {
        "kind": entry.kind,
        "date": entry.date,
        "title": entry.title,
        "summary": entry.summary,
        "quote": entry.quote,
        "outlet": entry.outlet,
    }
    key = {"platform": platform, "source_url": entry.source_url}
    _sync(Statement, existing, key, values, report, entry.source_url)


def _sync(
    model: type[models.Model],
    existing: Any,
    key: dict[str, Any],
    values: dict[str, Any],
    report: SeedReport,
    label: str,
) -> Any:
    name = model.__name__.lower()
    wanted = fingerprint(values)
    if existing is None:
        row = model(**key, **values, seed_fingerprint=wanted)
        row.full_clean()
        row.save()
        report.add(name, "created", label)
        return row
    current = fingerprint({f: getattr(existing, f) for f in values})
    if current == wanted:
        report.add(name, "unchanged", label)
    elif existing.seed_fingerprint and current == existing.seed_fingerprint:
        # Nobody touched the row since the last seed: the registry's newer values win.
        for f, v in values.items():
            setattr(existing, f, v)
        existing.seed_fingerprint = wanted
        existing.full_clean()
        existing.save(update_fields=[*values, "seed_fingerprint"])
        report.add(name, "updated", label)
    else:
        report.add(name, "kept", label)
    return existing


def fingerprint(values: dict[str, Any]) -> str:
    canonical = json.dumps(values, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
