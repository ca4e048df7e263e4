from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest

from tests.factories import StatementFactory
from tests.timeline.builders import history, texts

pytestmark = pytest.mark.django_db


def test_it_shows_documents_with_change_counts_and_a_chart(client):
    changes = history(texts(4, ai_every=2), step=timedelta(days=40), platform__slug="sc")
    StatementFactory(platform=changes[0].document.platform, title="We clarified our terms")
    body = client.get("/platforms/sc/").content.decode()
    assert "We clarified our terms" in body
    ai = sum(c.ai_relevant for c in changes)
    assert 0 < ai < 4
    assert f'<td>4 <span class="muted">({ai} AI)</span></td>' in body
    svg = body[body.index("<svg") : body.index("</svg>") + len("</svg>")]
    root = ET.fromstring(svg)  # noqa: S314 (our own page)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.get("role") == "img"
    assert root.find(f"{ns}title") is not None or root.find("title") is not None
    assert "aria-labelledby" in root.attrib
    assert "The numbers as a table" in body
    assert '<th scope="row">' in body


def test_it_says_when_a_platform_has_no_changes(client):
    statement = StatementFactory()
    body = client.get(statement.platform.get_absolute_url()).content.decode()
    assert "No published changes yet." in body
    assert "<svg" not in body


def test_it_links_the_platform_feed_and_timeline(client):
    change = history(platform__slug="sc")[0]
    body = client.get("/platforms/sc/").content.decode()
    assert "/feeds/platforms/sc.atom" in body
    assert "/?platform=sc" in body
    assert f"/documents/{change.document_id}/" in body
