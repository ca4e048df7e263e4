"""A byte-identical page is not extracted again: the text it gave last time is still current."""

from __future__ import annotations

from datetime import timedelta

import pytest

from platforms.models import Document
from snapshots import services
from snapshots.models import CheckOutcome, Snapshot, Version, VersionState
from snapshots.services import document_check
from tests.factories import DocumentFactory
from tests.pages import wrap_in_noisy_html

pytestmark = pytest.mark.django_db

TERMS = "# Terms\n\nYou keep the rights to what you upload.\n\nWe host your uploads.\n"
PAGE = wrap_in_noisy_html(TERMS, seed=3)


@pytest.fixture
def extractions(monkeypatch):
    """Counts the extractions the check service runs."""
    calls = []
    real = services.extract

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "extract", counting)
    return calls


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


def test_it_extracts_again_when_the_page_changes(httpserver, extractions):
    doc = DocumentFactory(url=serve(httpserver, PAGE))
    document_check(document_id=doc.pk)
    serve(httpserver, wrap_in_noisy_html(TERMS, seed=4))  # new noise, same text
    assert document_check(document_id=doc.pk).outcome == CheckOutcome.UNCHANGED
    assert len(extractions) == 2
    serve(httpserver, wrap_in_noisy_html(TERMS + "\nWe may train AI on it.\n", seed=4))
    assert document_check(document_id=doc.pk).outcome == CheckOutcome.CHANGED
    assert len(extractions) == 3


def test_it_extracts_again_while_a_version_is_held(httpserver, extractions):
    doc = DocumentFactory(url=serve(httpserver, PAGE))
    document_check(document_id=doc.pk)
    # The same bytes again, but a held version waits for this check to confirm or drop it.
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
    assert len(extractions) == 2
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

    looked = []
    real = fetching.is_challenge_page

    def counting(**kwargs):
        looked.append(1)
        return real(**kwargs)

    monkeypatch.setattr(fetching, "is_challenge_page", counting)
    doc = DocumentFactory(url=serve(httpserver, PAGE))
    document_check(document_id=doc.pk)
    document_check(document_id=doc.pk)
    assert len(looked) == 1
    serve(httpserver, wrap_in_noisy_html(TERMS, seed=9))  # other bytes: looked at again
    document_check(document_id=doc.pk)
    assert len(looked) == 2
