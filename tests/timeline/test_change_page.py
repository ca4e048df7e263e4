from __future__ import annotations

import zlib
from datetime import date

import pytest

from snapshots.models import Change, Snapshot, Version
from tests.factories import StatementFactory
from tests.timeline.builders import BASE, hidden, history, texts

pytestmark = pytest.mark.django_db

_MIDDLE = "".join(f"Paragraph {n} about billing.\n\n" for n in range(5))
AI_TEXTS = [
    f"# Terms\n\n## Accounts\n\nKeep your password safe.\n\n{_MIDDLE}## Licence\n\nYou keep your rights.\n",
    f"# Terms\n\n## Accounts\n\nKeep your password secret.\n\n{_MIDDLE}## Licence\n\nYou keep your rights."
    "\n\nWe may use your content to train artificial intelligence models.\n",
]


def test_it_shows_the_header_with_effective_and_detected_dates(client):
    change = history(platform__name="SoundCloud", title="Terms of Use")[0]
    Version.objects.filter(pk=change.new_version_id).update(stated_effective=date(2024, 11, 15))
    Change.objects.filter(pk=change.pk).update(headline="Uploads may train AI")
    body = client.get(change.get_absolute_url()).content.decode()
    detected = change.observed_at.strftime("%-d %b %Y")
    assert 'Effective <time datetime="2024-11-15">15 Nov 2024</time>, detected' in body
    assert detected in body
    assert "SoundCloud" in body and "Terms of Use" in body
    assert "Uploads may train AI" in body
    assert "training AI models on user content" in body


def test_it_renders_the_diff_inline_and_side_by_side(client):
    change = history(AI_TEXTS)[0]
    inline = client.get(change.get_absolute_url()).content.decode()
    assert 'class="diff diff-inline"' in inline
    side = client.get(change.get_absolute_url(), {"view": "side"}).content.decode()
    assert 'class="diff diff-sbs"' in side
    assert 'aria-current="true">Side by side' in side


def test_it_shows_only_ai_hunks_when_asked(client):
    change = history(AI_TEXTS)[0]
    everything = client.get(change.get_absolute_url()).content.decode()
    assert "secret" in everything
    ai_only = client.get(change.get_absolute_url(), {"scope": "ai"}).content.decode()
    assert "train artificial intelligence" in ai_only
    assert "secret" not in ai_only
    assert "1 other changed passage not shown" in ai_only


def test_it_says_so_when_no_hunk_touches_ai(client):
    change = history(texts(1))[0]
    body = client.get(change.get_absolute_url(), {"scope": "ai"}).content.decode()
    assert "No passage of this change touches an AI clause." in body


def test_it_renders_the_diff_partial_for_htmx(client):
    change = history(AI_TEXTS)[0]
    response = client.get(
        change.get_absolute_url(), {"view": "side"}, headers={"HX-Request": "true"}
    )
    body = response.content.decode()
    assert "<html" not in body
    assert 'class="diff diff-sbs"' in body
    assert "HX-Request" in response["Vary"]


def test_it_ignores_unknown_view_values(client):
    change = history(AI_TEXTS)[0]
    response = client.get(change.get_absolute_url(), {"view": "<x>", "scope": "'"})
    assert response.status_code == 200
    assert 'class="diff diff-inline"' in response.content.decode()


def test_it_links_statements_and_neighbouring_changes(client):
    changes = history(texts(3))
    statement = StatementFactory(
        platform=changes[1].document.platform, title="We listened to creators"
    )
    statement.changes.add(changes[1])
    body = client.get(changes[1].get_absolute_url()).content.decode()
    assert "We listened to creators" in body
    assert f'rel="prev" href="{changes[0].get_absolute_url()}"' in body
    assert f'rel="next" href="{changes[2].get_absolute_url()}"' in body
    timeline = client.get("/").content.decode()
    assert f'href="{changes[1].get_absolute_url()}">the change of' in timeline


def test_it_skips_hidden_changes_between_neighbours(client):
    changes = history(texts(3))
    hidden(changes[1])
    body = client.get(changes[2].get_absolute_url()).content.decode()
    assert f'rel="prev" href="{changes[0].get_absolute_url()}"' in body


def test_it_has_a_citation_with_permalink_and_access_date(client, settings):
    settings.SITE_URL = "https://clausewatch.example"
    change = history(platform__name="SoundCloud")[0]
    body = client.get(change.get_absolute_url()).content.decode()
    permalink = f"https://clausewatch.example/changes/{change.pk}/"
    assert "Cite this" in body
    assert permalink in body
    assert "accessed" in body
    assert f'<link rel="canonical" href="{permalink}">' in body


@pytest.mark.parametrize("kind", ["technical", "flip_flop"])
def test_it_is_404_for_changes_that_are_not_public(client, kind):
    change = hidden(history(texts(1))[0], kind=kind)
    assert client.get(change.get_absolute_url()).status_code == 404


def test_it_is_404_for_unknown_changes(client):
    assert client.get("/changes/999999/").status_code == 404


def test_it_serves_the_stored_snapshot_as_sandboxed_plain_text(client):
    change = history([BASE, BASE + "\nMore.\n"])[0]
    raw = b"<html><script>alert(1)</script><a href='javascript:x'>x</a></html>"
    snapshot = Snapshot.objects.create(
        sha256="a" * 64, body=zlib.compress(raw), size=len(raw), content_type="text/html"
    )
    Version.objects.filter(pk=change.new_version_id).update(snapshot=snapshot)
    page = client.get(change.get_absolute_url()).content.decode()
    url = f"/documents/{change.document_id}/versions/{change.new_version_id}/snapshot.txt"
    assert url in page
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert "sandbox" in response["Content-Security-Policy"]
    assert "default-src 'none'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.content == raw


def test_it_has_no_snapshot_link_or_page_without_a_stored_body(client):
    change = history()[0]
    url = f"/documents/{change.document_id}/versions/{change.new_version_id}/snapshot.txt"
    assert url not in client.get(change.get_absolute_url()).content.decode()
    assert client.get(url).status_code == 404
