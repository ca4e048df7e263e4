"""Read and check the platform registry data file (platforms/data/registry.toml).

Pure: no Django imports, so the data file can be validated on its own.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_PATH = Path(__file__).resolve().parent / "data" / "registry.toml"

DOCUMENT_KINDS = frozenset(
    {
        "terms_of_service",
        "privacy_policy",
        "ai_policy",
        "developer_terms",
        "community_guidelines",
        "acceptable_use",
        "copyright_claims",
        "commercial_terms",
        "trackers_policy",
    }
)
FETCHERS = frozenset({"http", "browser"})
STATEMENT_KINDS = frozenset({"statement", "event"})
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class RegistryError(ValueError):
    """The data file is not usable; the message names the entry and the field."""


@dataclass(frozen=True)
class DocumentEntry:
    kind: str
    title: str
    url: str
    fetcher: str = "http"
    select: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()
    ignore_patterns: tuple[str, ...] = ()


@dataclass(frozen=True)
class StatementEntry:
    date: date
    title: str
    summary: str
    source_url: str
    outlet: str
    kind: str = "statement"
    quote: str = ""


@dataclass(frozen=True)
class PlatformEntry:
    slug: str
    name: str
    homepage: str
    description: str = ""
    documents: tuple[DocumentEntry, ...] = field(default=())
    statements: tuple[StatementEntry, ...] = field(default=())


def load_registry(path: Path = DEFAULT_PATH) -> list[PlatformEntry]:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RegistryError(f"{path}: file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise RegistryError(f"{path}: not valid TOML: {exc}") from None
    return parse_registry(raw, source=str(path))


def parse_registry(raw: dict, *, source: str = "registry") -> list[PlatformEntry]:
    items = raw.get("platforms")
    if not isinstance(items, list) or not items:
        raise RegistryError(f"{source}: expected at least one [[platforms]] table")
    platforms = [_platform(item, f"{source}: platforms[{i}]") for i, item in enumerate(items)]
    _check_unique(platforms, source)
    return platforms


def _platform(item: dict, where: str) -> PlatformEntry:
    slug = _text(item, "slug", where)
    where = f"{where} ({slug})"
    if not _SLUG.match(slug):
        raise RegistryError(f"{where}: slug must be lowercase letters, digits and dashes")
    return PlatformEntry(
        slug=slug,
        name=_text(item, "name", where),
        homepage=_url(item, "homepage", where),
        description=_text(item, "description", where, required=False),
        documents=tuple(
            _document(d, f"{where} documents[{i}]") for i, d in enumerate(item.get("documents", []))
        ),
        statements=tuple(
            _statement(s, f"{where} statements[{i}]")
            for i, s in enumerate(item.get("statements", []))
        ),
    )


def _document(item: dict, where: str) -> DocumentEntry:
    kind = _text(item, "kind", where)
    if kind not in DOCUMENT_KINDS:
        raise RegistryError(f"{where}: kind {kind!r} is not one of {sorted(DOCUMENT_KINDS)}")
    fetcher = _text(item, "fetcher", where, required=False) or "http"
    if fetcher not in FETCHERS:
        raise RegistryError(f"{where}: fetcher {fetcher!r} is not one of {sorted(FETCHERS)}")
    return DocumentEntry(
        kind=kind,
        title=_text(item, "title", where),
        url=_url(item, "url", where),
        fetcher=fetcher,
        select=_strings(item, "select", where),
        remove=_strings(item, "remove", where),
        ignore_patterns=_strings(item, "ignore_patterns", where),
    )


def _statement(item: dict, where: str) -> StatementEntry:
    when = item.get("date")
    if not isinstance(when, date):
        raise RegistryError(f"{where}: date must be a TOML date like 2024-05-14")
    kind = _text(item, "kind", where, required=False) or "statement"
    if kind not in STATEMENT_KINDS:
        raise RegistryError(f"{where}: kind {kind!r} is not one of {sorted(STATEMENT_KINDS)}")
    return StatementEntry(
        date=when,
        title=_text(item, "title", where),
        summary=_text(item, "summary", where),
        source_url=_url(item, "source_url", where),
        outlet=_text(item, "outlet", where),
        kind=kind,
        quote=_text(item, "quote", where, required=False),
    )


def _text(item: dict, key: str, where: str, *, required: bool = True) -> str:
    value = item.get(key, "")
    if not isinstance(value, str):
        raise RegistryError(f"{where}: {key} must be a string")
    value = value.strip()
    if required and not value:
        raise RegistryError(f"{where}: {key} is required")
    return value


def _url(item: dict, key: str, where: str) -> str:
    value = _text(item, key, where)
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.username:
        raise RegistryError(f"{where}: {key} must be an http(s) URL without credentials")
    return value


def _strings(item: dict, key: str, where: str) -> tuple[str, ...]:
    value = item.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise RegistryError(f"{where}: {key} must be a list of non-empty strings")
    return tuple(value)


def _check_unique(platforms: list[PlatformEntry], source: str) -> None:
    seen_slugs: set[str] = set()
    seen_names: set[str] = set()
    for p in platforms:
        if p.slug in seen_slugs:
            raise RegistryError(f"{source}: platform slug {p.slug!r} appears twice")
        if p.name.casefold() in seen_names:
            raise RegistryError(f"{source}: platform name {p.name!r} appears twice")
        seen_slugs.add(p.slug)
        seen_names.add(p.name.casefold())
        urls = [d.url for d in p.documents]
        dupes = {u for u in urls if urls.count(u) > 1}
        if dupes:
            raise RegistryError(f"{source}: {p.slug} lists document {sorted(dupes)[0]} twice")
        sources = [s.source_url for s in p.statements]
        dupes = {u for u in sources if sources.count(u) > 1}
        if dupes:
            raise RegistryError(
                f"{source}: {p.slug} lists statement source {sorted(dupes)[0]} twice"
            )
