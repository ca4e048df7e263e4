"""The pipeline tells the alerts app about published changes and documents needing attention."""

from __future__ import annotations

import pytest

from snapshots.services import document_check
from tests.factories import DocumentFactory, SubscriberFactory
from tests.pages import wrap_in_noisy_html

pytestmark = pytest.mark.django_db

TERMS = "# Terms\n\nWe host what you upload.\n"
TERMS_AI = TERMS + "\nWe may use what you upload to train artificial intelligence models.\n"


def serve(httpserver, body, status=200):
    httpserver.clear()
    httpserver.expect_request("/terms").respond_with_data(
        body, status=status, content_type="text/html"
    )
    return httpserver.url_for("/terms")


def test_it_alerts_subscribers_when_a_change_is_published(
    httpserver, mailoutbox, django_capture_on_commit_callbacks
):
    doc = DocumentFactory(
        url=serve(httpserver, wrap_in_noisy_html(TERMS, seed=1)), platform__name="SoundCloud"
    )
    subscriber = SubscriberFactory(platforms=[doc.platform])
    SubscriberFactory(email="other@example.org", platforms=[DocumentFactory().platform])
    with django_capture_on_commit_callbacks(execute=True):
        document_check(document_id=doc.pk)
    assert mailoutbox == []  # a first version is a baseline, not a change
    serve(httpserver, wrap_in_noisy_html(TERMS_AI, seed=2))
    with django_capture_on_commit_callbacks(execute=True):
        assert document_check(document_id=doc.pk).outcome == "changed"
    assert [m.to for m in mailoutbox] == [[subscriber.email]]
    assert "SoundCloud" in mailoutbox[0].subject


def test_it_never_alerts_for_a_rolled_back_or_unpublished_change(
    httpserver, mailoutbox, django_capture_on_commit_callbacks
):
    doc = DocumentFactory(url=serve(httpserver, wrap_in_noisy_html(TERMS * 30, seed=1)))
    SubscriberFactory()
    with django_capture_on_commit_callbacks(execute=True):
        document_check(document_id=doc.pk)
        serve(httpserver, wrap_in_noisy_html(TERMS, seed=2))
        assert document_check(document_id=doc.pk).outcome == "suspicious"
    assert mailoutbox == []


def test_it_emails_the_admins_once_per_incident_and_on_recovery(
    httpserver, mailoutbox, settings, django_capture_on_commit_callbacks
):
    settings.ADMINS = [("Ops", "ops@clausewatch.example")]
    settings.TRACK_FAILING_AFTER = 2
    doc = DocumentFactory(url=serve(httpserver, "down", status=503))
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(4):
            document_check(document_id=doc.pk)
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["ops@clausewatch.example"]
    serve(httpserver, wrap_in_noisy_html(TERMS, seed=1))
    with django_capture_on_commit_callbacks(execute=True):
        document_check(document_id=doc.pk)
        document_check(document_id=doc.pk)
    assert len(mailoutbox) == 2
