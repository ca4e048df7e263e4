"""Fetched page -> the normalized Markdown text that Clausewatch versions.

The output is a pure function of (body, content type, rules, base URL): the same input
gives byte-identical text, so "same text as the current version" is a string comparison.
Everything that varies between two fetches of an unchanged page (scripts, tokens, page
chrome, invisible characters, line endings, whitespace) is removed here.

Normalization decisions (see `normalize_text`):
- Unicode NFC; every space separator (NBSP, thin space, ...) becomes a plain space.
- Invisible formatting characters are removed: zero-width space, word joiner, BOM,
  soft hyphen, bidi marks/embeddings. ZWJ and ZWNJ are KEPT: they change how Persian,
  Indic scripts and emoji read, so removing them would rewrite text.
- Control characters other than tab and newline are removed; CR, CRLF, form feed and
  the Unicode line/paragraph separators become "\\n"; tabs expand to 4-column stops.
- Typography is kept as published: curly quotes, dashes and ellipses are not folded to
  ASCII, since a tracker must not alter the wording it quotes. A straight apostrophe
  turning curly is therefore a change of the text (the diff layer may call it typographic).
- Trailing whitespace is stripped, runs of blank lines collapse to one, the text starts
  with a non-blank line and ends with exactly one "\\n".
- HTML becomes Markdown with "#" headings, "-" bullets, "*" emphasis and no escaping
  beyond what tables need; Markdown input gets the same heading and bullet style.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal
from urllib.parse import urljoin

import html_to_markdown as h2m
from selectolax.lexbor import LexborHTMLParser, LexborNode, SelectolaxError

from snapshots.fragment import INVISIBLE_CHARS, canonical_fragment

ErrorKind = Literal["selector_broken", "unsupported", "empty", "malformed"]


# Bump whenever a change here can change extract()'s output for the same input: documents'
# extraction keys (below) then stop matching, and the next check extracts afresh.
EXTRACTOR_VERSION = "2026-11-27.1"


@dataclass(frozen=True)
class ExtractRules:
    select: tuple[str, ...] = ()  # CSS selectors; union of matches in document order; () = page
    remove: tuple[str, ...] = ()  # CSS selectors removed before conversion
    ignore_patterns: tuple[str, ...] = ()  # regexes; output lines matching any are dropped


def extraction_key(
    *, body_sha256: str, content_type: str, rules: ExtractRules, base_url: str
) -> str:
    """Everything extract() reads, hashed: equal keys mean equal extracted text.

    The pipeline keeps the key of each document's last extraction, so a byte-identical page
    (most terms pages are static) skips parsing and conversion. The codec extract() is given
    is not part of it: the pipeline works that out from the body and the content type.
    """
    key = [
        EXTRACTOR_VERSION,
        body_sha256,
        content_type,
        base_url,
        *map(list, (rules.select, rules.remove, rules.ignore_patterns)),
    ]
    return hashlib.sha256(json.dumps(key).encode()).hexdigest()


class ExtractError(Exception):
    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


def extract(
    body: bytes | str,
    *,
    content_type: str,
    rules: ExtractRules,
    base_url: str = "",
    encoding: str | None = None,
) -> str:
    """The normalized text of a fetched document; raises ExtractError when there is none."""
    extraction = extract_page(
        body, content_type=content_type, rules=rules, base_url=base_url, encoding=encoding
    )
    assert extraction.text is not None  # no known fragment was given
    return extraction.text


@dataclass(frozen=True)
class Extraction:
    """What extract_page() found: the text, or that it is the text of the known fragment."""

    text: str | None  # None: the converter's input was the known fragment, so the same text
    fragment_key: str = ""  # the key of the converter's input ("" when there was no converter)


def extract_page(
    body: bytes | str,
    *,
    content_type: str,
    rules: ExtractRules,
    base_url: str = "",
    encoding: str | None = None,
    known_fragment: str = "",
) -> Extraction:
    """extract(), which stops before converting when the converter's input has a known key.

    `known_fragment` is the fragment_key of an earlier Extraction (of any body, with these
    rules): when the page's cleaned HTML is that same input, its text is that same text, and
    the result says so (text None) instead of converting it again.
    """
    patterns = _compile_patterns(rules.ignore_patterns)
    mime, charset = _parse_content_type(content_type)
    kind = _document_kind(mime, body)
    fragment_key = ""
    if kind == "pdf":
        text = _pdf_text(body)
    else:
        text = _decode(body, encoding or charset, sniff_meta=kind == "html")
        _reject_binary(text, mime)
        if kind == "html":
            converted = _html_to_text(text, rules=rules, base_url=base_url, known=known_fragment)
            if converted.text is None:
                return converted
            text, fragment_key = converted.text, converted.fragment_key
        elif kind == "markdown":
            text = _markdown_style(_clean_chars(text))
    text = _normalize(text, patterns, collapse_spaces=kind in ("html", "pdf"))
    if not text.strip():
        raise ExtractError("empty", "the document has no text after extraction")
    return Extraction(text, fragment_key)


# --- content types and decoding ------------------------------------------------------------------

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_MARKDOWN_TYPES = frozenset({"text/markdown", "text/x-markdown"})
_TEXT_TYPES = frozenset({"text/plain"})
_SNIFF_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})


def _parse_content_type(content_type: str) -> tuple[str, str | None]:
    mime, _, params = content_type.partition(";")
    charset = None
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip("\"'")
    return mime.strip().lower(), charset


def _document_kind(mime: str, body: bytes | str) -> str:
    head = body[:1024] if isinstance(body, bytes) else body[:1024].encode("utf-8", "replace")
    if mime in _HTML_TYPES | _SNIFF_TYPES and head.lstrip().startswith(b"%PDF-"):
        return "pdf"  # servers label PDF downloads loosely; the bytes can't lie about this
    if mime in _HTML_TYPES:
        return "html"
    if mime in _MARKDOWN_TYPES:
        return "markdown"
    if mime in _TEXT_TYPES:
        return "text"
    if mime == "application/pdf":
        return "pdf"
    if mime in _SNIFF_TYPES and re.search(rb"<(!doctype html|html|body)[\s>]", head, re.I):
        return "html"
    raise ExtractError("unsupported", f"content type {mime or 'unknown'} is not a text document")


_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE
)
# The WHATWG encoding standard decodes these labels as windows-1252, and so do browsers.
_WHATWG_ALIASES = {"iso8859-1": "cp1252", "latin-1": "cp1252", "ascii": "cp1252"}


def _decode(body: bytes | str, charset: str | None, *, sniff_meta: bool) -> str:
    if isinstance(body, str):
        return body
    for bom, codec in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le")):
        if body.startswith(bom):
            return body[len(bom) :].decode(codec, "replace")
    if body.startswith(codecs.BOM_UTF16_BE):
        return body[2:].decode("utf-16-be", "replace")
    if not charset and sniff_meta and (m := _META_CHARSET.search(body[:1024])):
        charset = m.group(1).decode("ascii")
    if codec := _codec(charset):
        return body.decode(codec, "replace")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return _guess_decode(body)


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    return _WHATWG_ALIASES.get(name, name)


def _guess_decode(body: bytes) -> str:
    from charset_normalizer import from_bytes  # imported lazily: slow and rarely needed

    matches = from_bytes(body[:200_000])
    best = matches.best()
    # Undeclared Western pages are windows-1252 (the WHATWG default); the detector often
    # ranks a sibling code page first for them, so prefer 1252 whenever it fits as well.
    if best is None or any(m.encoding == "cp1252" and m.chaos <= best.chaos for m in matches):
        return body.decode("cp1252", "replace")
    return body.decode(best.encoding, "replace")


_BINARY_CHARS = re.compile("[\x01-\x08\x0e-\x1f\x7f\ufffd]")


def _reject_binary(text: str, mime: str) -> None:
    # Stray NULs and control characters are noise to strip; a body made of them (an image
    # or archive served as text) is no text at all. Text has next to none of them.
    sample = text[:8192]
    if len(sample) >= 64 and len(_BINARY_CHARS.findall(sample)) > len(sample) * 0.05:
        raise ExtractError("malformed", f"the {mime or 'document'} body is binary, not text")


# --- PDF -----------------------------------------------------------------------------------------


def _pdf_text(body: bytes | str) -> str:
    from pypdf import PdfReader  # imported lazily: most documents are HTML
    from pypdf.errors import DependencyError, PdfReadError, PyPdfError

    data = body if isinstance(body, bytes) else body.encode("latin-1", "replace")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ExtractError("unsupported", "the PDF is encrypted with a password")
        pages = [page.extract_text() or "" for page in reader.pages]
    except ExtractError:
        raise
    except DependencyError as exc:
        raise ExtractError("unsupported", f"the PDF cannot be decrypted here: {exc}") from exc
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise ExtractError("unsupported", f"the PDF cannot be read: {exc}") from exc
    return "\n\n".join(pages)


# --- HTML ----------------------------------------------------------------------------------------

# Never text a reader sees as the document: code, media, embedded frames, form controls.
_JUNK = (
    "script, style, noscript, template, svg, iframe, object, embed, canvas, video, audio, "
    "input, select, textarea, button"
)
_NAVIGATION = "nav, [role=navigation], [role=banner], [role=contentinfo], [role=search]"
_LANDMARKS = "header, footer, aside, [role=complementary]"
_SECTIONING = frozenset({"article", "main", "section"})
_SKIP_LINKS = 'a[href^="#"]'
_SKIP_TEXT = re.compile(r"\s*skip\b", re.IGNORECASE)
_MAIN = "main, [role=main]"
_CONSENT_CANDIDATES = (
    "[id*=cookie i], [class*=cookie i], [id*=consent i], [class*=consent i], [id*=gdpr i], "
    "[class*=gdpr i], [id*=onetrust i], [id*=cookiebot i], [id*=usercentrics i], "
    "[id*=didomi i], [id*=truste i], [class*=cmp- i], [id*=sp_message i], "
    "dialog, [role=dialog], [role=alertdialog], [aria-modal=true]"
)
_CONSENT_NAME = re.compile(
    r"(cookie|consent|gdpr)[-_]?(banner|bar|notice|popup|pop-up|modal|dialog|overlay|wall|"
    r"message|prompt|layer|box|sdk|alert|container|wrapper|law|consent|manager|notification)"
    r"|onetrust|cookiebot|cybot|usercentrics|didomi|truste|qc-cmp|cmp-container|sp_message",
    re.IGNORECASE,
)
_CONSENT_TEXT = re.compile(r"cookie|consent", re.IGNORECASE)
_CONSENT_MAX_CHARS = 3000  # a banner is short; a policy section about cookies is not
_UNSAFE_SCHEME = re.compile(r"^(javascript|vbscript|data):", re.IGNORECASE)
_URL_JUNK = re.compile(r"[\x00-\x20]")
_RELATIVE_LINKS = (
    'a[href]:not([href^="http:" i]):not([href^="https:" i]):not([href^="#"])'
    ':not([href^="mailto:" i]):not([href^="tel:" i])'
)
_DEPTH_LIMIT = 200  # html-to-markdown silently skips nodes deeper than 1024

# fmt: off
_BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "br", "dd", "details", "div", "dl", "dt",
    "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li",
    "main", "nav", "ol", "p", "pre", "section", "summary", "table", "td", "th", "tr", "ul",
})
# fmt: on
# Whitespace between two block-level tags is insignificant in HTML, but the converter lets
# it change list indentation ("<li> <h3>" vs "<li><h3>"): drop it so noise cannot leak in.
# `pre` and `br` are left out: their neighbouring whitespace can be content.
_INTER_BLOCK_NAMES = sorted(_BLOCK_TAGS - {"pre", "br"} | {"tbody", "thead", "tfoot", "caption"})


def _alternation(words: list[str]) -> str:
    """A regex alternation of words grouped by first letter: each tag name is tried once."""
    groups: dict[str, list[str]] = {}
    for word in words:
        groups.setdefault(word[0], []).append(re.escape(word[1:]))
    return (
        "(?:"
        + "|".join(
            first
            + (f"(?:{'|'.join(sorted(rests, key=len, reverse=True))})" if rests != [""] else "")
            for first, rests in sorted(groups.items())
        )
        + ")"
    )


# Tag names are lowercase in the serialized fragment this runs on.
_BLOCK_TAG = _alternation(_INTER_BLOCK_NAMES)
_INTER_BLOCK_SPACE = re.compile(rf"(</?{_BLOCK_TAG}\b[^>]*>)\s+(?=</?{_BLOCK_TAG}\b)")


def html_to_text(markup: str, *, rules: ExtractRules, base_url: str = "") -> str:
    """Markdown for the part of the page the rules select (not yet normalized)."""
    converted = _html_to_text(markup, rules=rules, base_url=base_url, known="")
    assert converted.text is not None
    return converted.text


def _html_to_text(markup: str, *, rules: ExtractRules, base_url: str, known: str) -> Extraction:
    _check_selectors(rules.select + rules.remove)
    if "\x00" in markup:
        markup = markup.replace("\x00", "")  # the parser would turn them into U+FFFD
    tree = LexborHTMLParser(markup)
    base_url = _document_base(tree, base_url)
    roots = _selected(tree, rules.select) if rules.select else _content_roots(tree)
    converted = _roots_to_text(tree, roots, rules, base_url, known)
    body = tree.body
    if (
        converted.text is not None
        and not converted.text.strip()
        and not rules.select
        and body is not None
        and [r.mem_id for r in roots] != [body.mem_id]
    ):
        converted = _roots_to_text(tree, [body], rules, base_url, known)  # an empty <main>
    return converted


def _roots_to_text(
    tree: LexborHTMLParser,
    roots: list[LexborNode],
    rules: ExtractRules,
    base_url: str,
    known: str,
) -> Extraction:
    # Clean inside the chosen roots only: chrome outside them never reaches the converter.
    kept = []
    for root in roots:
        if not _apply_removals(root, rules.remove):
            continue  # a remove rule matched the selected element itself
        _drop_within(root, _JUNK)
        if not rules.select:
            _drop_chrome(root)
        _neutralize_links(root)
        _resolve_links(root, base_url)
        kept.append(root)
    fragment = _fragment(kept)
    key = fragment_key(fragment, rules)
    if key == known:
        return Extraction(None, key)
    result = h2m.convert(fragment, _CONVERSION_OPTIONS)
    if any(w.kind == h2m.WarningKind.DEPTH_LIMIT_EXCEEDED for w in result.warnings):
        for root in kept:
            _flatten_deep(tree, root)
        fragment = _fragment(kept)
        key = fragment_key(fragment, rules)
        if key == known:
            return Extraction(None, key)
        result = h2m.convert(fragment, _CONVERSION_OPTIONS)
    return Extraction(result.content or "", key)


def _fragment(roots: list[LexborNode]) -> str:
    """The converter's input: the serialized subtrees, not the page, so its own parse is small."""
    fragment = canonical_fragment("\n".join(root.html or "" for root in roots))
    return _INTER_BLOCK_SPACE.sub(r"\1", fragment)


def fragment_key(fragment: str, rules: ExtractRules) -> str:
    """A hash of everything that makes the text of a converted fragment: equal keys, equal text.

    The fragment already holds the selected, cleaned part of the page with its links
    resolved; what happens after conversion depends only on the ignore patterns.
    """
    key = hashlib.sha256(json.dumps([EXTRACTOR_VERSION, list(rules.ignore_patterns)]).encode())
    key.update(b"\x00")  # JSON never holds a NUL, so the two parts cannot run into each other
    key.update(fragment.encode("utf-8", "surrogatepass"))
    return key.hexdigest()


def validate_selector(selector: str) -> None:
    """Raise ValueError if extract() would reject this CSS selector."""
    if error := _selector_error(selector):
        raise ValueError(error)


@lru_cache(maxsize=1024)
def _selector_error(selector: str) -> str | None:
    if not selector.strip():
        return "the CSS selector is empty"
    try:
        LexborHTMLParser("<p>probe</p>").css(selector)
    except SelectolaxError:
        return f"{selector!r} is not a valid CSS selector"
    return None


def _check_selectors(selectors: tuple[str, ...]) -> None:
    for selector in selectors:
        if error := _selector_error(selector):
            raise ExtractError("selector_broken", error)


def _apply_removals(root: LexborNode, selectors: tuple[str, ...]) -> bool:
    """Drop matches inside root; False when root itself matches (it goes entirely)."""
    for selector in selectors:
        matches = root.css(selector)  # includes root itself, first in document order
        if matches and matches[0].mem_id == root.mem_id:
            return False
        _drop(matches)
    return True


def _drop_within(root: LexborNode, selector: str) -> None:
    # node.css() includes the node itself, which must stay.
    _drop([node for node in root.css(selector) if node.mem_id != root.mem_id])


def _drop(nodes: list[LexborNode]) -> None:
    # Detaching (not destroying) keeps nested matches in the list safe to touch.
    for node in nodes:
        node.decompose(recursive=False)


def _document_base(tree: LexborHTMLParser, base_url: str) -> str:
    base = tree.css_first("base[href]")
    href = base.attributes.get("href") if base is not None else None
    return urljoin(base_url, href.strip()) if href else base_url


def _selected(tree: LexborHTMLParser, selectors: tuple[str, ...]) -> list[LexborNode]:
    body = tree.body
    matches = body.css(", ".join(selectors)) if body is not None else []
    if not matches:
        names = ", ".join(repr(s) for s in selectors)
        raise ExtractError("selector_broken", f"no element matches the selectors {names}")
    return _outermost(matches)


def _outermost(nodes: list[LexborNode]) -> list[LexborNode]:
    """Document-ordered matches minus those inside another match (no text twice)."""
    chosen: list[LexborNode] = []
    ids = {node.mem_id for node in nodes}
    for node in nodes:
        parent = node.parent
        while parent is not None and parent.mem_id not in ids:
            parent = parent.parent
        if parent is None:
            chosen.append(node)
    return chosen


def _drop_chrome(root: LexborNode) -> None:
    _drop_within(root, _NAVIGATION)
    if root.tag == "body":
        # Page-level header/footer/aside only: inside an article or section they are the
        # document's own (title, effective date, footnotes), and so is a header holding
        # the page's real (not logo) <h1>.
        landmarks = root.css(_LANDMARKS)
        _drop([n for n in landmarks if not _inside(n, _SECTIONING, root) and not _titled(n)])
        _drop([n for n in root.css(_SKIP_LINKS) if _SKIP_TEXT.match(n.text(deep=True))])
    _drop(consent_banners(root))


def _titled(node: LexborNode) -> bool:
    return node.tag == "header" and any(h.css_first("a") is None for h in node.css("h1"))


def _inside(node: LexborNode, tags: frozenset[str], stop: LexborNode) -> bool:
    parent = node.parent
    while parent is not None and parent.mem_id != stop.mem_id:
        if parent.tag in tags:
            return True
        parent = parent.parent
    return False


def consent_banners(root: LexborNode) -> list[LexborNode]:
    """The cookie/consent banners and dialogs inside root (never root itself)."""
    candidates = root.css(_CONSENT_CANDIDATES)
    return [n for n in candidates if n.mem_id != root.mem_id and is_consent_banner(n)]


def is_consent_banner(node: LexborNode) -> bool:
    """A cookie/consent banner or dialog (short, named or worded like one), not a policy section."""
    attrs = node.attributes
    name = f"{attrs.get('id') or ''} {attrs.get('class') or ''}"
    dialog = node.tag == "dialog" or attrs.get("role") in ("dialog", "alertdialog")
    if not (_CONSENT_NAME.search(name) or (dialog or "aria-modal" in attrs)):
        return False
    text = node.text(deep=True)
    if len(text) > _CONSENT_MAX_CHARS:
        return False
    return bool(_CONSENT_NAME.search(name) or _CONSENT_TEXT.search(text))


def _content_roots(tree: LexborHTMLParser) -> list[LexborNode]:
    body = tree.body
    if body is None:
        return []
    mains = _outermost(body.css(_MAIN))
    if mains:
        return mains
    articles = body.css("article")
    if len(articles) == 1:
        return articles
    return [body]


def _neutralize_links(root: LexborNode) -> None:
    for link in root.css('a[href*="script:" i], a[href*="data:" i]'):
        href = link.attributes.get("href") or ""
        if _UNSAFE_SCHEME.match(_URL_JUNK.sub("", href)):
            del link.attrs["href"]


def _resolve_links(root: LexborNode, base_url: str) -> None:
    # Relative links become absolute, but "#section" stays: resolving in-page anchors would
    # write the page's own URL (query string, redirect target) into every one of them, and
    # a change of that URL would then read as a change of the whole document.
    if not base_url:
        return
    for link in root.css(_RELATIVE_LINKS):
        href = (link.attributes.get("href") or "").strip()
        if href and not href.startswith("#"):
            link.attrs["href"] = urljoin(base_url, href)


def _conversion_options() -> h2m.ConversionOptions:
    # Enum members, not strings: the binding would re-parse string options on every call.
    return h2m.ConversionOptions(
        heading_style=h2m.HeadingStyle.ATX,
        bullets="-",
        strong_em_symbol="*",
        list_indent_width=2,
        newline_style=h2m.NewlineStyle.SPACES,
        compact_tables=True,  # padding re-aligns whole tables when one cell changes
        autolinks=True,
        skip_images=True,  # image URLs churn (CDN hashes, tracking) and carry no terms
        # Collapsed accordions and inactive tabs hold real clauses: keep hidden content
        # (template/noscript are already gone).
        hidden_content=h2m.HiddenContent.REACHABLE,
        # Tier 1 is faster but renders lists differently from tier 2 and falls back per page,
        # which would flip formatting between fetches; always use the one DOM-walk path.
        tier_strategy=h2m.TierStrategy.TIER2,
        preprocessing=h2m.PreprocessingOptions(enabled=False),  # our chrome rules, not its own
        extract_metadata=False,
    )


_CONVERSION_OPTIONS = _conversion_options()


def _flatten_deep(tree: LexborHTMLParser, root: LexborNode) -> None:
    """Replace subtrees nested deeper than _DEPTH_LIMIT by their text as plain paragraphs."""
    for node in _nodes_at_depth(root, _DEPTH_LIMIT):
        for block in _text_blocks(node):
            para = tree.create_node("p")
            para.insert_child(block)
            node.insert_before(para)
        node.decompose(recursive=False)


def _nodes_at_depth(root: LexborNode, limit: int) -> list[LexborNode]:
    found: list[LexborNode] = []
    stack: list[tuple[LexborNode, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        for child in node.iter():
            if depth + 1 >= limit:
                found.append(child)
            else:
                stack.append((child, depth + 1))
    return found


def _text_blocks(node: LexborNode) -> list[str]:
    blocks: list[str] = []
    buf: list[str] = []

    def flush() -> None:
        text = " ".join("".join(buf).split())
        if text:
            blocks.append(text)
        buf.clear()

    stack: list[tuple[LexborNode, bool]] = [(node, False)]
    while stack:
        current, leaving = stack.pop()
        if current.is_text_node:
            buf.append(current.text_content or "")
            continue
        if current.tag in _BLOCK_TAGS:
            flush()
        if not leaving:
            stack.append((current, True))
            children = list(current.iter(include_text=True))
            stack.extend((child, False) for child in reversed(children))
    flush()
    return blocks


# --- normalization -------------------------------------------------------------------------------

_LINE_BREAK_CHARS = ("\x0b", "\x0c", "\x85", "\u2028", "\u2029")
_SPACE_CHARS = (
    "\u00a0",
    "\u1680",
    *(chr(c) for c in range(0x2000, 0x200B)),
    "\u202f",
    "\u205f",
    "\u3000",
)
_ODD_MAP = {
    **dict.fromkeys(_LINE_BREAK_CHARS, "\n"),
    **dict.fromkeys(INVISIBLE_CHARS, ""),
    **dict.fromkeys(_SPACE_CHARS, " "),
}
# One pass over the text; the callback runs only where an odd character actually is.
_ODD = re.compile("[" + "".join(f"\\u{ord(c):04x}" for c in _ODD_MAP) + "]")
_SPACE_RUN = re.compile("  +")


def normalize_text(text: str) -> str:
    """The canonical form of a text (see the module docstring)."""
    return _normalize(text)


def _normalize(
    text: str, ignore: tuple[re.Pattern[str], ...] = (), *, collapse_spaces: bool = False
) -> str:
    text = _clean_chars(text)
    if collapse_spaces and "  " in text:
        text = _collapse_spaces(text)
    lines = text.split("\n")
    if "\t" in text:
        lines = [line.expandtabs(4) for line in lines]
    lines = [line.rstrip(" ") for line in lines]
    if ignore:
        lines = [line for line in lines if not _ignored(line, ignore)]
    text = "\n".join(lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    text = text.strip("\n")
    return text + "\n" if text else ""


def _clean_chars(text: str) -> str:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _ODD.sub(_replace_odd, text)
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return text


def _replace_odd(match: re.Match[str]) -> str:
    return _ODD_MAP[match.group()]


def _collapse_spaces(text: str) -> str:
    # Converted HTML has no meaningful runs of spaces, only leftovers of NBSPs, invisible
    # characters and layout; keep the runs that start a line, they nest lists.
    def one_space(match: re.Match[str]) -> str:
        start = match.start()
        return match.group() if start == 0 or text[start - 1] == "\n" else " "

    return _SPACE_RUN.sub(one_space, text)


def _ignored(line: str, patterns: tuple[re.Pattern[str], ...]) -> bool:
    return any(p.search(line) for p in patterns)


def validate_pattern(pattern: str) -> None:
    """Raise ValueError unless `pattern` is a usable ignore pattern (also enforced by extract)."""
    _compile_pattern(pattern)


@lru_cache(maxsize=1024)
def _compile_pattern(pattern: str) -> re.Pattern[str]:
    if not pattern.strip():
        raise ValueError("the ignore pattern is empty")
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{pattern!r} is not a valid regular expression: {exc}") from exc
    if all(compiled.search(probe) for probe in ("", "a", "Terms of Service", "1.")):
        raise ValueError(f"{pattern!r} matches every line, so nothing would be left")
    return compiled


def _compile_patterns(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    return tuple(_compile_pattern(p) for p in patterns)


# --- Markdown input ------------------------------------------------------------------------------

_MD_RULE = re.compile(r"^ {0,3}(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,})$")
_MD_UNDERLINE = re.compile(r"^ *(=+|-+) *$")
_MD_BULLET = re.compile(r"^( *)[*+]( +)")
_MD_ITEM = re.compile(r"^( *)([-*+]|\d{1,9}[.)])( +)")
_MD_NOT_PARAGRAPH = re.compile(r"^ *(#|>|```|~~~|\||<)")


def _markdown_style(text: str) -> str:
    """Setext headings -> "#", "*"/"+" bullets -> "-", rules -> "---"; text left alone."""
    out: list[str] = []
    previous_blank = True
    for line in text.split("\n"):
        underline = _MD_UNDERLINE.match(line)
        if underline and not previous_blank and out and _setext_target(out[-1]):
            out[-1] = _as_heading(out[-1], 1 if underline.group(1)[0] == "=" else 2)
            previous_blank = False
            continue
        if _MD_RULE.match(line):
            # After a paragraph line "---" would read as a heading underline: keep the original.
            out.append("---" if previous_blank else line)
            previous_blank = False
            continue
        out.append(_MD_BULLET.sub(r"\1-\2", line, count=1))
        previous_blank = not line.strip()
    return "\n".join(out)


def _setext_target(line: str) -> bool:
    return bool(line.strip()) and not _MD_NOT_PARAGRAPH.match(line) and not _MD_RULE.match(line)


def _as_heading(line: str, level: int) -> str:
    marks = "#" * level
    if m := _MD_ITEM.match(line):
        return f"{m.group(0)}{marks} {line[m.end() :].strip()}"
    return f"{' ' * (len(line) - len(line.lstrip(' ')))}{marks} {line.strip()}"


__all__ = [
    "ExtractError",
    "ExtractRules",
    "Extraction",
    "consent_banners",
    "extract",
    "extract_page",
    "fragment_key",
    "html_to_text",
    "is_consent_banner",
    "normalize_text",
    "validate_pattern",
    "validate_selector",
]
