from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from tests.factories import StatementFactory
from tests.timeline.builders import START, history, texts

pytestmark = pytest.mark.django_db


def test_it_suggests_the_platforms_changes_closest_in_date(admin_client):
    changes = history(texts(6), step=timedelta(days=10))
    platform = changes[0].document.platform
    history(start=START, platform__name="Elsewhere")  # another platform: never suggested
    statement = StatementFactory(platform=platform, date=changes[2].observed_at.date())
    statement.changes.add(changes[2])
    body = admin_client.get(
        reverse("admin:platforms_statement_change", args=[statement.pk])
    ).content.decode()
    assert "changes closest in date" in body.lower()
    assert f"#{changes[2].pk}</a>" in body and "(linked)" in body
    assert f"#{changes[1].pk}</a>" in body and f"#{changes[3].pk}</a>" in body
    assert body.count('<li><a href="/changes/') == 5


def test_it_links_changes_with_an_autocomplete_widget(admin_client):
    body = admin_client.get(reverse("admin:platforms_statement_add")).content.decode()
    assert 'data-model-name="change"' in body or "admin-autocomplete" in body
    assert "Save the statement first" in body


def test_it_saves_linked_changes(admin_client):
    change = history()[0]
    data = {
        "platform": change.document.platform_id,
        "kind": "statement",
        "date": "2024-05-14",
        "title": "A statement",
        "summary": "In our words.",
        "quote": "",
        "source_url": "https://news.example/x",
        "outlet": "News",
        "changes": [change.pk],
    }
    response = admin_client.post(reverse("admin:platforms_statement_add"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    from platforms.models import Statement

    assert list(Statement.objects.get(title="A statement").changes.all()) == [change]
