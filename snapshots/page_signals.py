"""Is this response the document, or something standing in front of it?

`classify_page` names the reason to hold a fetched page instead of versioning it:
an error page, a bot challenge, a login wall or a cookie wall. Each of those is short and
made of a few tell-tale phrases; a real terms page is long and merely *mentions* cookies,
logging in or errors. So every content rule needs both the tell-tales and a short page,
and a long extracted text is never held for its content alone (only for an error status).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser, LexborNode

from snapshots.extract import consent_banners, is_consent_banner

ERROR_PAGE = "error_page"
CAPTCHA = "captcha"
LOGIN_WALL = "login_wall"
COOKIE_WALL = "cookie_wall"

# Word counts: walls and error pages are short; the shortest real policy is longer.
_LONG_DOCUMENT = 1000
_SHORT_PAGE = 400
_TINY_PAGE = 150
# No rule looks further than this many words, so page counts stop there (a 100 KB page
# would otherwise be split into 15,000 words on every check just to learn it is long).
_COUNT_CAP = 2 * _SHORT_PAGE

_CAPTCHA_MARKUP = re.compile(
    r"g-recaptcha|recaptcha/(?:api|enterprise)\.js|hcaptcha\.com|h-captcha|cf-challenge|"
    r"challenges\.cloudflare\.com|/cdn-cgi/challenge-platform|cf_chl_|cf-turnstile|"
    r"captcha-delivery\.com|px-captcha|_incapsula_resource|funcaptcha|arkoselabs",
    re.IGNORECASE,
)
_CAPTCHA_TEXT = re.compile(
    r"verify (?:that )?you['\u2019]?(?:re| are) (?:a )?human|are you a robot|"
    r"i['\u2019]?m not a robot|"
    r"unusual traffic|checking (?:if the site connection is secure|your browser)|"
    r"just a moment\.\.\.|press (?:&|and) hold|complete the security check|"
    r"prove you['\u2019]?re not a (?:ro)?bot|solve (?:the|this) (?:captcha|puzzle)|"
    r"complete the captcha|type the characters you see",
    re.IGNORECASE,
)
_LOGIN_FIELD = "input[type=password i]"
_LOGIN_TEXT = re.compile(
    r"\b(?:sign|log)[ -]?in\b|\blogin\b|forgot (?:your )?password|create (?:an )?account|"
    r"\bsign up\b|continue with (?:google|apple|email|facebook)",
    re.IGNORECASE,
)
_BUTTONS = (
    "button, [role=button], input[type=submit], input[type=button], a[class*=btn i], "
    "a[class*=button i]"
)
_CONSENT_BUTTON = re.compile(
    r"\s*(?:i )?(?:accept|allow|agree|reject|decline|refuse|consent)\b", re.IGNORECASE
)
_MAIN = "main, [role=main]"
_CHROME_TAGS = frozenset({"header", "nav", "footer", "aside"})
_CHROME = ", ".join(sorted(_CHROME_TAGS))
# Each alternative is one tell-tale; a wall shows several, a policy page rarely two.
_CONSENT_PHRASES = (
    re.compile(r"\b(?:accept|allow|agree to) all\b", re.IGNORECASE),
    re.compile(r"\b(?:reject|decline|refuse) all\b", re.IGNORECASE),
    re.compile(r"\baccept (?:all )?cookies\b|\bi accept\b|\bi agree\b", re.IGNORECASE),
    re.compile(
        r"\bmanage (?:your )?(?:cookie |privacy )?(?:preferences|settings|choices|options)\b",
        re.IGNORECASE,
    ),
    re.compile(r"\bbefore you continue\b", re.IGNORECASE),
    re.compile(r"\bwe and our (?:\d[\d,]* )?(?:vendors|partners)\b", re.IGNORECASE),
    re.compile(r"\bstore and/or access information on a device\b", re.IGNORECASE),
    re.compile(r"\bwe use cookies\b|\buses cookies\b", re.IGNORECASE),
    re.compile(r"\blegitimate interest\b", re.IGNORECASE),
)
_ERROR_TEXT = re.compile(
    r"\b404\b|\bnot found\b|page (?:you (?:requested|were looking for) )?"
    r"(?:doesn['\u2019]?t|does not|cannot be|could not be|can['\u2019]?t be) (?:exist|found)|"
    r"something went wrong|service (?:is )?(?:temporarily )?unavailable|"
    r"internal server error|bad gateway|gateway time-?out|\b50[0234] error\b|"
    r"an (?:unexpected )?error (?:has )?occurred|temporarily unavailable|"
    r"(?:down|under) (?:for )?maintenance|too many requests|access denied|\bforbidden\b|"
    r"\boops\b|try again later",
    re.IGNORECASE,
)


def classify_page(*, status: int, html_or_text: str, extracted_text: str | None) -> str | None:
    """None for a normal document page, else the reason code to hold the response."""
    if extracted_text is not None and status < 400 and _has_words(extracted_text, _LONG_DOCUMENT):
        return None  # fast path: no wall or error page is this long
    extracted_words = _words_upto(extracted_text, _COUNT_CAP) if extracted_text is not None else 0
    page = _Page.parse(html_or_text)
    words = max(page.words, extracted_words)
    extracted = extracted_text or ""
    if _is_captcha(html_or_text, page.text, words):
        return CAPTCHA
    if _is_login_wall(page, words):
        return LOGIN_WALL
    if status >= 400:
        return ERROR_PAGE
    if _is_cookie_wall(page, extracted_text):
        return COOKIE_WALL
    if words == 0:
        return ERROR_PAGE  # a blank 200 is a broken page, not an emptied document
    if words < _TINY_PAGE and _ERROR_TEXT.search(f"{page.headline}\n{_first_line(extracted)}"):
        return ERROR_PAGE
    return None


def shrink_ratio(old_text: str, new_text: str) -> float:
    """Share of the old text's words that the new text no longer has room for (0.0-1.0).

    Counts words, not which words: a rewrite of the same length is not a shrink, a page
    cut off half-way is 0.5.
    """
    old = _words(old_text)
    if old == 0:
        return 0.0
    return max(0.0, 1.0 - _words(new_text) / old)


def is_challenge_page(*, status: int, html_or_text: str) -> bool:
    """A bot challenge (captcha, "checking your browser")? Cheap for the long pages most are.

    Same answer as classify_page(...) == CAPTCHA, which needs a page under _SHORT_PAGE words:
    a bare parse and a bounded word count rule out a real document before the full analysis.
    """
    if "<" in html_or_text:
        tree = LexborHTMLParser(html_or_text)
        for node in tree.css("script, style, noscript, template, svg"):
            node.decompose(recursive=False)
        body = tree.body
        text = body.text(deep=True, separator=" ") if body is not None else ""
    else:
        text = html_or_text
    if _has_words(text, _SHORT_PAGE):
        return False
    return classify_page(status=status, html_or_text=html_or_text, extracted_text=None) == CAPTCHA


def _words(text: str) -> int:
    return len(text.split())


def _words_upto(text: str, cap: int) -> int:
    """The number of words, or cap + 1 for any text longer than cap words."""
    return len(text.split(maxsplit=cap))


def _has_words(text: str, n: int) -> bool:
    """At least n words, without splitting the whole of a long text."""
    return n <= 0 or len(text.split(maxsplit=n - 1)) >= n


def _first_line(text: str) -> str:
    # An error page names itself up front; a clause about errors further down doesn't count.
    return next((line for line in text.splitlines() if line.strip()), "")


@dataclass(frozen=True)
class _Page:
    text: str  # the visible text, chrome included
    words: int  # counts stop at _COUNT_CAP + 1
    content_words: int  # without header/nav/footer/aside and consent banners
    headline: str = ""  # <title> and <h1>s: where an error page names itself
    password_in_content: bool = False  # a password field outside header/nav/footer chrome
    consent_in_content: bool = False  # an accept/reject button the extractor would not drop

    @classmethod
    def parse(cls, html_or_text: str) -> _Page:
        if "<" not in html_or_text:
            words = _words_upto(html_or_text, _COUNT_CAP)
            return cls(html_or_text, words, words, _first_line(html_or_text))
        tree = LexborHTMLParser(html_or_text)
        for node in tree.css("script, style, noscript, template, svg"):
            node.decompose(recursive=False)
        body = tree.body
        if body is None:
            return cls("", 0, 0)
        text = body.text(deep=True, separator=" ")
        root = body.css_first(_MAIN) or body
        headline = " | ".join(n.text(deep=True, separator=" ") for n in tree.css("title, h1"))
        password = any(not _in_chrome(field, root) for field in root.css(_LOGIN_FIELD))
        consent = any(
            _CONSENT_BUTTON.match(_label(button)) and not _in_chrome(button, root)
            for button in root.css(_BUTTONS)
        )
        for node in [*root.css(_CHROME), *consent_banners(root)]:
            if node.mem_id != root.mem_id:
                node.decompose(recursive=False)
        content_words = _words_upto(root.text(deep=True, separator=" "), _COUNT_CAP)
        return cls(text, _words_upto(text, _COUNT_CAP), content_words, headline, password, consent)


def _label(button: LexborNode) -> str:
    return button.text(deep=True) or button.attributes.get("value") or ""


def _in_chrome(node: LexborNode, root: LexborNode) -> bool:
    """Inside page chrome or a consent banner: the parts the extractor drops."""
    parent = node.parent
    while parent is not None and parent.mem_id != root.mem_id:
        if parent.tag in _CHROME_TAGS or is_consent_banner(parent):
            return True
        parent = parent.parent
    return False


def _is_captcha(markup: str, text: str, words: int) -> bool:
    if words >= _SHORT_PAGE:
        return False
    if _CAPTCHA_TEXT.search(text):
        return True
    # The widget alone may be a contact form under a short document; alone on a page it isn't.
    return words < _TINY_PAGE and bool(_CAPTCHA_MARKUP.search(markup))


def _is_login_wall(page: _Page, words: int) -> bool:
    # A header login box beside a document is chrome; a login form as the content is a wall.
    if words >= _SHORT_PAGE or not page.password_in_content:
        return False
    return bool(_LOGIN_TEXT.search(page.text))


def _is_cookie_wall(page: _Page, extracted: str | None) -> bool:
    if page.words >= 2 * _SHORT_PAGE or _consent_phrases(page.text) < 2:
        return False
    content = _words_upto(extracted, _COUNT_CAP) if extracted is not None else page.content_words
    if content == 0:
        return True  # nothing on the page but chrome and the consent request
    # The dialog is the page's content (not a banner beside a document, however short)
    # and there is little else: "mostly a consent dialog".
    return page.consent_in_content and content < _SHORT_PAGE


def _consent_phrases(text: str) -> int:
    return sum(1 for phrase in _CONSENT_PHRASES if phrase.search(text))
