from __future__ import annotations

from datetime import timedelta

import pytest

from tests.timeline.builders import AI_CLAUSE, BASE, START, history

pytestmark = pytest.mark.django_db

SCRAPE = "\nYou may not scrape or crawl the service.\n"


def test_it_shows_current_ai_passages_per_platform_with_their_dates(client):
    changes = history(
        [BASE, BASE + SCRAPE, BASE + SCRAPE + AI_CLAUSE],
        platform__name="SoundCloud",
        step=timedelta(days=10),
    )
    history([BASE, BASE + "\nNothing about it.\n"], platform__name="Quiet")
    body = client.get("/ai/").content.decode()
    assert "SoundCloud" in body
    assert "<mark>" in body
    assert "train artificial intelligence models" in body
    # Each passage is dated by the change that gave it its wording.
    assert f'In this form since <a href="{changes[1].get_absolute_url()}"' in body
    assert f'In this form since <a href="{changes[0].get_absolute_url()}"' in body


def test_it_dates_passages_older_than_the_history_by_the_first_version(client):
    history([BASE + AI_CLAUSE, BASE + AI_CLAUSE + "\nMore.\n"])
    body = client.get("/ai/").content.decode()
    assert "Unchanged since our first record" in body
    assert START.strftime("%-d %b %Y") in body


def test_it_filters_by_category(client):
    history([BASE, BASE + SCRAPE + AI_CLAUSE], platform__name="SoundCloud")
    body = client.get("/ai/", {"category": "scraping"}).content.decode()
    assert "<mark>scrape</mark> or <mark>crawl</mark>" in body
    assert "(ruled out)" in body
    assert "train artificial intelligence" not in body
    assert client.get("/ai/", {"category": "<script>"}).status_code == 200


def test_it_does_not_analyse_unchanged_documents_again(client, django_assert_max_num_queries):
    for n in range(3):
        history([BASE, BASE + AI_CLAUSE], platform__name=f"P{n}")
    client.get("/ai/")
    # Cached by each document's current version: one query for the documents.
    with django_assert_max_num_queries(1):
        client.get("/ai/")


def test_it_analyses_again_when_a_document_gets_a_new_version(client):
    changes = history([BASE, BASE + AI_CLAUSE], platform__name="SoundCloud")
    client.get("/ai/")
    from tests.timeline.builders import history as more

    more([BASE + AI_CLAUSE, BASE + AI_CLAUSE + SCRAPE], platform__name="Later")
    body = client.get("/ai/").content.decode()
    assert "<mark>scrape</mark> or <mark>crawl</mark>" in body
    assert changes[0].document.title in body
