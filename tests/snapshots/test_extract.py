from __future__ import annotations

import io
import itertools
import re

import pytest
from pypdf import PdfReader, PdfWriter

from snapshots.extract import (
    ExtractError,
    ExtractRules,
    extract,
    normalize_text,
    validate_pattern,
    validate_selector,
)
from tests.corpus import documents
from tests.pages import wrap_in_noisy_html

NO_RULES = ExtractRules()


def html(body: str, *, rules: ExtractRules = NO_RULES, base_url: str = "") -> str:
    return extract(body, content_type="text/html; charset=utf-8", rules=rules, base_url=base_url)


def error_of(body: bytes | str, content_type: str, rules: ExtractRules = NO_RULES) -> ExtractError:
    with pytest.raises(ExtractError) as info:
        extract(body, content_type=content_type, rules=rules)
    return info.value


PAGE = """<!doctype html><html><head><title>Terms</title><script>var t = 1;</script></head>
<body>
<a href="#main">Skip to content</a>
<header><a href="/">Logo</a> <a href="/login">Log in</a></header>
<nav><ul><li><a href="/">Home</a></li><li><a href="/about">About</a></li></ul></nav>
<div id="onetrust-banner-sdk" role="dialog"><p>We use cookies.</p><button>Accept</button></div>
<main>
  <article>
    <header><h1>Terms of Service</h1><p>Last updated: May 1, 2024</p></header>
    <p>Welcome to <b>Example</b>. These terms govern your use.</p>
    <section id="cookies"><h2>Cookies</h2><p>We use cookies as described in our policy.</p></section>
    <nav aria-label="On this page"><a href="#a">Jump</a></nav>
    <button>Print</button><input type="text" value="search me">
    <footer><p>Questions? Write to legal@example.com.</p></footer>
  </article>
</main>
<aside><h3>Related</h3><p>Trending stories</p></aside>
<footer><p>© 2024 Example · Rendered 12:00:03</p></footer>
<script>track();</script>
</body></html>"""


def test_it_keeps_the_document_and_drops_the_page_chrome() -> None:
    text = html(PAGE)

    assert text == (
        "# Terms of Service\n\nLast updated: May 1, 2024\n\n"
        "Welcome to **Example**. These terms govern your use.\n\n"
        "## Cookies\n\nWe use cookies as described in our policy.\n\n"
        "Questions? Write to legal@example.com.\n"
    )


def test_it_drops_code_media_forms_and_comments_inside_the_document() -> None:
    page = """<main><!-- build 8f3a --><p>Terms</p><noscript>Enable JS</noscript>
    <template><p>Saved</p></template><svg><text>Logo</text></svg><iframe src="/x">frame</iframe>
    <video><track label="Captions">Video</video><select><option>English</option></select>
    <textarea>draft</textarea><form><label>Your email</label><input value="x"></form>
    <style>p { color: red }</style></main>"""

    assert html(page) == "Terms\n\nYour email\n"


def test_it_uses_the_body_minus_page_chrome_when_there_is_no_main() -> None:
    page = PAGE.replace("<main>", "<div>").replace("</main>", "</div>")
    page = page.replace("<article>", "<div class='doc'>").replace("</article>", "</div>")

    text = html(page)

    assert "# Terms of Service" in text
    assert "We use cookies as described" in text
    for chrome in ("Skip to content", "Logo", "Home", "Accept", "Trending", "Rendered", "var t"):
        assert chrome not in text


def test_it_uses_a_single_article_when_there_is_no_main() -> None:
    text = html("<body><div>Promo banner</div><article><p>The terms.</p></article></body>")

    assert text == "The terms.\n"


def test_it_falls_back_to_the_body_when_main_is_an_empty_shell() -> None:
    page = "<body><nav>Menu</nav><main id='app'></main><div class='content'>The terms.</div></body>"

    assert html(page) == "The terms.\n"


def test_it_does_not_mistake_a_long_cookie_section_for_a_banner() -> None:
    clause = "We set cookies to remember your settings. " * 100
    page = f"<main><div class='cookie-consent-section'><h2>Cookies</h2><p>{clause}</p></div></main>"

    assert "remember your settings" in html(page)


def test_it_converts_structure_to_markdown() -> None:
    page = """<main>
    <h2>Heading  two</h2><h3>Three</h3>
    <p>Plain <em>em</em> <strong>strong</strong> <i>i</i> <b>b</b> 5 * 3 and snake_case_name.</p>
    <ul><li>One<ul><li>Nested <a href="/rel">link</a></li></ul></li><li>Two</li></ul>
    <ol><li>First</li><li>Second</li></ol>
    <blockquote><p>Quoted</p></blockquote>
    <table><tr><th>Data</th><th>Use</th></tr><tr><td>Email</td><td>Login</td></tr></table>
    <p>Line<br>break</p>
    </main>"""

    text = html(page, base_url="https://example.com/legal/terms")

    assert text == (
        "## Heading two\n\n### Three\n\n"
        "Plain *em* **strong** *i* **b** 5 * 3 and snake_case_name.\n\n"
        "- One\n  - Nested [link](https://example.com/rel)\n- Two\n\n"
        "1. First\n2. Second\n\n"
        "> Quoted\n\n"
        "| Data | Use |\n| --- | --- |\n| Email | Login |\n\n"
        "Line\nbreak\n"
    )


def test_it_resolves_relative_links_but_keeps_in_page_anchors() -> None:
    page = """<main><a href="/a">A</a> <a href="b?x=1">B</a> <a href="#sec-2">C</a>
    <a href="mailto:legal@example.com">D</a> <a href="https://other.example/">E</a></main>"""

    text = html(page, base_url="https://example.com/legal/terms?utm_source=feed")

    assert text == (
        "[A](https://example.com/a) [B](https://example.com/legal/b?x=1) [C](#sec-2) "
        "[D](mailto:legal@example.com) [E](https://other.example/)\n"
    )


def test_it_resolves_links_against_the_base_element() -> None:
    page = '<head><base href="/policies/"></head><main><a href="privacy">Privacy</a></main>'

    text = html(page, base_url="https://example.com/legal/terms")

    assert text == "[Privacy](https://example.com/policies/privacy)\n"


@pytest.mark.parametrize(
    "href",
    [
        "javascript:void(0)",
        " JavaScript:alert(1)",
        "java\tscript:x()",
        "vbscript:x",
        "data:text/html,x",
    ],
)
def test_it_keeps_the_text_of_script_links_but_not_the_link(href: str) -> None:
    text = html(f'<main><p>Open <a href="{href}">cookie settings</a> now.</p></main>')

    assert text == "Open cookie settings now.\n"


def test_it_extracts_the_union_of_selections_in_document_order() -> None:
    page = """<body><div id="a"><p>First</p><div class="x"><p>Inner</p></div></div>
    <nav class="x"><p>Menu kept because it was selected</p></nav><p>Outside</p></body>"""

    text = html(page, rules=ExtractRules(select=(".x", "#a")))

    assert text == "First\n\nInner\n\nMenu kept because it was selected\n"


def test_it_removes_matches_inside_the_selection() -> None:
    page = "<article><p>Keep</p><div class='share'>Share this</div><p class='ad'>Ad</p></article>"

    text = html(page, rules=ExtractRules(select=("article",), remove=(".share", "p.ad")))

    assert text == "Keep\n"


def test_it_drops_a_selected_element_that_a_remove_rule_matches() -> None:
    page = "<section class='t'>Terms</section><section class='t promo'>Promo</section>"

    text = html(page, rules=ExtractRules(select=(".t",), remove=(".promo",)))

    assert text == "Terms\n"


def test_it_reports_selectors_that_match_nothing() -> None:
    error = error_of(PAGE, "text/html", ExtractRules(select=("#terms", ".legal")))

    assert error.kind == "selector_broken"
    assert "'#terms'" in error.message and "'.legal'" in error.message


@pytest.mark.parametrize("selector", ["div[", "p::", "a >> b", "", "  ", "p:nope(", "#"])
def test_it_rejects_invalid_selectors_in_validation_and_extraction_alike(selector: str) -> None:
    with pytest.raises(ValueError):
        validate_selector(selector)
    for rules in (ExtractRules(select=(selector,)), ExtractRules(remove=(selector,))):
        assert error_of(PAGE, "text/html", rules).kind == "selector_broken"


@pytest.mark.parametrize(
    "selector", ["aside", "#terms > p:nth-child(2n+1)", "[data-x*=a i]", "div:not(.ad)", "a, b"]
)
def test_it_accepts_valid_selectors_in_validation_and_extraction_alike(selector: str) -> None:
    validate_selector(selector)
    html(PAGE, rules=ExtractRules(remove=(selector,)))


@pytest.mark.parametrize(
    "body", ["", "   ", "<html><body></body></html>", "<main><script>x()</script>\n\u200b</main>"]
)
def test_it_refuses_to_return_empty_text(body: str) -> None:
    assert error_of(body, "text/html").kind == "empty"


def test_it_drops_lines_matching_ignore_patterns() -> None:
    page = "<main><p>Terms</p><p>Page generated at 12:00:01</p><p>Visitors: 1234</p></main>"
    rules = ExtractRules(ignore_patterns=(r"^Page generated at", r"Visitors: \d+"))

    assert html(page, rules=rules) == "Terms\n"


def test_it_is_empty_when_ignore_patterns_drop_every_line() -> None:
    rules = ExtractRules(ignore_patterns=("Terms",))

    assert error_of("<p>Terms</p>", "text/html", rules).kind == "empty"


@pytest.mark.parametrize("pattern", ["(", "[a-", "", " ", ".*", "x*"])
def test_it_rejects_unusable_ignore_patterns(pattern: str) -> None:
    with pytest.raises(ValueError):
        validate_pattern(pattern)
    with pytest.raises(ValueError):
        extract(
            "<p>x</p>", content_type="text/html", rules=ExtractRules(ignore_patterns=(pattern,))
        )


def test_it_normalizes_characters() -> None:
    raw = (
        "Cafe\u0301\u00a0bar\u2009baz \u201cquoted\u201d it\u2019s\u00ad ok\u200b.\x00\x07\n"
        "zero\u200dwidth joiner\ufeff\u200e kept\u2028next\r\nline\rend\x0c"
    )

    text = normalize_text(raw)

    assert text == (
        "Caf\u00e9 bar baz \u201cquoted\u201d it\u2019s ok.\n"
        "zero\u200dwidth joiner kept\nnext\nline\nend\n"
    )


def test_it_normalizes_whitespace_and_lines() -> None:
    raw = "\n\n  Title  \n\n\n\nbody\t text   \n\t- item\n\n\n"

    assert normalize_text(raw) == "  Title\n\nbody     text\n    - item\n"


def test_it_gives_byte_identical_output_for_the_same_input() -> None:
    page = wrap_in_noisy_html("# Terms\n\nSome *text* with [a link](/x).\n", seed=7)

    outputs = {
        extract(page, content_type="text/html", rules=NO_RULES, base_url="https://e.com/"),
        extract(page.encode(), content_type="text/html", rules=NO_RULES, base_url="https://e.com/"),
        extract(
            page.encode("utf-16"),
            content_type="text/html",
            rules=NO_RULES,
            base_url="https://e.com/",
        ),
    }

    assert outputs == {"# Terms\n\nSome *text* with [a link](https://e.com/x).\n"}


def test_it_normalizes_plain_text_without_rewriting_it_as_markdown() -> None:
    raw = b"Terms\r\n=====\r\n* item one  \r\n\r\n\r\n+ item two\x00\r\n"

    text = extract(raw, content_type="text/plain", rules=NO_RULES)

    assert text == "Terms\n=====\n* item one\n\n+ item two\n"


def test_it_gives_markdown_the_house_heading_and_bullet_style() -> None:
    raw = (
        "Terms\n=====\n\nIntro\n\nPart two\n--------\n\n* one\n    + nested\n\n* * *\n\n"
        "1. Item\n   -------\n\n- already\n"
    )

    text = extract(raw, content_type="text/markdown; charset=utf-8", rules=NO_RULES)

    assert text == (
        "# Terms\n\nIntro\n\n## Part two\n\n- one\n    - nested\n\n---\n\n1. ## Item\n\n- already\n"
    )


@pytest.mark.parametrize(
    ("body", "content_type", "encoding"),
    [
        ("Caf\u00e9 \u2019".encode("cp1252"), "text/html; charset=windows-1252", None),
        ("Caf\u00e9 \u2019".encode("cp1252"), "text/html; charset=ISO-8859-1", None),
        (
            b'<meta charset="windows-1252"><p>' + "Caf\u00e9 \u2019".encode("cp1252"),
            "text/html",
            None,
        ),
        ("\ufeffCaf\u00e9 \u2019".encode(), "text/html; charset=latin-1", None),
        ("Caf\u00e9 \u2019".encode("cp1252"), "text/html; charset=utf-8", "cp1252"),
        ("Caf\u00e9 \u2019".encode("cp1252"), "text/plain; charset=bogus-charset", "windows-1252"),
    ],
)
def test_it_decodes_bytes_by_bom_declared_charset_or_meta(
    body: bytes, content_type: str, encoding: str | None
) -> None:
    text = extract(body, content_type=content_type, rules=NO_RULES, encoding=encoding)

    assert text.endswith("Caf\u00e9 \u2019\n")


@pytest.mark.parametrize(
    ("sentence", "codec"),
    [
        ("Les conditions d\u2019utilisation s\u2019appliquent \u00e0 tous.", "cp1252"),
        (
            "\u0423\u0441\u043b\u043e\u0432\u0438\u044f \u0441\u0435\u0440\u0432\u0438\u0441\u0430.",
            "cp1251",
        ),
        ("\u5229\u7528\u898f\u7d04\u306b\u540c\u610f\u3057\u307e\u3059\u3002", "shift_jis"),
    ],
)
def test_it_guesses_the_encoding_of_undeclared_non_utf8_bytes(sentence: str, codec: str) -> None:
    body = " ".join([sentence] * 20).encode(codec)

    text = extract(body, content_type="text/plain", rules=NO_RULES)

    assert text.startswith(sentence)


def make_pdf(pages: list[str]) -> bytes:
    """A minimal, valid PDF with one text line per input line (Helvetica)."""
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    kids = []
    for page in pages:
        shown = " ".join(f"({line}) Tj T*" for line in page.split("\n"))
        stream = f"BT /F1 12 Tf 14 TL 72 720 Td {shown} ET"
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
        objects.append(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {len(objects)} 0 R >>"
        )
        kids.append(f"{len(objects)} 0 R")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>"
    out = io.BytesIO(b"%PDF-1.4\n")
    out.seek(0, io.SEEK_END)
    offsets = []
    for number, obj in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n{obj}\nendobj\n".encode())
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    out.write("".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode())
    out.write(
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out.getvalue()


def encrypted(pdf: bytes, user_password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


PDF = make_pdf(["Terms of Service\nLast updated: May 1, 2024", "2. Your content\nYou keep it."])
PDF_TEXT = "Terms of Service\nLast updated: May 1, 2024\n\n2. Your content\nYou keep it.\n"


def test_it_extracts_pdf_text_page_by_page() -> None:
    assert extract(PDF, content_type="application/pdf", rules=NO_RULES) == PDF_TEXT


@pytest.mark.parametrize("content_type", ["application/octet-stream", "text/html", ""])
def test_it_reads_a_pdf_served_under_a_loose_content_type(content_type: str) -> None:
    assert extract(PDF, content_type=content_type, rules=NO_RULES) == PDF_TEXT


def test_it_reads_a_pdf_encrypted_without_a_user_password() -> None:
    assert extract(encrypted(PDF, ""), content_type="application/pdf", rules=NO_RULES) == PDF_TEXT


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (encrypted(PDF, "secret"), "encrypted"),
        (PDF[:200], "cannot be read"),
        (b"junk", "cannot be read"),
    ],
)
def test_it_reports_unreadable_pdfs_as_unsupported(body: bytes, reason: str) -> None:
    error = error_of(body, "application/pdf")

    assert error.kind == "unsupported"
    assert reason in error.message


@pytest.mark.parametrize(
    "content_type", ["image/png", "application/zip", "video/mp4", "application/json"]
)
def test_it_refuses_non_text_content_types(content_type: str) -> None:
    error = error_of(b"\x89PNG\r\n\x1a\n\x00\x00", content_type)

    assert error.kind == "unsupported"
    assert error.message == f"content type {content_type} is not a text document"


def test_it_reports_binary_bytes_served_as_html_as_malformed() -> None:
    body = bytes(range(256)) * 40

    assert error_of(body, "text/html").kind == "malformed"


def test_it_extracts_malformed_html() -> None:
    page = (
        "<p>Open <b>bold <i>both</b> italic</i><div>unclosed <table><td>cell</div></p></span>tail"
    )

    text = html(page)

    assert "Open **bold *both*** *italic*" in text
    assert "cell" in text and "tail" in text


def test_it_survives_very_deep_nesting_and_keeps_its_text() -> None:
    depth = 10_000
    deep = "<p>deep <b>one</b></p><p>deep two</p>"
    page = f"<main><p>before</p>{'<div>' * depth}{deep}{'</div>' * depth}<p>after</p></main>"

    assert html(page) == "before\n\ndeep one\n\ndeep two\n\nafter\n"


def test_it_survives_deeply_nested_lists() -> None:
    page = "<ul>" + "<li>x<ul>" * 3000 + "<li>leaf</li>" + "</ul></li>" * 3000 + "</ul>"

    assert "leaf" in html(page)


def test_it_survives_a_five_megabyte_line_and_nul_bytes() -> None:
    line = "word\x00 " * 1_000_000
    rules = ExtractRules(ignore_patterns=(r"^Updated",))

    as_html = extract(f"<p>{line}</p>".encode(), content_type="text/html", rules=rules)
    as_text = extract(line.encode(), content_type="text/plain", rules=rules)

    assert as_html == as_text == "word " * 999_999 + "word\n"


# --- the corpus, replayed through noisy pages ---------------------------------------------------


def _comparable(text: str) -> str:
    # What the normalization is meant to ignore: whitespace layout and invisible characters.
    return " ".join(re.sub("[\u200b\ufeff\u00ad\u2060]", "", text).split())


CORPUS = sorted(documents().items())


@pytest.fixture(scope="module")
def corpus_extractions() -> dict[tuple[str, str], list[tuple[str, str, str]]]:
    """(service, type) -> [(corpus text, extraction with seed 1, with seed 2)]."""
    out = {}
    for key, versions in CORPUS:
        out[key] = [
            (
                text := version.text(),
                html(wrap_in_noisy_html(text, seed=1), base_url="https://example.com/p"),
                html(wrap_in_noisy_html(text, seed=2), base_url="https://example.com/p"),
            )
            for version in versions
        ]
    return out


@pytest.mark.parametrize("seed", [3, 4, 5, 6, 7])
def test_it_extracts_the_same_text_under_every_whitespace_style_of_the_noise(
    corpus_extractions: dict[tuple[str, str], list[tuple[str, str, str]]], seed: int
) -> None:
    # The noise varies the whitespace between tags; a space between block elements once
    # changed the list indentation of LinkedIn's policy in the output.
    for key, versions in CORPUS:
        for version, (_text, first, _second) in zip(versions, corpus_extractions[key], strict=True):
            page = wrap_in_noisy_html(version.text(), seed=seed)
            assert html(page, base_url="https://example.com/p") == first, (key, version.path.name)


@pytest.mark.parametrize("gap", ["", "\n", "\n  ", " ", "\r\n"])
def test_it_ignores_whitespace_between_block_elements(gap: str) -> None:
    page = (
        f"<main><ol>{gap}<li>{gap}<h2>Intro</h2>{gap}<p>We <b>are</b> <i>here</i>.</p>{gap}"
        f"<h3>Services</h3>{gap}<p>It applies.</p>{gap}</li>{gap}</ol></main>"
    )
    assert html(page) == (
        "1. ## Intro\n\n   We **are** *here*.\n\n   ### Services\n\n   It applies.\n"
    )


@pytest.mark.parametrize("key", [key for key, _ in CORPUS], ids=lambda k: f"{k[0]}-{k[1]}")
def test_it_extracts_the_same_text_whatever_the_page_noise(
    corpus_extractions: dict[tuple[str, str], list[tuple[str, str, str]]], key: tuple[str, str]
) -> None:
    for _text, first, second in corpus_extractions[key]:
        assert first == second
        assert "cookie preferences" not in first.lower()
        assert "Trending" not in first and "Skip to content" not in first


@pytest.mark.parametrize("key", [key for key, _ in CORPUS], ids=lambda k: f"{k[0]}-{k[1]}")
def test_it_tells_corpus_versions_apart_exactly_when_their_text_differs(
    corpus_extractions: dict[tuple[str, str], list[tuple[str, str, str]]], key: tuple[str, str]
) -> None:
    versions = [(_comparable(text), out) for text, out, _ in corpus_extractions[key]]
    assert len({text for text, _ in versions}) > 1
    for (text_a, out_a), (text_b, out_b) in itertools.combinations(versions, 2):
        if text_a == text_b:
            # Identical texts, and re-recordings that only re-flowed whitespace (the corpus's
            # "technical" versions), must not look like a change.
            assert out_a == out_b
        else:
            assert out_a != out_b
