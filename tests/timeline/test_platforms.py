from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import DocumentFactory, PlatformFactory, StatementFactory

pytestmark = pytest.mark.django_db


def test_it_lists_platforms_with_their_documents_and_status(client):
    doc = DocumentFactory(title="Terms of Use", platform__name="SoundCloud", status="failing")
    response = client.get(reverse("timeline:platforms"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "SoundCloud" in body
    assert "Terms of Use" in body
    assert reverse("timeline:document", args=[doc.pk]) in body
    assert "Failing" in body


@pytest.mark.parametrize("platforms", [2, 20])
def test_it_uses_a_bounded_number_of_queries(client, django_assert_num_queries, platforms):
    for platform in PlatformFactory.create_batch(platforms):
        DocumentFactory.create_batch(3, platform=platform)
        StatementFactory(platform=platform)
    with django_assert_num_queries(3):
        response = client.get(reverse("timeline:platforms"))
    assert response.status_code == 200


def test_it_escapes_platform_text(client):
    PlatformFactory(name="<script>alert(1)</script>", description="<img src=x onerror=alert(1)>")
    body = client.get(reverse("timeline:platforms")).content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<img src=x" not in body


def test_it_sends_a_content_security_policy_without_unsafe_inline_scripts(client):
    response = client.get(reverse("timeline:home"))
    csp = response["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp


def test_it_serves_htmx_locally_with_the_csp_nonce(client):
    response = client.get(reverse("timeline:home"))
    body = response.content.decode()
    nonce = response["Content-Security-Policy"].split("'nonce-")[1].split("'")[0]
    assert f'nonce="{nonce}"' in body
    assert "/static/django_htmx/htmx" in body
    assert "://unpkg" not in body and "cdn" not in body.lower()


def test_it_shows_a_platform_page_with_statements(client):
    statement = StatementFactory(title="We will not train on your uploads")
    DocumentFactory(platform=statement.platform, title="Privacy Policy")
    response = client.get(statement.platform.get_absolute_url())
    body = response.content.decode()
    assert "We will not train on your uploads" in body
    assert "Privacy Policy" in body
    assert f'id="statement-{statement.pk}"' in body
    assert client.get("/platforms/no-such-platform/").status_code == 404
