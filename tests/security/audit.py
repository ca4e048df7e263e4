"""Read our own output the way a browser or a feed reader would, and say what is live in it."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit

# Attributes a browser follows or loads: a javascript: URL in any of them runs.
URL_ATTRIBUTES = frozenset(
    {"href", "src", "action", "formaction", "poster", "data", "xlink:href", "srcset"}
)
SAFE_SCHEMES = frozenset({"", "http", "https", "mailto"})

PAYLOADS = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(2)>',
    "'><svg onload=alert(3)>",
    "</textarea><script>alert(4)</script>",
    "<!-- --><iframe src=javascript:alert(5)>",
)
HOSTILE = " ".join(PAYLOADS)
JS_URL = "javascript:alert(document.cookie)"


@dataclass
class Audit:
    scripts: list[dict[str, str | None]] = field(default_factory=list)
    handlers: list[str] = field(default_factory=list)
    unsafe_urls: list[str] = field(default_factory=list)
    style_attributes: list[str] = field(default_factory=list)
    style_elements: int = 0
    frames: list[str] = field(default_factory=list)
    text: str = ""

    @property
    def inline_scripts(self) -> list[dict[str, str | None]]:
        return [s for s in self.scripts if not s.get("src")]

    def assert_inert(self, *, where: str = "") -> None:
        """Nothing third-party became markup: only our own scripts, no handlers, safe links."""
        assert all(is_own_script(s) for s in self.scripts), (where, self.scripts)
        assert self.handlers == [], (where, self.handlers)
        assert self.unsafe_urls == [], (where, self.unsafe_urls)
        assert self.frames == [], (where, self.frames)


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.audit = Audit()
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name.startswith("on"):
                self.audit.handlers.append(f"<{tag} {name}={value!r}>")
            if name in URL_ATTRIBUTES and value is not None and not is_safe_url(value):
                self.audit.unsafe_urls.append(f"<{tag} {name}={value!r}>")
            if name == "style":
                self.audit.style_attributes.append(f"<{tag} style={value!r}>")
        if tag == "script":
            self.audit.scripts.append(dict(attrs))
        elif tag == "style":
            self.audit.style_elements += 1
        elif tag in {"iframe", "frame", "object", "embed"}:
            self.audit.frames.append(tag)

    def handle_data(self, data: str) -> None:
        self._text.append(data)


def audit_html(html: str) -> Audit:
    parser = _Parser()
    parser.feed(html)
    parser.close()
    parser.audit.text = "".join(parser._text)
    return parser.audit


def is_own_script(attrs: dict[str, str | None]) -> bool:
    """A script file from our own origin (static files, the admin's jsi18n), nothing inline."""
    src = attrs.get("src") or ""
    return src.startswith("/") and not src.startswith("//")


def is_safe_url(value: str) -> bool:
    # urlsplit drops leading control characters and embedded tabs/newlines as browsers do,
    # so "\tjava\nscript:" is read as the javascript: scheme it is.
    try:
        scheme = urlsplit(value).scheme.lower()
    except ValueError:
        return False
    return scheme in SAFE_SCHEMES
