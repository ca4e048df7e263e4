"""Realistic test pages built from corpus Markdown, for replaying the corpus through the pipeline.

`wrap_in_noisy_html(text, seed=n)` renders the Markdown with a small deterministic converter
and wraps it in the kind of chrome a live platform page has: header, nav, cookie banner,
footer, inline scripts with a rotating CSRF token, nonce and timestamp, tracking iframes,
hashed class names, invisible characters. Everything the seed changes is something
extraction must throw away, so two seeds give the same extracted text, and only a
change in the wrapped text changes it.
"""

from __future__ import annotations

import html
import random
import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache

# --- a small Markdown -> HTML converter (the subset the corpus uses) -------------------------

_ATX = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_HR = re.compile(r"^ {0,3}(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,})$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_ITEM = re.compile(r"^( {0,3})([*+-]|\d{1,9}[.)])( +|$)(.*)$")
_TABLE_SEP = re.compile(r"^ {0,3}\|?[ \t]*:?-+:?[ \t]*(\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$")

_ESCAPABLE = re.compile(r"\\([!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])")
_LINK = re.compile(
    r"(!?)\[((?:[^\[\]]|\[[^\[\]]*\])*)\]"
    r"\(\s*<?([^\s()<>]*(?:\([^\s()<>]*\)[^\s()<>]*)*)>?(?:\s+\"([^\"]*)\")?\s*\)"
)
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_EM_STAR = re.compile(r"(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])")
_EM_UNDERSCORE = re.compile(r"(?<![\w\\])_(?=\S)(.+?)(?<=\S)_(?!\w)")
_BR = re.compile(r"&lt;br\s*/?&gt;", re.IGNORECASE)
_TOKEN = re.compile("\ue000(\\d+)\ue001")


def markdown_to_html(text: str) -> str:
    """Render Markdown (headings, paragraphs, nested lists, links, emphasis, tables)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ").split("\n")
    return "\n".join(_blocks(lines))


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _starts_block(line: str) -> bool:
    return bool(_ATX.match(line) or _HR.match(line) or _ITEM.match(line))


def _blocks(lines: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
        elif m := _ATX.match(line):
            level = len(m.group(1))
            out.append(f"<h{level}>{_inline(m.group(2))}</h{level}>")
            i += 1
        elif _HR.match(line):
            out.append("<hr>")
            i += 1
        elif _ITEM.match(line):
            i = _list(lines, i, out)
        elif (
            line.lstrip().startswith("|") and i + 1 < len(lines) and _TABLE_SEP.match(lines[i + 1])
        ):
            i = _table(lines, i, out)
        else:
            i = _paragraph(lines, i, out)
    return out


def _paragraph(lines: list[str], i: int, out: list[str]) -> int:
    para = [lines[i]]
    i += 1
    while i < len(lines) and lines[i].strip():
        if m := _SETEXT.match(lines[i]):
            level = 1 if m.group(1).startswith("=") else 2
            out.append(f"<h{level}>{_inline_lines(para)}</h{level}>")
            return i + 1
        if _starts_block(lines[i]):
            break
        para.append(lines[i])
        i += 1
    out.append(f"<p>{_inline_lines(para)}</p>")
    return i


def _inline_lines(lines: list[str]) -> str:
    # Two trailing spaces are a hard line break; a plain newline is just whitespace.
    parts = []
    for n, line in enumerate(lines):
        last = n == len(lines) - 1
        part = _inline(line.strip())
        parts.append(part if last or not line.endswith("  ") else part + "<br>")
    return "\n".join(parts)


def _list(lines: list[str], i: int, out: list[str]) -> int:
    first = _ITEM.match(lines[i])
    assert first is not None
    ordered = first.group(2)[-1] in ".)"
    base = len(first.group(1))
    items: list[list[str]] = []
    while i < len(lines):
        m = _ITEM.match(lines[i])
        if not m or len(m.group(1)) != base or (m.group(2)[-1] in ".)") != ordered:
            break
        spaces = len(m.group(3)) if 0 < len(m.group(3)) <= 4 else 1
        content_indent = base + len(m.group(2)) + spaces
        body = [m.group(4)]
        i += 1
        while i < len(lines):
            line = lines[i]
            if not line.strip():
                nxt = next((x for x in lines[i + 1 :] if x.strip()), "")
                if _indent(nxt) < content_indent:
                    break
                body.append("")
            elif _indent(line) >= content_indent:
                body.append(line[content_indent:])
            elif body[-1].strip() and not _starts_block(line) and not _SETEXT.match(line):
                body.append(line.strip())  # lazy continuation of the item's paragraph
            else:
                break
            i += 1
        items.append(body)
        while i < len(lines) and not lines[i].strip():
            nxt = next((x for x in lines[i:] if x.strip()), "")
            m2 = _ITEM.match(nxt)
            if not m2 or len(m2.group(1)) != base:
                break
            i += 1
    tag = "ol" if ordered else "ul"
    start = int(first.group(2)[:-1]) if ordered else 1
    attrs = f' start="{start}"' if ordered and start != 1 else ""
    out.append(f"<{tag}{attrs}>")
    for body in items:
        inner = _blocks(body)
        if len(inner) == 1 and inner[0].startswith("<p>"):
            inner = [inner[0][3:-4]]  # a tight item: no paragraph wrapper
        out.append("<li>" + "\n".join(inner) + "</li>")
    out.append(f"</{tag}>")
    return i


def _table(lines: list[str], i: int, out: list[str]) -> int:
    rows = [_cells(lines[i])]
    i += 2
    while i < len(lines) and lines[i].lstrip().startswith("|"):
        rows.append(_cells(lines[i]))
        i += 1
    head = "".join(f"<th>{_inline(c)}</th>" for c in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in rows[1:]
    )
    out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    return i


def _cells(line: str) -> list[str]:
    line = line.strip().removeprefix("|").removesuffix("|")
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)]


def _inline(text: str) -> str:
    tokens: list[str] = []

    def stash(fragment: str) -> str:
        tokens.append(fragment)
        return f"\ue000{len(tokens) - 1}\ue001"

    text = _ESCAPABLE.sub(lambda m: stash(html.escape(m.group(1))), text)

    def link(m: re.Match[str]) -> str:
        bang, label, url, title = m.groups()
        href = html.escape(url)
        title_attr = f' title="{html.escape(title)}"' if title else ""
        if bang:
            return stash(f'<img src="{href}" alt="{html.escape(label)}"{title_attr}>')
        return stash(f'<a href="{href}"{title_attr}>{_inline(label)}</a>')

    text = _LINK.sub(link, text)
    text = html.escape(text, quote=False)
    text = _BR.sub("<br>", text)
    text = _STRONG.sub(r"<strong>\2</strong>", text)
    text = _EM_STAR.sub(r"<em>\1</em>", text)
    text = _EM_UNDERSCORE.sub(r"<em>\1</em>", text)
    while _TOKEN.search(text):  # stashed fragments may hold stashed fragments
        text = _TOKEN.sub(lambda m: tokens[int(m.group(1))], text)
    return text


# --- the noise ----------------------------------------------------------------------------------

_NAV = ("Home", "Products", "Help Center", "Safety", "Business", "Developers", "Careers", "Blog")
_TRENDING = (
    "How we fight spam",
    "Our approach to elections",
    "Creator fund update",
    "New accessibility features",
    "Transparency report",
)
_BANNER_IDS = ("onetrust-banner-sdk", "CybotCookiebotDialog", "cookie-banner", "gdpr-consent-bar")
_INVISIBLE = ("\u200b", "\u00ad", "\u2060", "\ufeff")


def wrap_in_noisy_html(markdown_text: str, *, seed: int) -> str:
    """A full page whose only stable text is `markdown_text`, rendered into <main>."""
    rng = random.Random(seed)
    token = "".join(rng.choices("abcdef0123456789", k=40))
    nonce = "".join(
        rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", k=22)
    )
    stamp = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(10**8))
    build = f"{rng.getrandbits(32):08x}"
    css_hash = f"css-{rng.getrandbits(24):06x}"
    nl = rng.choice(("\n", "\n  ", "\r\n", " "))
    content = _sprinkle(_rendered(markdown_text), rng).replace("\n", nl)
    nav = "".join(
        f'<li><a href="/{name.lower().replace(" ", "-")}?ref={build}">{name}</a></li>'
        for name in rng.sample(_NAV, k=rng.randint(3, len(_NAV)))
    )
    trending = "".join(f"<li><a href='/blog/{n}'>{t}</a></li>" for n, t in enumerate(_TRENDING))
    banner_id = rng.choice(_BANNER_IDS)
    return f"""<!DOCTYPE html>
<html lang="en" data-build="{build}"><head>
<meta charset="utf-8"><meta name="csrf-token" content="{token}">
<title>Legal | Example {build}</title>
<style nonce="{nonce}">.{css_hash}{{color:#{build[:6]}}} body{{margin:0}}</style>
<script nonce="{nonce}">window.__STATE__={{"csrf":"{token}","ts":"{stamp.isoformat()}"}};</script>
<link rel="stylesheet" href="/static/app.{build}.css">
</head><body class="{css_hash} page">
<!-- rendered {stamp.isoformat()} by web-{build} -->
<a class="skip" href="#main">Skip to content</a>
<header class="site-header"><a href="/" class="logo"><svg viewBox="0 0 10 10"><title>Logo</title>
<path d="M0 0h10v10H0z"/></svg>Example</a>
<form action="/search"><input type="hidden" name="csrf" value="{token}">
<input type="search" placeholder="Search"><button type="submit">Search</button></form>
<a href="/login?next=/legal&amp;t={token[:8]}">Log in</a> <a href="/signup">Sign up</a></header>
<nav aria-label="Primary"><ul>{nav}</ul></nav>
<div id="{banner_id}" class="cookie-banner" role="dialog" aria-label="Cookie consent">
<p>We use cookies to improve your experience (session {token[:12]}).
<a href="/cookies">Cookie settings</a></p>
<button>Accept all</button><button>Reject all</button></div>
<div class="layout {css_hash}-layout">
<main id="main" data-rendered="{stamp.timestamp():.0f}"><article class="legal {css_hash}-doc">
<noscript><img src="/pixel.gif?t={build}" alt=""></noscript>
{content}
<button class="copy-link" data-nonce="{nonce}">Copy link</button>
</article></main>
<aside class="sidebar"><h3>Trending</h3><ul>{trending}</ul>
<p>Updated {stamp:%H:%M:%S}</p></aside>
</div>
<footer class="site-footer"><p>© {stamp.year} Example Inc. · build {build}</p>
<nav aria-label="Footer"><a href="/terms">Terms</a> <a href="/privacy">Privacy</a>
<a href="javascript:void(0)" onclick="openPrefs()">Cookie preferences</a></nav>
<p>Rendered at {stamp:%Y-%m-%d %H:%M:%S} UTC</p></footer>
<iframe src="https://tracker.example/frame?t={token}" hidden></iframe>
<template id="tpl-{build}"><div class="toast">Saved {stamp:%H:%M}</div></template>
<script nonce="{nonce}" src="/static/app.{build}.js" defer></script>
<script nonce="{nonce}">document.cookie="seen={build}";</script>
</body></html>
"""


@lru_cache(maxsize=256)
def _rendered(markdown_text: str) -> tuple[str, ...]:
    """The rendered Markdown split into text and tags; rendering is the slow part, so reuse it."""
    return tuple(re.split(r"(<[^>]*>)", markdown_to_html(markdown_text)))


def _sprinkle(parts: tuple[str, ...], rng: random.Random) -> str:
    """Hide invisible characters after a space in some text runs: noise to normalize away."""
    out = list(parts)
    texts = range(0, len(out), 2)  # re.split puts the captured tags at odd indexes
    for n in rng.sample(texts, k=min(len(texts), 300)):
        if " " in out[n]:
            out[n] = out[n].replace(" ", " " + rng.choice(_INVISIBLE), 1)
    return "".join(out)
