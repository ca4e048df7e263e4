"""One factual line about a change, built from the diff's structure alone. Pure (no Django).

"Adds 2 paragraphs and edits 1 in 'Sharing' about training AI models on user content"
"Edits 3 paragraphs in 4 sections (+120 / \u221240 words)"  "Reorders 2 sections"

Blocks are called paragraphs (list items and table rows included: that is how readers
talk about them), except headings. Section names come from the hunks; topics are phrases
from the AI analysis, appended as given. Nothing is inferred beyond that.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from snapshots.diffing import Block, Diff, block_kind

MAX_LENGTH = 160
_MINUS = "\u2212"  # a typographic minus sign, as word processors print it
_SECTION_CHARS = 60  # a longer section name is shortened before anything else is dropped


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _join(parts: Sequence[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return f"{', '.join(parts[:-1])} and {parts[-1]}"


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _kind(block: Block) -> str:
    text = block.new_text if block.new_text is not None else block.old_text or ""
    return "heading" if block_kind(text) == "heading" else "paragraph"


def _counts(diff: Diff) -> dict[str, Counter[str]]:
    """verb -> Counter(noun): what each kind of change did to how many blocks."""
    counts: dict[str, Counter[str]] = {v: Counter() for v in ("adds", "removes", "edits", "moves")}
    verbs = {"insert": "adds", "delete": "removes", "replace": "edits", "move_to": "moves"}
    for hunk in diff.hunks:
        for block in hunk.blocks:
            if block.op in verbs:
                counts[verbs[block.op]][_kind(block)] += 1
    return counts


def _clause(verb: str, nouns: Counter[str], *, bare: bool) -> str:
    if verb == "moves" and nouns["heading"]:
        n = nouns["heading"]  # a moved heading carries its section: count sections
        return f"{'moves' if n == 1 else 'reorders'} {_plural(n, 'section')}"
    if bare and not nouns["heading"]:  # "adds 2 paragraphs and edits 1"
        return f"{verb} {nouns['paragraph']}"
    return f"{verb} " + _join([_plural(nouns[k], k) for k in ("paragraph", "heading") if nouns[k]])


def _action(diff: Diff) -> str:
    counts = _counts(diff)
    verbs = [v for v in ("adds", "removes", "edits", "moves") if counts[v]]
    only_paragraphs = all(not counts[v]["heading"] for v in verbs)
    clauses = [_clause(v, counts[v], bare=only_paragraphs and k > 0) for k, v in enumerate(verbs)]
    return _join(clauses)


def _formatting_only(diff: Diff) -> bool:
    s = diff.stats
    return (
        not (s.words_added or s.words_removed or s.blocks_added or s.blocks_removed)
        and s.blocks_modified > 0
    )


def _sections(diff: Diff) -> list[str]:
    seen: dict[str, None] = {}
    for hunk in diff.hunks:
        for section in hunk.sections or [hunk.section]:
            seen.setdefault(section, None)
    return list(seen)


def summarize_change(diff: Diff, *, topics: Sequence[str] = ()) -> str:
    """A one-line, deterministic description of `diff` of at most MAX_LENGTH characters."""
    if diff.is_empty:
        return "No changes to the text"
    s = diff.stats
    if _formatting_only(diff) and not s.blocks_moved:
        action = f"Changes only formatting or links in {_plural(s.blocks_modified, 'paragraph')}"
    else:
        action = _action(diff)
        action = action[:1].upper() + action[1:]

    # A move touches two places; naming one of them would mislead.
    only_moves = s.blocks_moved and not (s.blocks_added or s.blocks_removed or s.blocks_modified)
    sections = [] if only_moves else _sections(diff)
    named = [x for x in sections if x]
    section_name = named[0] if len(sections) == 1 and named else ""
    where = f" in {len(sections)} sections" if len(sections) > 1 else ""
    words = f" (+{s.words_added} / {_MINUS}{s.words_removed} words)" if s.blocks_modified else ""
    topic_list = list(dict.fromkeys(t.strip() for t in topics if t and t.strip()))
    if topic_list or _formatting_only(diff):
        words = ""

    def line(section_limit: int, n_topics: int, with_words: bool) -> str:
        text = action
        if section_name:
            text += f" in '{_shorten(section_name, section_limit)}'"
        text += where
        if n_topics:
            text += " about " + _join(topic_list[:n_topics])
        return text + (words if with_words else "")

    # Give up detail in a fixed order until the line fits: word counts, then the length
    # of the section name, then topics from the last, then whatever remains is cut.
    candidates = [line(10_000, len(topic_list), True), line(10_000, len(topic_list), False)]
    candidates += [line(_SECTION_CHARS, n, False) for n in range(len(topic_list), 0, -1)]
    for text in candidates:
        if len(text) <= MAX_LENGTH:
            return text
    return _shorten(line(_SECTION_CHARS, min(1, len(topic_list)), False), MAX_LENGTH)
