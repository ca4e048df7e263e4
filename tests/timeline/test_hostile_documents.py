"""A tracked page is third-party input: whatever it contains comes out as text everywhere."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from snapshots.models import Version
from tests.factories import StatementFactory
from tests.timeline.builders import history

pytestmark = pytest.mark.django_db

HEAD = (
    "# Terms <script>alert('h1')</script>\n\n"
    "## Licence <!-- hidden --> <img src=x onerror=alert(2)>\n\n"
    "You keep your rights.\n\n"
)
BEFORE = HEAD
AFTER = HEAD + (
    "Click [here](javascript:alert(3)) or "
    '<a href="javascript:alert(4)">here</a>.\n\n'
    "We may use your content to train AI models. <script>alert(5)</script>\n"
)
RAW = ("<script>alert", "<img src=x", "<!-- hidden", 'href="javascript:', '<a href="javascript')


@pytest.fixture
def change():
    change = history([BEFORE, AFTER], platform__slug="evil", platform__name="Evil")[0]
    assert "<img" in change.summary or "<script>" in change.summary  # section names are quoted
    StatementFactory(
        platform=change.document.platform,
        title="<script>alert('statement')</script>",
        summary="<b>bold</b> claim",
    ).changes.add(change)
    return change


def assert_escaped(body: str) -> None:
    for raw in RAW:
        assert raw not in body, raw


def test_it_escapes_tracked_text_on_every_page(client, change):
    doc = change.document_id
    pages = [
        "/",
        "/?q=alert",
        "/?ai=1",
        change.get_absolute_url(),
        change.get_absolute_url() + "?view=side",
        change.get_absolute_url() + "?scope=ai",
        f"/documents/{doc}/",
        f"/documents/{doc}/versions/{change.new_version_id}/",
        f"/documents/{doc}/compare/?from={change.old_version_id}&to={change.new_version_id}",
        f"/documents/{doc}/compare/?from={change.new_version_id}&to={change.old_version_id}&view=side",
        "/ai/",
        "/platforms/evil/",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        assert_escaped(body)
    body = client.get(change.get_absolute_url()).content.decode()
    assert "&lt;script&gt;alert(5)&lt;/script&gt;" in body


def test_it_escapes_tracked_text_in_htmx_partials(client, change):
    for url in ["/?q=alert", change.get_absolute_url() + "?view=side"]:
        body = client.get(url, headers={"HX-Request": "true"}).content.decode()
        assert_escaped(body)


def test_it_escapes_tracked_text_in_feeds(client, change):
    for url in ["/feeds/changes.atom", "/feeds/ai.atom", "/feeds/platforms/evil.atom"]:
        feed = ET.fromstring(client.get(url).content)  # noqa: S314 (our own response)
        for summary in feed.iter("{http://www.w3.org/2005/Atom}summary"):
            # type="html": the reader parses this text as HTML, so it must hold no live markup.
            assert summary.get("type") == "html"
            assert_escaped(summary.text or "")
            assert "<script" not in (summary.text or "") and "<b>" not in (summary.text or "")


def test_it_returns_tracked_text_as_json_data(client, change):
    response = client.get(f"/api/v1/changes/{change.pk}")
    assert response["Content-Type"] == "application/json"
    data = json.loads(response.content)
    assert "<script>alert(5)</script>" in data["diff"]["unified"]


def test_it_exports_tracked_text_as_csv_data(client, change):
    text = b"".join(client.get("/changes.csv").streaming_content).decode()
    assert "<script>alert('statement')</script>" in text  # data, not markup: CSV is not HTML


def test_it_serves_the_hostile_version_as_text(client, change):
    version = Version.objects.get(pk=change.new_version_id)
    body = client.get(f"/documents/{version.document_id}/versions/{version.pk}/").content.decode()
    assert "&lt;script&gt;alert(5)&lt;/script&gt;" in body
    assert "javascript:alert(3)" in body  # shown as text, never as a link
    assert 'href="javascript' not in body
