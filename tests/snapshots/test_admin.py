from __future__ import annotations

import pytest
from django.urls import reverse

from snapshots.models import Change, Check, Version
from snapshots.services import document_check
from tests.factories import DocumentFactory
from tests.pages import wrap_in_noisy_html

pytestmark = pytest.mark.django_db

TEXT = "# Terms\n\n## Uploads\n\nWe host what you upload.\n\n## Contact\n\nWrite to us.\n"


def _serve(httpserver, html):
    httpserver.clear()
    httpserver.expect_request("/terms").respond_with_data(html, content_type="text/html")
    return httpserver.url_for("/terms")


def test_it_checks_documents_now_from_the_admin(
    admin_client, httpserver, django_capture_on_commit_callbacks
):
    doc = DocumentFactory(url=_serve(httpserver, wrap_in_noisy_html(TEXT, seed=1)))
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:platforms_document_changelist"),
            {"action": "check_now", "_selected_action": [doc.pk]},
        )
    assert response.status_code == 302
    assert Check.objects.get(document=doc).outcome == "first"


def test_it_previews_selectors_on_the_latest_stored_page_without_saving(admin_client, httpserver):
    doc = DocumentFactory(url=_serve(httpserver, wrap_in_noisy_html(TEXT, seed=1)))
    document_check(document_id=doc.pk)
    url = reverse("admin:platforms_document_preview", args=[doc.pk])
    body = admin_client.get(url, {"select": "main", "remove": "h2"}).content.decode()
    assert "We host what you upload." in body
    assert "## Uploads" not in body
    broken = admin_client.get(url, {"select": "#missing"}).content.decode()
    assert "#missing" in broken and "errornote" in broken
    doc.refresh_from_db()
    assert doc.select == [] and doc.remove == []
    assert (
        admin_client.get(
            reverse("admin:platforms_document_preview", args=[DocumentFactory().pk])
        ).status_code
        == 200
    )


def test_it_lets_an_admin_approve_or_reject_a_held_version(admin_client, httpserver):
    doc = DocumentFactory(url=_serve(httpserver, wrap_in_noisy_html(TEXT * 20, seed=1)))
    document_check(document_id=doc.pk)
    _serve(httpserver, wrap_in_noisy_html(TEXT, seed=2))
    assert document_check(document_id=doc.pk).outcome == "suspicious"
    held = Version.objects.get(state="held")
    admin_client.post(
        reverse("admin:snapshots_version_changelist"),
        {"action": "approve_held", "_selected_action": [held.pk]},
    )
    held.refresh_from_db()
    assert held.state == "published"
    assert Change.objects.get(new_version=held).published_at is not None


def test_it_shows_the_check_log_read_only(admin_client, httpserver):
    doc = DocumentFactory(url=_serve(httpserver, "boom"))
    httpserver.clear()
    httpserver.expect_request("/terms").respond_with_data("boom", status=500)
    document_check(document_id=doc.pk)
    response = admin_client.get(reverse("admin:snapshots_check_changelist"))
    assert "HTTP 500" in response.content.decode() or "500" in response.content.decode()
    check = Check.objects.get()
    assert (
        admin_client.post(reverse("admin:snapshots_check_change", args=[check.pk]), {}).status_code
        == 403
    )


def test_it_closes_the_unstable_incident_when_an_admin_clears_the_flag(
    admin_client, mailoutbox, settings, django_capture_on_commit_callbacks
):
    from django.utils import timezone

    from alerts.models import DocumentIncident
    from alerts.services import document_status_notify

    settings.ADMINS = [("Ops", "ops@clausewatch.example")]
    doc = DocumentFactory(status="ok", unstable_since=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        document_status_notify(document_id=doc.pk, old_status="ok", new_status="unstable")
        admin_client.post(
            reverse("admin:platforms_document_changelist"),
            {"action": "clear_unstable", "_selected_action": [doc.pk]},
        )
    doc.refresh_from_db()
    assert doc.unstable_since is None
    assert DocumentIncident.objects.get(document=doc).closed_at is not None
    assert len(mailoutbox) == 2
