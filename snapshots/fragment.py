"""The HTML handed to the Markdown converter, spelled one way only.

Extraction serializes the cleaned part of the page and converts that to Markdown. Two fetches
of an unchanged page often differ inside that part too: build hashes in class names, nonces
and timestamps in data attributes and comments, whitespace after line breaks, invisible
characters. `canonical_fragment` removes those differences before conversion, so
the converter sees the same input for both fetches, and a hash of its input tells that the
text will be the same without converting again.

Each step removes only what the converter would not turn into text anyway, so the Markdown
is the one the uncanonical fragment gave (tests/snapshots/test_fragment.py holds the two side
by side on noisy real pages and generated HTML). One difference is deliberate: invisible
characters, which extract() deleted from the converter's output before, go from its input,
so a space beside one is collapsed as a reader sees it rather than left standing. The key's safety does not rest on that: it is a hash of exactly what the
converter reads, so equal keys mean equal input and equal output.

The input is lexbor's serialization, which this relies on: lowercase tag names, attribute
values in double quotes with `"`, `<` and `>` escaped, `<` in text escaped, and comments as
`<!--…-->`. Raw text elements that would break that (script, style, …) are dropped before.
"""

from __future__ import annotations

import re

_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)

# The attributes html-to-markdown reads with extract()'s options, tried one by one on every
# element: link targets, titles and labels, table spans, list starts, quote sources, task-list
# inputs. Everything else (class names, ids, data-*, nonces, styles, event handlers) it
# ignores, and rotating values there are what dynamic pages vary most.
_KEPT_ATTRIBUTES = frozenset(
    {
        "href",
        "title",
        "aria-label",
        "aria-hidden",
        "src",
        "colspan",
        "rowspan",
        "start",
        "cite",
        "type",
        "checked",
        "role",
        "shadowrootmode",
    }
)
_CLASS_READ_ON = frozenset({"pre", "code"})  # "language-…" names a code block's language
_ANY_ATTRIBUTE = r'[^\s="]+(?:="[^"]*")?'
_ATTRIBUTE = re.compile(r'([^\s="]+)(?:="[^"]*")?')  # its name, then its value
# A start tag with an attribute to drop. Most tags with attributes (links) keep all theirs:
# the lookahead rules them out inside the regex engine, without a call to _kept_attributes.
_NAMES = "|".join(sorted(_KEPT_ATTRIBUTES, key=len, reverse=True))
_TAG_TO_TRIM = re.compile(
    rf'<([a-z][^\s/>]*)(?=(?: {_ANY_ATTRIBUTE})*? (?!(?:{_NAMES})[=\s>])[^\s="])'
    rf"((?: {_ANY_ATTRIBUTE})+)>"
)

# The converter drops every whitespace run after a line break, except in preformatted text
# and code, where it keeps whitespace as it is. Other runs are left alone: how the converter
# reads one (a space, a soft line break, a paragraph break) depends on where it stands.
_AFTER_LINE_BREAK = re.compile(r"<br>[ \t\n]+")
_PRESERVING_TAG = re.compile(r"<(/?)(?:pre|code|kbd|samp|tt|listing|xmp|plaintext)\b[^>]*>")

# Characters that are never visible; extract() deletes them from every text it gives. Zero-
# width joiners are not among them: they change how Persian, Indic scripts and emoji read.
INVISIBLE_CHARS = (
    *(chr(c) for c in range(0x00, 0x20) if chr(c) not in "\t\n\r\x0b\x0c"),
    "\x7f",
    *(chr(c) for c in range(0x80, 0xA0) if c != 0x85),
    "\u00ad",  # soft hyphen
    "\u061c",  # Arabic letter mark
    "\u180e",  # Mongolian vowel separator
    "\u200b",  # zero-width space
    "\u200e",  # left-to-right mark
    "\u200f",  # right-to-left mark
    *(chr(c) for c in range(0x202A, 0x202F)),  # bidi embeddings and overrides
    *(chr(c) for c in range(0x2060, 0x2065)),  # word joiner, invisible operators
    *(chr(c) for c in range(0x2066, 0x206A)),  # bidi isolates
    "\ufeff",  # byte-order mark / zero-width no-break space
)
_INVISIBLE = re.compile("[" + "".join(f"\\u{ord(c):04x}" for c in INVISIBLE_CHARS) + "]")


def canonical_fragment(fragment: str) -> str:
    """The fragment with comments emptied, unread attributes and invisible characters gone,
    and no whitespace after line breaks."""
    if "<!--" in fragment:
        # Emptied, not removed: a link holding only a comment is not an empty link to the
        # converter (which would spell out its address as its text).
        fragment = _COMMENT.sub("<!---->", fragment)
    fragment = _TAG_TO_TRIM.sub(_kept_attributes, fragment)
    fragment = _INVISIBLE.sub("", fragment)
    if "<br>" in fragment:
        fragment = _after_line_breaks(fragment)
    return fragment


def _after_line_breaks(fragment: str) -> str:
    parts: list[str] = []
    depth = 0  # how many preserving elements the text at `at` is inside (they nest)
    at = 0
    for tag in _PRESERVING_TAG.finditer(fragment):
        text = fragment[at : tag.start()]
        parts.append(_AFTER_LINE_BREAK.sub("<br>", text) if depth == 0 else text)
        parts.append(tag.group())
        depth = max(depth - 1, 0) if tag.group(1) else depth + 1
        at = tag.end()
    text = fragment[at:]
    parts.append(_AFTER_LINE_BREAK.sub("<br>", text) if depth == 0 else text)
    return "".join(parts)


def _kept_attributes(match: re.Match[str]) -> str:
    name = match.group(1)
    kept = [
        attribute.group()
        for attribute in _ATTRIBUTE.finditer(match.group(2))
        if attribute.group(1) in _KEPT_ATTRIBUTES
        or (attribute.group(1) == "class" and name in _CLASS_READ_ON)
    ]
    return f"<{name} {' '.join(kept)}>" if kept else f"<{name}>"


__all__ = ["INVISIBLE_CHARS", "canonical_fragment"]
