"""Pages the text of which is known are not extracted again.

A byte-identical page is not even parsed: the text it gave last time is still current. A page
with other bytes (rotating tokens, nonces, timestamps) whose document part is the one the
current text was converted from is parsed and cleaned, but not converted again.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from platforms.models import Document
from snapshots import extract as extract_module
from snapshots import services
from snapshots.models import CheckOutcome, Snapshot, Version, VersionState
from snapshots.services import document_check
from tests.factories import DocumentFactory
from tests.pages import wrap_in_noisy_html

pytestmark = pytest.mark.django_db

TERMS = "# Terms\n\nYou keep the rights to what you upload.\n\nWe host your uploads.\n"
PAGE = wrap_in_noisy_html(TERMS, seed=3)


def count_calls(monkeypatch, owner, name: str) -> list[int]:
    """Replace owner.name by a wrapper that appends to the returned list on every call."""
    calls: list[int] = []
    real = getattr(owner, name)

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, counting)
    return calls


@pytest.fixture
def extractions(monkeypatch):
    """Counts the extractions the check service runs."""
    return count_calls(monkeypatch, services, "extract_page")


@pytest.fixture
def conversions(monkeypatch):
    """Counts the HTML-to-Markdown conversions extraction runs."""
    return count_calls(monkeypatch, extract_module.h2m, "convert")


def serve(httpserver, body):
    httpserver.clear()
    httpserver.expect_request("/terms").respond_with_data(
        body, content_type="text/html; charset=utf-8"
    )
    return httpserver.url_for("/terms")


def test_it_skips_extraction_for_the_page_it_extracted_last(httpserver, extractions):
    doc = DocumentFactory(url=serve(httpserver, PAGE))
    assert document_check(document_id=doc.pk).outcome == CheckOutcome.FIRST
    assert document_check(document_id=doc.pk).outcome == CheckOutcome.UNCHANGED
    assert document_check(document_id=doc.pk).outcome == CheckOutcome.UNCHANGED
    assert len(extractions) == 1
    doc.refresh_from_db()
    assert doc.latest_snapshot_id == Version.objects.get().snapshot_id
    assert Snapshot.objects.count() == 1


def test_it_extracts_again_when_the_selectors_change(httpserver, extractions):
    doc = DocumentFactory(url=serve(httpserver, PAGE))
    document_check(document_id=doc.pk)
    Document.objects.filter(pk=doc.pk).update(remove=["h1"])
    check = document_check(document_id=doc.pk)
    assert len(extractions) == 2
    assert check.outcome == CheckOutcome.CHANGED
    assert "# Terms" not in Version.objects.get(pk=check.version_id).text


def test_it_extracts_again_when_the_page_changes(httpserver, extractions, conversions):
    doc = DocumentFactory(url=serve(httpserver, PAGE))
    document_check(document_id=doc.pk)
    serve(httpserver, wrap_in_noisy_html(TERMS, seed=4))  # new noise, same text
    assert document_check(document_id=doc.pk).outcome == CheckOutcome.UNCHANGED
    assert (len(extractions), len(conversions)) == (2, 1)  # parsed and cleaned, not converted
    serve(httpserver, wrap_in_noisy_html(TERMS + "\nWe may train AI on it.\n", seed=4))
    assert document_check(document_id=doc.pk).outcome == CheckOutcome.CHANGED
    assert (len(extractions), len(conversions)) == (3, 2)


def test_new_noise_around_the_same_text_is_kept_as_the_latest_body(httpserver, conversions):
    doc = DocumentFactory(url=serve(httpserver, PAGE))
    document_check(document_id=doc.pk)
    for seed in (4, 5, 6):
        serve(httpserver, wrap_in_noisy_html(TERMS, seed=seed))
        check = document_check(document_id=doc.pk)
        assert check.outcome == CheckOutcome.UNCHANGED
        assert check.version_id is None
    assert len(conversions) == 1
    doc.refresh_from_db()
    latest = Snapshot.objects.get(pk=doc.latest_snapshot_id)
    assert bytes_of(latest) == wrap_in_noisy_html(TERMS, seed=6).encode()
    # The first version's body and the latest one: routine bodies in between are gone.
    assert Snapshot.objects.count() == 2
    assert Version.objects.count() == 1
    # The very same bytes again are not even parsed.
    assert document_check(document_id=doc.pk).outcome == CheckOutcome.UNCHANGED
    assert len(conversions) == 1


def bytes_of(snapshot: Snapshot) -> bytes:
    from snapshots.storage import snapshot_body

    return snapshot_body(snapshot)


def test_it_converts_again_when_the_ignore_patterns_change(httpserver, conversions):
    doc = DocumentFactory(url=serve(httpserver, PAGE))
    document_check(document_id=doc.pk)
    Document.objects.filter(pk=doc.pk).update(ignore_patterns=["^We host"])
    serve(httpserver, wrap_in_noisy_html(TERMS, seed=4))
    check = document_check(document_id=doc.pk)
    assert len(conversions) == 2
    assert check.outcome == CheckOutcome.CHANGED
    assert "We host" not in Version.objects.get(pk=check.version_id).text


# Edits inside the document part that the canonical form of the converter's input must keep:
# each is a real change of the text, and a page with it must not pass for the known one.
EDITS = {
    "a word": ("rights to what", "rights to all that"),
    "a link target": ('href="https://example.com/uploads"', 'href="https://example.com/ai"'),
    "a link title": ('title="Uploads"', 'title="Uploads and AI"'),
    "a list start": ('<ol start="3">', '<ol start="4">'),
    "a table span": ('<td colspan="2">', '<td colspan="3">'),
    "a paragraph break": ("hosts uploads. It also", "hosts uploads.<br>It also"),
    "a line break in text": ("keeps copies\nof them", "keeps copies of them"),
    "preformatted lines": ("<pre>line one\nline two</pre>", "<pre>line one\n\nline two</pre>"),
    "a heading level": ("<h1>Terms</h1>", "<h2>Terms</h2>"),
    "a code language": ('<pre class="language-text">', '<pre class="language-json">'),
    "a quote source": ('<blockquote cite="https://example.com/a">', "<blockquote>"),
    "emphasis": ("hosts uploads", "hosts <em>uploads</em>"),
}
RICH = """<!doctype html><html><head><meta name="csrf" content="{token}"></head><body>
<main data-rendered="{token}"><article class="doc-{token}">
<h1>Terms</h1>
<p>You keep the rights to what you upload. <a href="https://example.com/uploads" title="Uploads"
data-track="{token}">Read more</a></p>
<p>Our service hosts uploads. It also keeps copies
of them for a year.</p>
<ol start="3"><li>Third</li><li>Fourth</li></ol>
<table><tr><td colspan="2">Both</td></tr><tr><td>One</td><td>Two</td></tr></table>
<pre>line one
line two</pre><p>Run <code>x  y</code> to export.</p>
<pre class="language-text">settings</pre>
<blockquote cite="https://example.com/a"><p>Quoted.</p></blockquote>
<ul><li><input type="checkbox"> Opt out of training</li></ul>
</article></main><footer>Rendered {token}</footer></body></html>"""


def text_of(page: str) -> str:
    return extract_module.extract(
        page, content_type="text/html", rules=extract_module.ExtractRules()
    )


@pytest.mark.parametrize("edit", EDITS.values(), ids=EDITS.keys())
def test_a_change_inside_the_document_part_is_never_taken_for_noise(httpserver, edit):
    old, new = edit
    page = RICH.replace("{token}", "a1")
    assert old in page
    edited = RICH.replace("{token}", "c3").replace(old, new)
    assert text_of(edited) != text_of(page)  # the edit is a change of the text
    doc = DocumentFactory(url=serve(httpserver, page))
    document_check(document_id=doc.pk)
    # The same noise rotated (known, unchanged) ...
    serve(httpserver, RICH.replace("{token}", "b2"))
    assert document_check(document_id=doc.pk).outcome == CheckOutcome.UNCHANGED
    # ... and with the edit: a new version, never "unchanged".
    serve(httpserver, edited)
    check = document_check(document_id=doc.pk)
    assert check.outcome == CheckOutcome.CHANGED
    assert Version.objects.get(pk=check.version_id).text != Version.objects.first().text


@pytest.mark.parametrize("noise", [None, 4], ids=["same bytes", "new noise"])
def test_it_extracts_again_while_a_version_is_held(httpserver, extractions, conversions, noise):
    doc = DocumentFactory(url=serve(httpserver, PAGE))
    document_check(document_id=doc.pk)
    if noise is not None:
        serve(httpserver, wrap_in_noisy_html(TERMS, seed=noise))
    # The same text again, but a held version waits for this check to confirm or drop it.
    current = Version.objects.get()
    Version.objects.create(
        document=doc,
        text="short",
        sha256="0" * 64,
        word_count=1,
        state=VersionState.HELD,
        held_reason="shrank",
        previous=current,
        observed_at=current.observed_at + timedelta(minutes=1),
    )
    check = document_check(document_id=doc.pk)
    assert (len(extractions), len(conversions)) == (2, 2)
    assert not Version.objects.filter(state=VersionState.HELD).exists()
    assert check.outcome == CheckOutcome.UNCHANGED


def test_it_extracts_again_when_the_latest_body_is_gone(httpserver, extractions):
    doc = DocumentFactory(url=serve(httpserver, PAGE))
    document_check(document_id=doc.pk)
    Version.objects.update(snapshot=None)
    Snapshot.objects.all().delete()  # e.g. a retention prune, or a restore without bodies
    assert document_check(document_id=doc.pk).outcome == CheckOutcome.UNCHANGED
    assert len(extractions) == 2
    doc.refresh_from_db()
    assert doc.latest_snapshot_id is not None


def test_it_skips_the_bot_challenge_check_for_a_page_it_accepted_before(httpserver, monkeypatch):
    from snapshots import fetching

    looked = count_calls(monkeypatch, fetching, "is_challenge_page")
    doc = DocumentFactory(url=serve(httpserver, PAGE))
    document_check(document_id=doc.pk)
    document_check(document_id=doc.pk)
    assert len(looked) == 1
    serve(httpserver, wrap_in_noisy_html(TERMS, seed=9))  # other bytes, the same document
    document_check(document_id=doc.pk)
    assert len(looked) == 1
    serve(httpserver, wrap_in_noisy_html(TERMS + "\nA new clause.\n", seed=9))  # looked at
    assert document_check(document_id=doc.pk).outcome == CheckOutcome.CHANGED
    assert len(looked) == 2


def test_browser_documents_skip_conversion_too(monkeypatch, conversions):
    from snapshots import fetching
    from snapshots.fetch import FetchResult

    pages = iter(wrap_in_noisy_html(TERMS, seed=seed) for seed in (1, 2, 3))

    def rendered(url, *, wait_for=None):
        body = next(pages).encode()
        return FetchResult(
            url=url,
            final_url=url,
            status=200,
            headers={"content-type": "text/html; charset=utf-8"},
            body=body,
            content_type="text/html",
            charset="utf-8",
            etag=None,
            last_modified=None,
            not_modified=False,
            redirected_offsite=False,
            redirects=[],
            elapsed_ms=1,
            attempts=1,
        )

    monkeypatch.setattr(fetching, "browser_fetch", rendered)
    doc = DocumentFactory(url="https://example.com/terms", fetcher="browser")
    outcomes = [document_check(document_id=doc.pk).outcome for _ in range(3)]
    assert outcomes == [CheckOutcome.FIRST, CheckOutcome.UNCHANGED, CheckOutcome.UNCHANGED]
    assert len(conversions) == 1
