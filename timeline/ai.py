"""AI passages for readers: a version's text with its AI clauses marked, and the AI clause
explorer ("what does each platform say about AI today?").

Analysis results are cached by what they depend on (a version's sha256, a document's current
version), so a page never analyses a document that has not changed since the last visit.
Everything here returns plain data; templates escape it (tracked text is never marked safe).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.core.cache import cache
from django.db.models import OuterRef, Subquery

from platforms.models import Document, Platform
from snapshots import ai_clauses
from snapshots.diffing import Diff, body
from snapshots.models import Version, VersionState
from timeline.selectors import public_versions, published_changes

CACHE_SECONDS = 7 * 24 * 3600
EXPLORER_CACHE_SECONDS = 24 * 3600
# Changes walked back per document to date a passage; older passages are dated "at least since".
MAX_HISTORY = 2000


def category_label(slug: str) -> str:
    return ai_clauses.CATEGORIES.get(slug, slug.replace("_", " "))


def _schema() -> str:
    return f"{getattr(ai_clauses, 'SCHEMA_VERSION', 0)}"


def findings_for(*, sha256: str, text: str) -> list[ai_clauses.Finding]:
    """analyze_text(text), cached by the text's sha256."""
    key = f"timeline:findings:v{_schema()}:{sha256}"
    data = cache.get(key)
    if data is None:
        data = [f.to_json() for f in ai_clauses.analyze_text(text)]
        cache.set(key, data, CACHE_SECONDS)
    return [ai_clauses.Finding.from_json(f) for f in data]


# --- a version with its AI passages marked ------------------------------------------------


@dataclass(frozen=True)
class Piece:
    text: str
    mark: bool = False


@dataclass
class Paragraph:
    index: int
    pieces: list[Piece]
    categories: list[tuple[str, str, bool]] = field(default_factory=list)  # slug, label, negated

    @property
    def is_ai(self) -> bool:
        return bool(self.categories)


def mark_phrases(text: str, phrases: tuple[str, ...] | list[str]) -> list[Piece]:
    """text cut into pieces, the occurrences of `phrases` marked (overlaps merged)."""
    spans: list[tuple[int, int]] = []
    for phrase in phrases:
        if not phrase:
            continue
        start = text.find(phrase)
        while start != -1:
            spans.append((start, start + len(phrase)))
            start = text.find(phrase, start + len(phrase))
    spans.sort()
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    pieces: list[Piece] = []
    pos = 0
    for start, end in merged:
        if start > pos:
            pieces.append(Piece(text[pos:start]))
        pieces.append(Piece(text[start:end], mark=True))
        pos = end
    if pos < len(text):
        pieces.append(Piece(text[pos:]))
    return pieces


def _categories(findings: list[ai_clauses.Finding]) -> list[tuple[str, str, bool]]:
    seen: dict[str, bool] = {}
    for f in findings:
        seen[f.category] = seen.get(f.category, True) and f.negated
    return [(slug, category_label(slug), negated) for slug, negated in seen.items()]


def highlighted_paragraphs(version: Version) -> list[Paragraph]:
    findings = findings_for(sha256=version.sha256, text=version.text)
    by_index: dict[int, list[ai_clauses.Finding]] = {}
    for f in findings:
        by_index.setdefault(f.paragraph_index, []).append(f)
    out = []
    for i, text in enumerate(ai_clauses.split_paragraphs(version.text)):
        found = by_index.get(i, [])
        phrases = [p for f in found for p in f.phrases]
        out.append(Paragraph(i, mark_phrases(text, phrases), _categories(found)))
    return out


# --- which hunks of a change touch AI clauses ---------------------------------------------


def ai_hunks_only(diff: Diff, ai_analysis: dict) -> Diff:
    """The hunks whose changed blocks carry an AI finding (Diff.filter_hunks).

    Findings name the changed block they came from by its position among the diff's changed
    pairs (Diff.changed_pairs), so hunks are matched by counting those pairs in order.
    """
    indices = {
        f.get("paragraph_index")
        for side in ("added", "removed")
        for f in (ai_analysis or {}).get(side, ())
    }
    ranges: dict[int, range] = {}
    position = 0
    for hunk in diff.hunks:
        count = sum(
            1 for b in hunk.blocks if b.op in ("insert", "delete") or (b.op != "equal" and b.edited)
        )
        ranges[id(hunk)] = range(position, position + count)
        position += count
    return diff.filter_hunks(lambda h: any(i in ranges[id(h)] for i in indices))


# --- the explorer -------------------------------------------------------------------------


@dataclass
class Passage:
    paragraph: Paragraph
    since: datetime | None  # when it took its current form (None: unknown)
    since_change_id: int | None  # the change that gave it that form, if tracked
    since_first_version: bool = False  # unchanged since the first recorded version


@dataclass
class DocumentPassages:
    document: Document
    version_id: int
    passages: list[Passage]


def _new_side_blocks(diff: dict) -> list[tuple[str, str]]:
    """(old text, new text) of the changed blocks that have a new side."""
    out = []
    for hunk in diff.get("hunks", ()):
        for block in hunk.get("blocks", ()):
            op = block.get("op")
            if op in ("equal", "delete", "move_from"):
                continue
            segments = block.get("segments")
            if segments:
                old = "".join(t for o, t in segments if o != "insert")
                new = "".join(t for o, t in segments if o != "delete")
            else:
                old, new = block.get("old_text") or "", block.get("new_text") or ""
            if op == "move_to" and not segments:
                continue  # moved, not reworded
            out.append((body(old), body(new)))
    return out


def _date_passages(
    document_id: int, texts: list[str]
) -> dict[str, tuple[datetime | None, int | None]]:
    """For each passage text: (when, change id) of the newest published change that gave it
    its current wording; passages no change touched are missing from the result."""
    pending = set(texts)
    found: dict[str, tuple[datetime | None, int | None]] = {}
    changes = (
        published_changes()
        .filter(document_id=document_id)
        .order_by("-observed_at", "-id")
        .values_list("id", "observed_at", "diff")[:MAX_HISTORY]
    )
    for change_id, observed_at, diff in changes.iterator(chunk_size=100):
        if not pending:
            break
        for old, new in _new_side_blocks(diff or {}):
            for text in [t for t in pending if t in new and t not in old]:
                found[text] = (observed_at, change_id)
                pending.discard(text)
    return found


def _document_passages(document: Document, version: Version) -> dict:
    paragraphs = [p for p in highlighted_paragraphs(version) if p.is_ai]
    first_seen = (
        public_versions(document.pk)
        .order_by("observed_at", "id")
        .values_list("observed_at", flat=True)
        .first()
    )
    texts = ["".join(piece.text for piece in p.pieces) for p in paragraphs]
    dated = _date_passages(document.pk, texts)
    passages = []
    for paragraph, text in zip(paragraphs, texts, strict=True):
        since, change_id = dated.get(text, (first_seen, None))
        passages.append(
            {
                "index": paragraph.index,
                "text": text,
                "phrases": [p.text for p in paragraph.pieces if p.mark],
                "categories": [list(c) for c in paragraph.categories],
                "since": since.isoformat() if since else None,
                "since_change_id": change_id,
                "since_first_version": change_id is None,
            }
        )
    return {"version_id": version.pk, "passages": passages}


def _from_cache(document: Document, data: dict) -> DocumentPassages:
    passages = []
    for p in data["passages"]:
        paragraph = Paragraph(
            index=p["index"],
            pieces=mark_phrases(p["text"], p["phrases"]),
            categories=[tuple(c) for c in p["categories"]],
        )
        passages.append(
            Passage(
                paragraph=paragraph,
                since=datetime.fromisoformat(p["since"]) if p["since"] else None,
                since_change_id=p["since_change_id"],
                since_first_version=p["since_first_version"],
            )
        )
    return DocumentPassages(document=document, version_id=data["version_id"], passages=passages)


IndexRow = tuple[int, str, str, str, int, str, str, int]


def explorer_index() -> list[IndexRow]:
    """(document id, title, kind, url, platform id, name, slug, current version id) of every
    document with a public version: one query, an index lookup per document on
    version_current_idx. Cached as long as a public page (TIMELINE_CACHE_SECONDS): it is what
    tells whether the explorer's cached body is still current."""
    from timeline.caching import cache_seconds

    seconds = cache_seconds()
    key = f"timeline:explorer-index:v{_schema()}"
    rows = cache.get(key) if seconds > 0 else None
    if rows is None:
        current = Version.objects.filter(
            document=OuterRef("pk"), state=VersionState.PUBLISHED
        ).order_by("-observed_at", "-id")
        rows = [
            r
            for r in Document.objects.annotate(current_id=Subquery(current.values("id")[:1]))
            .order_by("platform__name", "kind", "title")
            .values_list(
                "id",
                "title",
                "kind",
                "url",
                "platform_id",
                "platform__name",
                "platform__slug",
                "current_id",
            )
            if r[-1] is not None
        ]
        if seconds > 0:
            cache.set(key, rows, seconds)
    return rows


def _documents(rows: list[IndexRow]) -> list[Document]:
    """Unsaved Document instances (with their Platform and `current_id`) for the templates."""
    out = []
    platforms: dict[int, Platform] = {}
    for pk, title, kind, url, platform_id, name, slug, current_id in rows:
        platform = platforms.setdefault(platform_id, Platform(id=platform_id, name=name, slug=slug))
        document = Document(id=pk, title=title, kind=kind, url=url, platform=platform)
        document.current_id = current_id
        out.append(document)
    return out


def explorer_fingerprint(rows: list[IndexRow]) -> str:
    """Changes whenever what the explorer shows may change: a new current version, a renamed
    document or platform."""
    import hashlib

    text = "\n".join([_schema(), *("|".join(map(str, row)) for row in rows)])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def explorer_documents(rows: list[IndexRow] | None = None) -> list[DocumentPassages]:
    """Every document's current AI passages, dated; analysis cached per current version."""
    documents = _documents(explorer_index() if rows is None else rows)
    keys = {d.pk: f"timeline:explorer:v{_schema()}:{d.pk}:{d.current_id}" for d in documents}
    cached = cache.get_many(list(keys.values()))
    missing = [d for d in documents if keys[d.pk] not in cached]
    if missing:
        versions = Version.objects.in_bulk([d.current_id for d in missing])
        fresh = {keys[d.pk]: _document_passages(d, versions[d.current_id]) for d in missing}
        cache.set_many(fresh, EXPLORER_CACHE_SECONDS)
        cached.update(fresh)
    return [_from_cache(d, cached[keys[d.pk]]) for d in documents]
