"""Import Open Terms Archive service declarations as platforms and documents.

A declaration is a JSON file named after the service (`Example Music.json`):

    {"name": "Example Music",
     "terms": {"Terms of Service": {"fetch": "https://…", "select": "main",
                                    "remove": [".banner"], "executeClientScripts": true},
               "Privacy Policy": {"combine": [{"fetch": "…"}, {"fetch": "…"}]}}}

(older engines call `terms` `documents`; both are read). `select` and `remove` are a CSS
selector, a range selector `{"startBefore"|"startAfter": css, "endBefore"|"endAfter": css}`
or a list of those; `filter` names JavaScript functions in `<Service>.filters.js`.
`<Service>.history.json` files hold past declarations and are skipped.

How it maps:
- the service becomes a Platform: matched by name (case-insensitive), then by the slug of
  the name; a new one gets the first document's site as its homepage. An existing
  platform is used as it is: the declaration says nothing about its description.
- each terms type becomes a Document of the kind `platforms.kinds.OTA_TERMS_TYPES` gives,
  titled "<name> <terms type>", matched by URL, then by kind and title (so a declaration
  whose URL moved updates the document rather than adding one);
  `executeClientScripts: true` means fetcher "browser".
- rows are written with the seed's rules (`platforms.services._sync`): created, updated
  while nobody edited them since, and kept as they are once an admin did.

What it refuses:
- a malformed file (not JSON, a missing or mistyped field, a URL the admin would refuse,
  a CSS selector that does not parse, an address on a private network unless
  FETCH_ALLOW_PRIVATE) is not imported at all; the error names the file and the field.
- a terms type it does not know, or features it cannot honour (custom `filter`s,
  `combine` over several pages, range selectors, fields it does not know): that document
  is skipped and reported; the rest of the file is imported.
Each file is imported in its own transaction, so a file is never half-imported; a bad
file does not stop the others. The caller decides what the run's outcome is
(`ImportReport.ok`; the command exits 1 if any file failed or any document was skipped).

Parsing (`parse_declaration`) needs no database; `declarations_import` writes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from ipaddress import ip_address
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils.text import slugify

from platforms.kinds import OTA_TERMS_TYPES, Fetcher
from platforms.models import Document, Platform
from platforms.services import SeedReport, _sync
from platforms.validators import validate_document_url
from snapshots.extract import validate_selector
from snapshots.net_guard import (
    AddressPolicy,
    BlockedAddressError,
    ResolutionError,
    resolve_permitted,
)

HISTORY_SUFFIX = ".history.json"
PAGE_FIELDS = frozenset({"fetch", "select", "remove", "filter", "executeClientScripts"})
RANGE_KEYS = frozenset({"startBefore", "startAfter", "endBefore", "endAfter"})
_TITLE_MAX = 200
_SLUG_MAX = 60


class DeclarationError(ValueError):
    """A declaration file that cannot be imported; names the file and the failing field."""

    def __init__(self, path: Path | str, field: str, message: str) -> None:
        super().__init__(f"{path}: {field}: {message}" if field else f"{path}: {message}")
        self.path = str(path)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class DeclaredDocument:
    terms_type: str
    kind: str
    title: str
    url: str
    fetcher: str = Fetcher.HTTP
    select: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()


@dataclass(frozen=True)
class Declaration:
    path: str
    name: str
    slug: str
    documents: tuple[DeclaredDocument, ...]
    skipped: tuple[str, ...] = ()  # "<field>: <why>", one per document not imported


@dataclass
class ImportReport:
    rows: SeedReport = field(default_factory=SeedReport)
    imported: list[str] = field(default_factory=list)  # one line per file imported
    skipped: list[str] = field(default_factory=list)  # documents not imported, with why
    failed: list[str] = field(default_factory=list)  # files not imported, with why
    ignored: list[str] = field(default_factory=list)  # history files and the like

    @property
    def ok(self) -> bool:
        return not self.failed and not self.skipped

    def lines(self) -> list[str]:
        counts = self.rows.counts
        totals = [
            f"{model}s: "
            + (
                ", ".join(
                    f"{counts[(model, o)]} {o}"
                    for o in ("created", "updated", "unchanged", "kept")
                    if counts[(model, o)]
                )
                or "none"
            )
            for model in ("platform", "document")
        ]
        return [
            *(f"imported {line}" for line in self.imported),
            *(f"ignored {line}" for line in self.ignored),
            *(f"skipped {line}" for line in self.skipped),
            *(f"FAILED {line}" for line in self.failed),
            *totals,
            *(f"kept admin edits: {label}" for label in self.rows.kept),
        ]


# Reading -------------------------------------------------------------------------------


def declaration_paths(paths: list[Path]) -> tuple[list[Path], list[str]]:
    """The declaration files among `paths` (folders are searched), and what was ignored."""
    found: list[Path] = []
    ignored: list[str] = []
    for path in paths:
        candidates = sorted(path.rglob("*.json")) if path.is_dir() else [path]
        for candidate in candidates:
            if candidate.name.endswith(HISTORY_SUFFIX):
                ignored.append(f"{candidate}: history file")
            else:
                found.append(candidate)
    return found, ignored


def load_declaration(path: Path, *, policy: AddressPolicy) -> Declaration:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DeclarationError(path, "", "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DeclarationError(path, "", f"cannot be read: {exc}") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DeclarationError(
            path, "", f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    return parse_declaration(raw, path=path, policy=policy)


def parse_declaration(raw: Any, *, path: Path | str, policy: AddressPolicy) -> Declaration:
    """Check a declaration's JSON and say what of it can be imported."""
    if not isinstance(raw, dict):
        raise DeclarationError(path, "", "expected a JSON object with `name` and `terms`")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise DeclarationError(path, "name", "the service name is required (a string)")
    name = " ".join(name.split())
    slug = slugify(name)[:_SLUG_MAX].strip("-")
    if not slug:
        raise DeclarationError(path, "name", f"{name!r} gives no usable slug")
    key = "terms" if "terms" in raw else "documents"
    terms = raw.get(key)
    if not isinstance(terms, dict) or not terms:
        raise DeclarationError(path, "terms", "expected an object of terms types, not empty")
    documents: list[DeclaredDocument] = []
    skipped: list[str] = []
    seen_urls: dict[str, str] = {}
    for terms_type, entry in terms.items():
        where = f"{key}.{terms_type}"
        reasons, pages = _terms(entry, where, path, policy)
        kind = OTA_TERMS_TYPES.get(terms_type)
        if kind is None:
            reasons.insert(0, "unknown terms type (not in platforms.kinds.OTA_TERMS_TYPES)")
        if not reasons:
            url = pages[0]["fetch"]
            if url in seen_urls:
                reasons.append(f"same URL as {seen_urls[url]} (one document per URL)")
            seen_urls.setdefault(url, where)
        if reasons:
            skipped.append(f"{where}: {'; '.join(reasons)}")
            continue
        page = pages[0]
        documents.append(
            DeclaredDocument(
                terms_type=terms_type,
                kind=str(kind),
                title=f"{name} {terms_type}"[:_TITLE_MAX],
                url=page["fetch"],
                fetcher=Fetcher.BROWSER if page["executeClientScripts"] else Fetcher.HTTP,
                select=page["select"],
                remove=page["remove"],
            )
        )
    return Declaration(
        path=str(path), name=name, slug=slug, documents=tuple(documents), skipped=tuple(skipped)
    )


def _terms(
    entry: Any, where: str, path: Path | str, policy: AddressPolicy
) -> tuple[list[str], list[dict[str, Any]]]:
    """Check one terms entry; return why it cannot be imported (if so) and its pages."""
    if not isinstance(entry, dict):
        raise DeclarationError(path, where, "expected an object with `fetch` (or `combine`)")
    if "combine" not in entry:
        reasons, page = _page(entry, where, path, policy)
        return reasons, [page]
    combine = entry["combine"]
    if not isinstance(combine, list) or not combine:
        raise DeclarationError(path, f"{where}.combine", "expected a non-empty list of pages")
    shared = {k: v for k, v in entry.items() if k != "combine"}
    reasons: list[str] = []
    pages = []
    for i, item in enumerate(combine):
        if not isinstance(item, dict):
            raise DeclarationError(path, f"{where}.combine[{i}]", "expected an object")
        # Shared properties apply to every page unless the page sets its own.
        page_reasons, page = _page(shared | item, f"{where}.combine[{i}]", path, policy)
        reasons.extend(r for r in page_reasons if r not in reasons)
        pages.append(page)
    if len(pages) > 1:
        reasons.insert(0, f"combines {len(pages)} pages into one document (not supported)")
    return reasons, pages


def _page(
    entry: dict[str, Any], where: str, path: Path | str, policy: AddressPolicy
) -> tuple[list[str], dict[str, Any]]:
    reasons = []
    unknown = sorted(set(entry) - PAGE_FIELDS)
    if unknown:
        reasons.append(f"unknown field(s) {', '.join(unknown)}")
    url = _fetch_url(entry.get("fetch"), f"{where}.fetch", path, policy)
    select, ranges = _selectors(entry.get("select", []), f"{where}.select", path)
    remove, remove_ranges = _selectors(entry.get("remove", []), f"{where}.remove", path)
    if ranges or remove_ranges:
        reasons.append("range selectors (startBefore/endBefore…) are not supported")
    scripts = entry.get("executeClientScripts", False)
    if not isinstance(scripts, bool):
        raise DeclarationError(path, f"{where}.executeClientScripts", "expected true or false")
    filters = _filters(entry.get("filter", []), f"{where}.filter", path)
    if filters:
        reasons.append(f"custom filters ({', '.join(filters)}) are not supported")
    page = {"fetch": url, "select": select, "remove": remove, "executeClientScripts": scripts}
    return reasons, page


def _fetch_url(value: Any, where: str, path: Path | str, policy: AddressPolicy) -> str:
    if value is None:
        raise DeclarationError(path, where, "the URL to fetch is required")
    if not isinstance(value, str) or not value.strip():
        raise DeclarationError(path, where, "expected a URL string")
    url = value.strip()
    try:
        validate_document_url(url)  # the admin's rules: http(s), a host, no credentials
    except ValidationError as exc:
        raise DeclarationError(path, where, f"{url!r}: {' '.join(exc.messages)}") from None
    refusal = address_refusal(url, policy)
    if refusal:
        raise DeclarationError(path, where, f"{url!r}: {refusal}")
    return url


def address_refusal(url: str, policy: AddressPolicy) -> str | None:
    """Why `url` points somewhere we must not fetch, or None.

    A literal IP is judged as it is. A host name is resolved with the fetcher's guard;
    one that does not resolve now is let through, because the fetcher checks every
    connection again (and a declaration may well be imported before its DNS exists).
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        literal = ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        if policy.permits(literal):
            return None
        return f"{host} is a private or reserved address (allowed only with FETCH_ALLOW_PRIVATE)"
    if policy.allow_private:
        return None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        resolve_permitted(host, port, policy)
    except BlockedAddressError as exc:
        return f"{exc} (allowed only with FETCH_ALLOW_PRIVATE)"
    except ResolutionError:
        return None
    return None


def _selectors(value: Any, where: str, path: Path | str) -> tuple[tuple[str, ...], int]:
    """CSS selectors as a tuple, and how many range selectors there were."""
    items = value if isinstance(value, list) else [value]
    selectors: list[str] = []
    ranges = 0
    for i, item in enumerate(items):
        at = f"{where}[{i}]" if isinstance(value, list) else where
        if isinstance(item, str) and item.strip():
            try:
                validate_selector(item)
            except ValueError as exc:
                message = f"CSS selector {item!r} does not parse: {exc}"
                raise DeclarationError(path, at, message) from None
            selectors.append(item)
        elif isinstance(item, dict) and _is_range(item):
            ranges += 1
        else:
            raise DeclarationError(
                path, at, "expected a CSS selector, a range selector or a list of them"
            )
    return tuple(selectors), ranges


def _is_range(item: dict[str, Any]) -> bool:
    starts = [k for k in ("startBefore", "startAfter") if k in item]
    ends = [k for k in ("endBefore", "endAfter") if k in item]
    return (
        set(item) <= RANGE_KEYS
        and len(starts) == 1
        and len(ends) == 1
        and all(isinstance(v, str) and v.strip() for v in item.values())
    )


def _filters(value: Any, where: str, path: Path | str) -> list[str]:
    if not isinstance(value, list):
        raise DeclarationError(path, where, "expected a list of filter names")
    names = []
    for i, item in enumerate(value):
        # A filter is a function name, or {"name": {parameters}} in newer engines.
        if isinstance(item, str) and item.strip():
            names.append(item)
        elif isinstance(item, dict) and len(item) == 1:
            names.append(next(iter(item)))
        else:
            raise DeclarationError(path, f"{where}[{i}]", "expected a filter name")
    return names


# Writing -------------------------------------------------------------------------------


def declarations_import(*, paths: list[Path], policy: AddressPolicy) -> ImportReport:
    """Import declaration files and folders; each file all or nothing, idempotent.

    `policy` is the fetcher's (`snapshots.fetching.fetch_settings().policy`): a document
    is refused at import if the fetcher would refuse its address.
    """
    report = ImportReport()
    files, report.ignored = declaration_paths(paths)
    for path in files:
        try:
            declaration = load_declaration(path, policy=policy)
        except DeclarationError as exc:
            report.failed.append(str(exc))
            continue
        report.skipped.extend(f"{path}: {line}" for line in declaration.skipped)
        if not declaration.documents:
            report.failed.append(f"{path}: nothing in it can be imported")
            continue
        rows = SeedReport()
        try:
            with transaction.atomic():
                _import(declaration, rows)
        except (ValidationError, DatabaseError) as exc:
            detail = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            report.failed.append(f"{path}: the database refused it: {detail}")
            continue
        report.rows.counts.update(rows.counts)
        report.rows.kept.extend(rows.kept)
        count = len(declaration.documents)
        report.imported.append(f"{path}: {count} document{'s' if count != 1 else ''}")
    return report


def _import(declaration: Declaration, rows: SeedReport) -> None:
    platform = Platform.objects.filter(name__iexact=declaration.name).first()
    if platform is None:
        platform = Platform.objects.filter(slug=declaration.slug).first()
    if platform is None:
        parts = urlsplit(declaration.documents[0].url)
        values = {
            "name": declaration.name,
            "homepage": f"{parts.scheme}://{parts.netloc}/",
            "description": "",
        }
        platform = _sync(Platform, None, {"slug": declaration.slug}, values, rows, declaration.slug)
    else:
        rows.add("platform", "unchanged", platform.slug)
    for doc in declaration.documents:
        existing = (
            Document.objects.filter(platform=platform, url=doc.url).first()
            or Document.objects.filter(platform=platform, kind=doc.kind, title=doc.title).first()
        )
        # Not ignore_patterns: the declaration has none, and an admin's stay untouched.
        values = {
            "kind": doc.kind,
            "title": doc.title,
            "url": doc.url,
            "fetcher": str(doc.fetcher),
            "select": list(doc.select),
            "remove": list(doc.remove),
        }
        _sync(Document, existing, {"platform": platform}, values, rows, doc.url)
