from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.urls import reverse

from snapshots.models import Change
from tests.factories import DocumentFactory, PlatformFactory, StatementFactory
from tests.timeline.builders import START, hidden, history, texts

pytestmark = pytest.mark.django_db
HOME = "/"


def entry_ids(body: str) -> list[str]:
    return re.findall(r'id="((?:change|statement)-\d+)-title"', body)


def test_it_is_the_home_page_and_keeps_the_platform_list_reachable(client):
    assert reverse("timeline:home") == "/"
    response = client.get("/platforms/")
    assert response.status_code == 200
    assert "Platforms" in response.content.decode()


def test_it_interleaves_published_changes_and_statements_by_date(client):
    changes = history(texts(2, ai_every=2), platform__name="SoundCloud")
    platform = changes[0].document.platform
    between = (changes[0].observed_at + timedelta(days=1)).date()
    statement = StatementFactory(platform=platform, date=between, title="We will not train on you")
    Change.objects.filter(pk=changes[1].pk).update(headline="SoundCloud may train AI on uploads")

    body = client.get(HOME).content.decode()

    assert entry_ids(body) == [
        f"change-{changes[1].pk}",
        f"statement-{statement.pk}",
        f"change-{changes[0].pk}",
    ]
    assert "SoundCloud may train AI on uploads" in body
    assert "We will not train on you" in body
    assert "training AI models on user content" in body  # the category label
    assert "+9 / " in body or "words" in body


def test_it_hides_technical_and_flip_flop_changes(client):
    changes = history(texts(3))
    hidden(changes[0])
    hidden(changes[1], kind="flip_flop")
    body = client.get(HOME).content.decode()
    assert entry_ids(body) == [f"change-{changes[2].pk}"]


def test_it_filters_by_several_platforms(client):
    a = history(platform__slug="alpha", platform__name="Alpha")[0]
    b = history(platform__slug="beta", platform__name="Beta")[0]
    c = history(platform__slug="gamma", platform__name="Gamma")[0]
    body = client.get(HOME, {"platform": ["alpha", "gamma"]}).content.decode()
    ids = entry_ids(body)
    assert f"change-{a.pk}" in ids and f"change-{c.pk}" in ids
    assert f"change-{b.pk}" not in ids


def test_it_filters_by_document_kind_ai_and_dates(client):
    terms = history(texts(2, ai_every=2), kind="terms_of_service")
    privacy = history(kind="privacy_policy", start=START + timedelta(days=100))
    kind_ids = entry_ids(client.get(HOME, {"kind": "privacy_policy"}).content.decode())
    assert kind_ids == [f"change-{privacy[0].pk}"]

    ai_ids = entry_ids(client.get(HOME, {"ai": "1"}).content.decode())
    assert f"change-{terms[0].pk}" not in ai_ids
    assert f"change-{terms[1].pk}" in ai_ids

    day = terms[0].observed_at.date()
    dated = entry_ids(client.get(HOME, {"since": day, "until": day}).content.decode())
    assert dated == [f"change-{terms[0].pk}"]


def test_it_searches_changed_text_and_statements(client):
    changes = history(
        [
            "# Terms\n\nWe host your uploads.\n",
            "# Terms\n\nWe host your uploads.\n\nWe license recordings to partners for remixing.\n",
        ]
    )
    history(platform__name="Other")
    statement = StatementFactory(summary="The company denied licensing recordings.")
    body = client.get(HOME, {"q": "recordings"}).content.decode()
    assert set(entry_ids(body)) == {f"change-{changes[0].pk}", f"statement-{statement.pk}"}


def test_it_renders_only_the_results_partial_for_htmx(client):
    history()
    response = client.get(HOME, {"ai": "1"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body and 'id="filters"' not in body
    assert 'class="entries"' in body
    assert "HX-Request" in response["Vary"]


def test_it_renders_the_whole_page_for_an_htmx_history_restore(client):
    history()
    headers = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
    body = client.get(HOME, headers=headers).content.decode()
    assert "<html" in body


def test_it_keeps_the_filters_in_the_form_and_page_links(client):
    history(platform__slug="alpha", platform__name="Alpha")
    body = client.get(HOME, {"platform": "alpha", "ai": "1", "q": "train"}).content.decode()
    assert 'value="alpha" checked' in body
    assert 'id="ai" name="ai" value="1" checked' in body
    assert 'value="train"' in body
    assert "/changes.csv?platform=alpha&amp;ai=1&amp;q=train" in body


def _walk(client, params=None) -> list[str]:
    seen, url = [], HOME + ("?" + params if params else "")
    for _ in range(50):
        body = client.get(url).content.decode()
        seen += entry_ids(body)
        match = re.search(r'rel="next" href="([^"]+)"', body)
        if not match:
            return seen
        url = match.group(1).replace("&amp;", "&")
    raise AssertionError("too many pages")


def test_it_pages_through_everything_once_with_keyset_cursors(client, monkeypatch):
    monkeypatch.setattr("timeline.views.PAGE_SIZE", 4)
    changes = history(texts(9), step=timedelta(hours=12))
    # Ties: a statement on the day of a change, and two changes at the same moment.
    other = history(start=START, step=timedelta(hours=12), platform__name="Twin")
    statements = [
        StatementFactory(platform=changes[0].document.platform, date=c.observed_at.date())
        for c in changes[::3]
    ]
    expected = {f"change-{c.pk}" for c in [*changes, *other]} | {
        f"statement-{s.pk}" for s in statements
    }
    seen = _walk(client)
    assert len(seen) == len(expected)
    assert set(seen) == expected


def test_it_links_back_to_newer_pages(client, monkeypatch):
    monkeypatch.setattr("timeline.views.PAGE_SIZE", 3)
    changes = history(texts(7))
    first = client.get(HOME).content.decode()
    older = re.search(r'rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    second = client.get(older).content.decode()
    assert f"change-{changes[3].pk}" in entry_ids(second)
    newer = re.search(r'rel="prev" href="([^"]+)"', second).group(1).replace("&amp;", "&")
    back = client.get(newer).content.decode()
    assert entry_ids(back) == entry_ids(first)


@pytest.mark.parametrize("entries", [5, 50])
def test_it_uses_a_fixed_number_of_queries_whatever_the_page_size(
    client, django_assert_num_queries, entries, monkeypatch
):
    monkeypatch.setattr("timeline.views.PAGE_SIZE", entries)
    platform = PlatformFactory()
    for _ in range(entries // 5):
        history(texts(4, ai_every=2), document=DocumentFactory(platform=platform))
    for k in range(entries // 5):
        s = StatementFactory(platform=platform, date=date(2024, 2, 1) + timedelta(days=k))
        s.changes.add(Change.objects.first())
    # platforms, changes, statements, their linked changes, and the two counts
    with django_assert_num_queries(6):
        response = client.get(HOME)
    assert response.status_code == 200
    assert len(entry_ids(response.content.decode())) == entries


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"since": "yesterday"}, "Enter a valid date."),
        ({"since": "2024-02-30"}, "Enter a valid date."),
        ({"until": "0001-01-01"}, "Enter a date between"),
        ({"since": "2023-05-01", "until": "2023-01-01"}, "The end date is before the start date."),
        ({"platform": "<script>"}, "Unknown platform."),
        ({"kind": "nope"}, "not understood"),
        ({"ai": "maybe"}, "not understood"),
        ({"q": "x" * 300}, "at most 200 characters"),
        ({"q": "a\x00b"}, "Null characters are not allowed."),
        ({"document": "1e99"}, "not understood"),
    ],
)
def test_it_ignores_malformed_filters_and_says_so(client, params, message):
    change = history()[0]
    response = client.get(HOME, params)
    assert response.status_code == 200
    body = response.content.decode()
    assert message in body
    assert f"change-{change.pk}-title" in body  # the rest of the view still works
    assert "<script>" not in body.split("<main", 1)[1]


@pytest.mark.parametrize(
    "params",
    [
        {"after": "garbage"},
        {"before": "c1-"},
        {"after": "c" + "9" * 18 + "-1"},
        {"after": "c1-1", "before": "s1-1"},
        {"page": "-1"},
    ],
)
def test_it_shows_the_newest_entries_for_garbage_cursors(client, params):
    change = history()[0]
    response = client.get(HOME, params)
    assert response.status_code == 200
    assert f"change-{change.pk}-title" in response.content.decode()


def test_it_says_there_is_nothing_more_past_the_end(client):
    history()
    body = client.get(HOME, {"after": "c1000000-1"}).content.decode()
    assert "No more entries." in body
    assert "Back to the newest" in body


@pytest.mark.parametrize(
    "q", ["'", "&", "!", ":*", "a:* & !b | (c", "'; DROP TABLE x; --", "x" * 200]
)
def test_it_never_fails_on_search_syntax(client, q):
    history()
    StatementFactory()
    assert client.get(HOME, {"q": q}).status_code == 200


def test_it_filters_by_document_and_keeps_that_filter_in_the_form(client):
    changes = history(texts(2))
    other = history()[0]
    body = client.get(HOME, {"document": changes[0].document_id}).content.decode()
    assert set(entry_ids(body)) == {f"change-{c.pk}" for c in changes}
    assert f"change-{other.pk}-title" not in body
    assert f'name="document" value="{changes[0].document_id}"' in body
