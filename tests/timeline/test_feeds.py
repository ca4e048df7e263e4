from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date

import pytest

from snapshots.models import Change
from tests.factories import StatementFactory
from tests.timeline.builders import AI_CLAUSE, BASE, hidden, history, texts

pytestmark = pytest.mark.django_db
ATOM = "{http://www.w3.org/2005/Atom}"


def parse(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    return ET.fromstring(response.content)  # noqa: S314 (our own response)


def check_atom(feed, *, site="https://cw.example"):
    """The elements RFC 4287 requires, with absolute links on our site."""
    assert feed.tag == f"{ATOM}feed"
    assert feed.findtext(f"{ATOM}id").startswith(site)
    assert feed.findtext(f"{ATOM}title")
    assert feed.findtext(f"{ATOM}updated")
    assert any(link.get("rel") == "self" for link in feed.findall(f"{ATOM}link"))
    entries = feed.findall(f"{ATOM}entry")
    ids = [e.findtext(f"{ATOM}id") for e in entries]
    assert len(ids) == len(set(ids))
    for entry in entries:
        assert entry.findtext(f"{ATOM}id").startswith(site)
        assert entry.findtext(f"{ATOM}title")
        assert entry.findtext(f"{ATOM}updated")
        link = entry.find(f"{ATOM}link")
        assert link is not None and link.get("href").startswith(site)
    return entries


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://cw.example"


def test_it_publishes_all_published_changes(client):
    changes = history(texts(3, ai_every=2))
    hidden(changes[0])
    entries = check_atom(parse(client, "/feeds/changes.atom"))
    links = [e.find(f"{ATOM}link").get("href") for e in entries]
    assert links == [
        f"https://cw.example/changes/{changes[2].pk}/",
        f"https://cw.example/changes/{changes[1].pk}/",
    ]


def test_it_publishes_ai_relevant_changes(client):
    changes = history(texts(2, ai_every=2))
    entries = check_atom(parse(client, "/feeds/ai.atom"))
    ai = [c for c in changes if Change.objects.get(pk=c.pk).ai_relevant]
    assert len(entries) == len(ai) >= 1
    assert "AI-relevant" in entries[0].findtext(f"{ATOM}summary")


def test_it_publishes_a_platform_feed_with_statements(client):
    change = history([BASE, BASE + AI_CLAUSE], platform__slug="sc", platform__name="SoundCloud")[0]
    statement = StatementFactory(platform=change.document.platform, date=date(2020, 1, 1))
    history(platform__slug="other")
    feed = parse(client, "/feeds/platforms/sc.atom")
    assert "SoundCloud" in feed.findtext(f"{ATOM}title")
    entries = check_atom(feed)
    ids = [e.findtext(f"{ATOM}id") for e in entries]
    assert ids == [
        f"https://cw.example/changes/{change.pk}/",
        f"https://cw.example/platforms/sc/#statement-{statement.pk}",
    ]
    assert client.get("/feeds/platforms/nope.atom").status_code == 404


def test_it_is_valid_with_no_entries(client):
    check_atom(parse(client, "/feeds/changes.atom"))
