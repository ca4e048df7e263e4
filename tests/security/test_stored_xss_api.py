"""Stored XSS through the JSON API: payloads are JSON strings, served as application/json."""

from __future__ import annotations

import json

import pytest

from tests.security.audit import JS_URL, PAYLOADS
from tests.security.hostile import hostile_platform

pytestmark = pytest.mark.django_db


def test_it_serves_hostile_text_as_json_strings_never_as_html(client):
    h = hostile_platform()
    urls = [
        "/api/v1/",
        "/api/v1/platforms",
        "/api/v1/documents",
        f"/api/v1/documents/{h.document.pk}/versions",
        "/api/v1/changes",
        "/api/v1/changes?q=alert",
        f"/api/v1/changes/{h.change.pk}",
        "/api/v1/statements",
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        # A browser never renders application/json as a page, and nosniff stops it guessing.
        assert response["Content-Type"] == "application/json", url
        assert response["X-Content-Type-Options"] == "nosniff", url
        json.loads(response.content)  # well-formed: every quote in the data was escaped

    platform = json.loads(client.get("/api/v1/platforms").content)["results"][0]
    assert platform["name"] == h.platform.name  # round-trips exactly, quotes and all
    statement = json.loads(client.get("/api/v1/statements").content)["results"][0]
    assert statement["title"] == h.statement.title
    assert statement["source_url"] == JS_URL  # data, shown as it is: clients decide
    detail = json.loads(client.get(f"/api/v1/changes/{h.change.pk}").content)
    assert PAYLOADS[1] in detail["diff"]["unified"]


def test_it_answers_errors_as_json_even_with_markup_in_the_query(client):
    response = client.get("/api/v1/changes", {"since": PAYLOADS[0]})
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert isinstance(json.loads(response.content)["errors"], dict)
