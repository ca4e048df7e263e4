from __future__ import annotations

import re

import pytest

from snapshots.models import Version
from tests.factories import DocumentFactory, VersionFactory
from tests.timeline.builders import AI_CLAUSE, BASE, hidden, history, texts

pytestmark = pytest.mark.django_db


def test_it_lists_the_version_history_newest_first_with_their_changes(client):
    changes = history(texts(3, ai_every=3), title="Privacy Policy")
    hidden(changes[1])
    document = changes[0].document
    body = client.get(f"/documents/{document.pk}/").content.decode()
    assert "Privacy Policy" in body
    version_links = re.findall(rf"/documents/{document.pk}/versions/(\d+)/", body)
    ids = list(dict.fromkeys(int(v) for v in version_links))
    newest_first = list(
        Version.objects.filter(document=document)
        .order_by("-observed_at")
        .values_list("id", flat=True)
    )
    assert ids[: len(newest_first)] == newest_first
    assert changes[2].get_absolute_url() in body
    assert changes[1].get_absolute_url() not in body  # technical: not public
    assert "not published" in body


def test_it_shows_the_current_text_with_ai_passages_marked(client):
    change = history([BASE, BASE + AI_CLAUSE])[0]
    body = client.get(f"/documents/{change.document_id}/").content.decode()
    assert 'class="para para-ai"' in body
    assert "<mark>" in body
    assert "training AI models on user content" in body


def test_it_renders_any_version_with_its_ai_passages(client):
    change = history([BASE + AI_CLAUSE, BASE])[0]
    old = change.old_version
    body = client.get(f"/documents/{old.document_id}/versions/{old.pk}/").content.decode()
    assert "<mark>" in body and old.sha256 in body
    newer = client.get(f"/documents/{old.document_id}/versions/{change.new_version_id}/")
    assert "<mark>" not in newer.content.decode()


def test_it_hides_held_versions(client):
    document = DocumentFactory()
    first = VersionFactory(document=document)
    held = VersionFactory(document=document, previous=first, state="held")
    assert client.get(f"/documents/{document.pk}/versions/{held.pk}/").status_code == 404
    assert client.get(f"/documents/{document.pk}/versions/{first.pk}/").status_code == 200


def test_it_is_404_for_a_version_of_another_document(client):
    a, b = history()[0], history()[0]
    assert client.get(f"/documents/{a.document_id}/versions/{b.new_version_id}/").status_code == 404
    assert client.get("/documents/999999/").status_code == 404


def test_it_compares_any_two_versions(client):
    changes = history(texts(3))
    document = changes[0].document
    first, last = changes[0].old_version_id, changes[2].new_version_id
    url = f"/documents/{document.pk}/compare/"
    body = client.get(url, {"from": first, "to": last}).content.decode()
    assert 'class="diff diff-inline"' in body
    assert "Clause number 3" in body
    side = client.get(url, {"from": first, "to": last, "view": "side"}).content.decode()
    assert 'class="diff diff-sbs"' in side
    partial = client.get(url, {"from": first, "to": last}, headers={"HX-Request": "true"})
    assert "<html" not in partial.content.decode()


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({}, 200),
        ({"from": "abc", "to": "1"}, 400),
        ({"from": "-1", "to": "99999999999999999999999"}, 400),
        ({"from": "1"}, 400),
        ({"from": "999999", "to": "999998"}, 404),
    ],
)
def test_it_answers_bad_compare_parameters_clearly(client, params, status):
    document = history()[0].document
    response = client.get(f"/documents/{document.pk}/compare/", params)
    assert response.status_code == status


def test_it_refuses_to_compare_versions_of_other_documents(client):
    a, b = history()[0], history()[0]
    response = client.get(
        f"/documents/{a.document_id}/compare/",
        {"from": a.old_version_id, "to": b.new_version_id},
    )
    assert response.status_code == 404


def test_it_pages_long_histories(client, monkeypatch):
    monkeypatch.setattr("timeline.views.VERSIONS_PER_PAGE", 2)
    changes = history(texts(4))
    document = changes[0].document
    body = client.get(f"/documents/{document.pk}/").content.decode()
    older = re.search(r'href="([^"]+)">Older versions', body).group(1).replace("&amp;", "&")
    second = client.get(older).content.decode()
    assert f"/versions/{changes[1].new_version_id}/" in second
    assert client.get(f"/documents/{document.pk}/", {"before": "garbage"}).status_code == 200
