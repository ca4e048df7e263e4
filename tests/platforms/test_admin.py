from __future__ import annotations

import pytest
from django.urls import reverse

from platforms.models import Document
from tests.factories import DocumentFactory, PlatformFactory

pytestmark = pytest.mark.django_db


def _post_document(client, **overrides):
    platform = PlatformFactory()
    data = {
        "platform": platform.pk,
        "kind": "terms_of_service",
        "title": "Terms",
        "url": "https://example.com/terms",
        "active": "on",
        "fetcher": "http",
        "check_interval": "06:00:00",
        "select": "main\narticle .terms",
        "remove": "",
        "ignore_patterns": r"^Last visited .*$",
    }
    data.update(overrides)
    return client.post(reverse("admin:platforms_document_add"), data)


def test_it_saves_a_valid_document_with_one_selector_per_line(admin_client):
    response = _post_document(admin_client)
    assert response.status_code == 302
    doc = Document.objects.get()
    assert doc.select == ["main", "article .terms"]
    assert doc.ignore_patterns == [r"^Last visited .*$"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("url", "javascript:alert(1)", "must start with http:// or https://"),
        ("url", "file:///etc/passwd", "must start with http:// or https://"),
        (
            "url",
            "https://user:secret@example.com/terms",
            "must not contain a user name or password",
        ),
        ("select", "div[[[", "does not parse"),
        ("remove", "main >> p", "does not parse"),
        ("ignore_patterns", "([unclosed", "is not a valid regular expression"),
    ],
)
def test_it_rejects_bad_document_input_with_a_clear_message(admin_client, field, value, message):
    response = _post_document(admin_client, **{field: value})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert Document.objects.count() == 0


def test_it_shows_tracking_state_read_only(admin_client):
    doc = DocumentFactory(last_error="connection refused", consecutive_failures=3)
    response = admin_client.get(reverse("admin:platforms_document_change", args=[doc.pk]))
    body = response.content.decode()
    assert "connection refused" in body
    assert 'name="consecutive_failures"' not in body
    assert 'name="last_error"' not in body


def test_it_filters_failing_documents(admin_client):
    DocumentFactory(title="Healthy doc")
    DocumentFactory(title="Broken doc", consecutive_failures=2)
    response = admin_client.get(reverse("admin:platforms_document_changelist") + "?failing=yes")
    body = response.content.decode()
    assert "Broken doc" in body
    assert "Healthy doc" not in body


def test_it_activates_and_deactivates_in_bulk(admin_client):
    docs = DocumentFactory.create_batch(3, active=True)
    url = reverse("admin:platforms_document_changelist")
    admin_client.post(url, {"action": "deactivate", "_selected_action": [d.pk for d in docs[:2]]})
    assert list(Document.objects.order_by("pk").values_list("active", flat=True)) == [
        False,
        False,
        True,
    ]
    admin_client.post(url, {"action": "activate", "_selected_action": [docs[0].pk]})
    assert Document.objects.get(pk=docs[0].pk).active


def test_it_lists_platforms_with_inlines_and_statements_with_autocomplete(admin_client):
    platform = PlatformFactory()
    DocumentFactory(platform=platform)
    assert (
        admin_client.get(reverse("admin:platforms_platform_change", args=[platform.pk])).status_code
        == 200
    )
    assert admin_client.get(reverse("admin:platforms_statement_add")).status_code == 200
    assert (
        admin_client.get(reverse("admin:platforms_platform_changelist") + "?q=Platform").status_code
        == 200
    )


def test_it_keeps_the_admin_for_staff_only(client):
    response = client.get(reverse("admin:platforms_document_changelist"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
