"""Replay real document histories (Open Terms Archive corpus) through the whole pipeline.

Each recorded version is served from a loopback server, wrapped in a realistic noisy page
(navigation, footer, rotating CSRF tokens and nonces, timestamps, a cookie banner), and
checked twice while it is live — at its recorded time and again a few hours later — as the
scheduler would. The published changes must be exactly the consecutive distinct texts,
except for flip-flops, and noise alone must publish nothing.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from snapshots.extract import ExtractRules, extract
from snapshots.models import Change, ChangeKind, Version
from snapshots.services import document_check
from tests.corpus import documents
from tests.factories import DocumentFactory
from tests.pages import wrap_in_noisy_html

pytestmark = pytest.mark.django_db

DOCS = documents()


class Page:
    """The page the loopback server serves right now."""

    def __init__(self) -> None:
        self.html = ""

    def __call__(self, request):
        from werkzeug.wrappers import Response

        return Response(self.html, content_type="text/html; charset=utf-8")


def replay(httpserver, key):
    page = Page()
    httpserver.expect_request("/policy").respond_with_handler(page)
    doc = DocumentFactory(url=httpserver.url_for("/policy"))
    versions = DOCS[key]
    for i, version in enumerate(versions):
        text = version.text()
        following = versions[i + 1].committed_at if i + 1 < len(versions) else None
        second = version.committed_at + (
            min(timedelta(hours=6), (following - version.committed_at) / 2)
            if following
            else timedelta(hours=6)
        )
        for seed, when in ((2 * i, version.committed_at), (2 * i + 1, second)):
            page.html = wrap_in_noisy_html(text, seed=seed)
            document_check(document_id=doc.pk, now=when)
    doc.refresh_from_db()
    return doc


def extracted(version) -> str:
    html = wrap_in_noisy_html(version.text(), seed=0)
    return extract(html.encode(), content_type="text/html; charset=utf-8", rules=ExtractRules())


def published(doc):
    return list(
        Change.objects.filter(document=doc, published_at__isnull=False)
        .select_related("old_version", "new_version")
        .order_by("observed_at", "id")
    )


@pytest.mark.parametrize("key", sorted(DOCS), ids=lambda k: k[0])
def test_it_publishes_exactly_the_real_changes(httpserver, key):
    doc = replay(httpserver, key)
    changes = published(doc)
    texts = {extracted(v) for v in DOCS[key]}
    # Every published change is a real transition between two texts the document really had,
    # and the published changes chain: each starts where the previous one ended.
    for change in changes:
        assert change.old_version.text != change.new_version.text
        assert change.old_version.text in texts
        assert change.new_version.text in texts
    for before, after in itertools.pairwise(changes):
        assert before.new_version.text == after.old_version.text
    # Walking the recorded texts and dropping quick A → B → A excursions gives the same list.
    expected = expected_transitions(DOCS[key])
    assert [(c.old_version.text, c.new_version.text) for c in changes] == expected
    assert not Version.objects.filter(document=doc, state="held").exists()


def expected_transitions(versions):
    """The reference, walked over the recorded texts and their times.

    A new text is a change; a return to the text the last change replaced, within the
    flip-flop window, withdraws that change; the withdrawn text coming back within the
    window restores it.
    """
    window = timedelta(days=7)
    out: list[tuple[str, str]] = []
    current = current_seen = None
    withdrawn = None  # ((old, new), when)
    for version in versions:
        text, seen = extracted(version), version.committed_at
        if current is None or text == current:
            current, current_seen = text, current_seen if text == current else seen
            continue
        if seen - current_seen <= window and out and out[-1] == (text, current):
            withdrawn = (out.pop(), seen)
        elif withdrawn and seen - withdrawn[1] <= window and withdrawn[0] == (current, text):
            out.append(withdrawn[0])
            withdrawn = None
        else:
            out.append((current, text))
        current, current_seen = text, seen
    return out


def test_it_does_not_publish_the_twitter_flip_flop_of_august_2023(httpserver):
    key = ("Twitter", "Privacy Policy")
    doc = replay(httpserver, key)
    by_date = {v.committed_at.date().isoformat(): extracted(v) for v in DOCS[key]}
    changes = published(doc)
    new_texts = [c.new_version.text for c in changes]
    # 08-23: new text; 08-24: the old text back; 08-30: another new text.
    assert by_date["2023-08-23"] not in new_texts
    assert any(
        c.old_version.text == by_date["2023-08-24"] and c.new_version.text == by_date["2023-08-30"]
        for c in changes
    )
    retracted = Change.objects.filter(document=doc, kind=ChangeKind.FLIP_FLOP)
    assert retracted.filter(
        new_version__text=by_date["2023-08-23"], retracted_at__isnull=False
    ).exists()
    assert doc.unstable_since is not None


def test_it_publishes_nothing_when_only_the_noise_changes(httpserver):
    page = Page()
    httpserver.expect_request("/policy").respond_with_handler(page)
    doc = DocumentFactory(url=httpserver.url_for("/policy"))
    text = DOCS[("Google", "Privacy Policy")][-1].text()
    for seed in range(8):
        page.html = wrap_in_noisy_html(text, seed=seed)
        document_check(document_id=doc.pk)
    assert Version.objects.filter(document=doc).count() == 1
    assert not Change.objects.filter(document=doc).exists()
