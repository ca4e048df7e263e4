"""Stored XSS: hostile tracked text, names, URLs and statements come out inert on every page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.security.audit import JS_URL, PAYLOADS, audit_html, is_own_script
from tests.security.hostile import Hostile, hostile_platform, stored_page_document

pytestmark = pytest.mark.django_db


@pytest.fixture
def hostile() -> Hostile:
    return hostile_platform()


def public_pages(h: Hostile) -> list[str]:
    change = h.change.get_absolute_url()
    doc = h.document.pk
    old, new = h.old_version.pk, h.new_version.pk
    return [
        "/",
        "/?q=alert",
        "/?ai=1",
        f"/?platforms={h.platform.slug}",
        change,
        change + "?view=side",
        change + "?scope=ai",
        change + "?view=side&scope=ai",
        f"/documents/{doc}/",
        f"/documents/{h.other_document.pk}/",
        f"/documents/{doc}/versions/{new}/",
        f"/documents/{doc}/compare/?from={old}&to={new}",
        f"/documents/{doc}/compare/?from={new}&to={old}&view=side",
        "/platforms/",
        f"/platforms/{h.platform.slug}/",
        "/ai/",
        "/data/",
    ]


def test_it_keeps_hostile_text_inert_on_every_public_page(client, hostile):
    for url in public_pages(hostile):
        response = client.get(url)
        assert response.status_code == 200, url
        audit = audit_html(response.content.decode())
        audit.assert_inert(where=url)


def test_it_shows_the_payloads_as_text_where_they_belong(client, hostile):
    # Not vacuous: the payloads do reach the pages, as readable text.
    pages = {
        hostile.change.get_absolute_url(): [PAYLOADS[1], PAYLOADS[0]],
        f"/platforms/{hostile.platform.slug}/": [f"Statement {PAYLOADS[0]}", PAYLOADS[3]],
        "/": [f"Statement {PAYLOADS[0]}"],
        "/ai/": [PAYLOADS[0]],
    }
    for url, expected in pages.items():
        text = audit_html(client.get(url).content.decode()).text
        for payload in expected:
            assert payload in text, (url, payload)


def test_it_keeps_hostile_text_inert_in_htmx_partials(client, hostile):
    for url in ["/?q=alert", "/?ai=1", hostile.change.get_absolute_url() + "?view=side"]:
        response = client.get(url, headers={"HX-Request": "true"})
        assert response.status_code == 200, url
        audit_html(response.content.decode()).assert_inert(where=url)


def test_it_never_links_a_javascript_url(client, hostile):
    # The statement's source, the platform's homepage, the document and capture URLs are
    # all javascript: here; each stays visible as text or is left out, never an href.
    for url in [
        "/",
        hostile.change.get_absolute_url(),
        f"/platforms/{hostile.platform.slug}/",
        f"/documents/{hostile.document.pk}/",
        f"/documents/{hostile.document.pk}/versions/{hostile.new_version.pk}/",
    ]:
        audit = audit_html(client.get(url).content.decode())
        assert audit.unsafe_urls == [], url
    text = audit_html(client.get(hostile.change.get_absolute_url()).content.decode()).text
    assert JS_URL in text  # the document's URL is still shown to the reader


def test_it_keeps_hostile_text_inert_in_the_admin(admin_client, hostile, httpserver):
    stored = stored_page_document(httpserver)
    preview = reverse("admin:platforms_document_preview", args=[stored.pk])
    pages = [
        preview,
        preview + "?select=main&remove=%3C%2Ftextarea%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        reverse("admin:platforms_platform_change", args=[hostile.platform.pk]),
        reverse("admin:platforms_platform_changelist"),
        reverse("admin:platforms_document_change", args=[hostile.document.pk]),
        reverse("admin:platforms_document_changelist"),
        reverse("admin:platforms_statement_change", args=[hostile.statement.pk]),
        reverse("admin:platforms_statement_changelist"),
        reverse("admin:snapshots_change_change", args=[hostile.change.pk]),
        reverse("admin:snapshots_change_changelist"),
        reverse("admin:snapshots_version_change", args=[hostile.new_version.pk]),
        reverse("admin:platforms_document_preview", args=[hostile.document.pk])
        + "?select="
        + "%3C%2Ftextarea%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    ]
    for url in pages:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        audit = audit_html(response.content.decode())
        # The admin's own scripts are files of ours; none may come from the data.
        assert all(is_own_script(s) for s in audit.scripts), url
        assert audit.handlers == [], url
        assert audit.frames == [], url
