from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from snapshots.models import Change
from tests.factories import DocumentFactory, PlatformFactory, StatementFactory
from tests.timeline.builders import AI_CLAUSE, BASE, START, hidden, history, texts

pytestmark = pytest.mark.django_db
API = "/api/v1/"


def get(client, path, params=None, status=200):
    response = client.get(API + path, params or {})
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    return response.json()


def local(url: str) -> str:
    """An absolute API link (built from SITE_URL) as a path for the test client."""
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def ids(data) -> list[int]:
    return [r["id"] for r in data["results"]]


def is_iso(value: str) -> bool:
    datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


def test_it_lists_its_endpoints(client):
    data = get(client, "")
    assert set(data) >= {"platforms", "documents", "changes", "statements"}


def test_it_lists_platforms_with_pagination(client, settings):
    settings.SITE_URL = "https://cw.example"
    platforms = PlatformFactory.create_batch(5)
    page = get(client, "platforms", {"limit": 2})
    assert page["count"] == 5
    assert ids(page) == [p.pk for p in platforms[:2]]
    assert page["previous"] is None
    assert page["next"].startswith("https://cw.example/api/v1/platforms?")
    second = client.get(local(page["next"])).json()
    assert ids(second) == [p.pk for p in platforms[2:4]]
    back = client.get(local(second["previous"])).json()
    assert ids(back) == ids(page)
    assert set(page["results"][0]) >= {"id", "slug", "name", "homepage"}


def test_it_lists_documents_with_the_contract_fields_and_filters(client):
    a = DocumentFactory(platform__slug="alpha", kind="privacy_policy")
    DocumentFactory(platform__slug="beta")
    data = get(client, "documents")
    assert data["count"] == 2
    doc = data["results"][0]
    assert set(doc) >= {"id", "platform", "kind", "title", "url", "status", "last_checked_at"}
    assert doc["platform"] == "alpha"
    assert ids(get(client, "documents", {"platform": "alpha"})) == [a.pk]
    assert ids(get(client, "documents", {"kind": "privacy_policy"})) == [a.pk]
    get(client, "documents", {"platform": "nope"}, status=400)
    get(client, "documents", {"kind": "nope"}, status=400)


def test_it_lists_a_documents_versions_newest_first(client):
    changes = history(texts(2))
    document = changes[0].document
    data = get(client, f"documents/{document.pk}/versions")
    assert data["count"] == 3
    first = data["results"][0]
    assert set(first) >= {"id", "sha256", "observed_at", "source"}
    assert first["source"] == "live" and is_iso(first["observed_at"])
    assert first["id"] == changes[1].new_version_id
    assert first["change"] == changes[1].pk
    assert data["results"][-1]["change"] is None
    get(client, "documents/999999/versions", status=404)


def test_it_lists_changes_with_the_contract_fields(client, settings):
    settings.SITE_URL = "https://cw.example"
    change = history([BASE, BASE + AI_CLAUSE], platform__slug="sc")[0]
    data = get(client, "changes")
    assert data["count"] == 1 and data["next"] is None and data["previous"] is None
    row = data["results"][0]
    assert set(row) >= {
        "id",
        "document",
        "platform",
        "observed_at",
        "ai_relevant",
        "ai_categories",
        "words_added",
        "words_removed",
        "summary",
        "url",
    }
    assert row["platform"] == "sc"
    assert row["document"] == change.document_id
    assert row["ai_relevant"] is True and row["ai_categories"] == ["training"]
    assert row["url"] == f"https://cw.example/changes/{change.pk}/"
    assert row["observed_at"].endswith("Z") and is_iso(row["observed_at"])


def test_it_filters_changes_by_each_parameter(client):
    terms = history(texts(2, ai_every=2), platform__slug="alpha", kind="terms_of_service")
    privacy = history(
        [BASE, BASE + "\nWe license recordings to partners.\n"],
        platform__slug="beta",
        kind="privacy_policy",
        start=START + timedelta(days=30),
    )
    hidden(history(platform__slug="gamma")[0])

    assert ids(get(client, "changes", {"platform": "alpha"})) == [terms[1].pk, terms[0].pk]
    both = get(client, "changes", {"platform": ["alpha", "beta"]})
    assert both["count"] == 3
    assert ids(get(client, "changes", {"document": privacy[0].document_id})) == [privacy[0].pk]
    assert ids(get(client, "changes", {"kind": "privacy_policy"})) == [privacy[0].pk]
    assert terms[1].pk in ids(get(client, "changes", {"ai": "1"}))
    assert terms[0].pk in ids(get(client, "changes", {"ai": "0"}))
    assert terms[1].pk not in ids(get(client, "changes", {"ai": "0"}))
    day = terms[1].observed_at.date()
    assert ids(get(client, "changes", {"since": day, "until": day})) == [terms[1].pk]
    assert ids(get(client, "changes", {"since": day + timedelta(days=1)})) == [privacy[0].pk]
    assert ids(get(client, "changes", {"until": day - timedelta(days=1)})) == [terms[0].pk]
    assert ids(get(client, "changes", {"q": "recordings"})) == [privacy[0].pk]


def test_it_pages_changes_forward_and_back_with_cursors(client):
    changes = history(texts(7), step=timedelta(hours=1))
    # Two more at exactly the same moment as one of them.
    twins = history(
        texts(1), start=changes[3].observed_at - timedelta(hours=1), step=timedelta(hours=1)
    )
    expected = [
        c.pk for c in sorted([*changes, *twins], key=lambda c: (c.observed_at, c.pk), reverse=True)
    ]
    seen, pages, url = [], [], API + "changes?limit=3"
    while url:
        data = client.get(local(url) if "://" in url else url).json()
        assert data["count"] == len(expected)
        seen += ids(data)
        pages.append(data)
        url = data["next"]
    assert seen == expected
    # Walk back from the last page.
    back, url = [], pages[-1]["previous"]
    while url:
        data = client.get(local(url)).json()
        back = ids(data) + back
        url = data["previous"]
    assert back == expected[: len(expected) - len(ids(pages[-1]))]


def test_it_returns_a_change_with_its_diff(client):
    change = history([BASE, BASE + AI_CLAUSE])[0]
    statement = StatementFactory(platform=change.document.platform)
    statement.changes.add(change)
    data = get(client, f"changes/{change.pk}")
    assert data["id"] == change.pk
    assert data["statements"] == [statement.pk]
    assert data["diff"]["structured"]["schema"] == "clausewatch.diff"
    assert "+We may use your uploads to train" in data["diff"]["unified"]
    assert data["diff"]["unified"].startswith("--- ")
    assert data["old_version"] == change.old_version_id


def test_it_is_404_for_hidden_or_unknown_changes(client):
    change = hidden(history()[0])
    get(client, f"changes/{change.pk}", status=404)
    get(client, "changes/123456789", status=404)


def test_it_lists_statements_with_their_changes(client):
    change = history(platform__slug="sc")[0]
    old = StatementFactory(platform=change.document.platform, date=date(2023, 1, 1))
    new = StatementFactory(
        platform=change.document.platform, date=date(2024, 6, 1), title="Opt-out"
    )
    new.changes.add(change)
    other = StatementFactory(date=date(2024, 7, 1), summary="Licensing recordings")
    data = get(client, "statements")
    assert ids(data) == [other.pk, new.pk, old.pk]
    row = data["results"][1]
    assert set(row) >= {"id", "platform", "date", "title", "summary", "source_url", "changes"}
    assert row["date"] == "2024-06-01" and row["changes"] == [change.pk]
    assert ids(get(client, "statements", {"platform": "sc"})) == [new.pk, old.pk]
    assert ids(get(client, "statements", {"since": "2024-01-01", "until": "2024-06-30"})) == [
        new.pk
    ]
    assert ids(get(client, "statements", {"q": "recordings"})) == [other.pk]
    page = get(client, "statements", {"limit": 2})
    rest = client.get(local(page["next"])).json()
    assert ids(page) + ids(rest) == [other.pk, new.pk, old.pk]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("changes", {"since": "yesterday"}),
        ("changes", {"since": "2024-13-45"}),
        ("changes", {"until": "0001-01-01"}),
        ("changes", {"since": "2024-05-01", "until": "2024-01-01"}),
        ("changes", {"ai": "maybe"}),
        ("changes", {"kind": "'; DROP TABLE"}),
        ("changes", {"document": "abc"}),
        ("changes", {"document": "-3"}),
        ("changes", {"document": "9" * 40}),
        ("changes", {"platform": "nope"}),
        ("changes", {"limit": "0"}),
        ("changes", {"limit": "100000"}),
        ("changes", {"limit": "ten"}),
        ("changes", {"after": "garbage"}),
        ("changes", {"after": "c99999999999999999-1"}),
        ("changes", {"before": "s1-"}),
        ("changes", {"after": "c1-1", "before": "c1-1"}),
        ("changes", {"q": "x" * 201}),
        ("changes", {"q": "nul\x00byte"}),
        ("changes", {"colour": "red"}),
        ("platforms", {"after": "-1"}),
        ("documents", {"after": "1e9"}),
        ("statements", {"after": "c1-x"}),
        ("statements", {"kind": "terms_of_service"}),
    ],
)
def test_it_answers_400_to_malformed_parameters(client, path, params):
    history(platform__slug="sc")
    data = get(client, path, params, status=400)
    assert data["errors"]


def test_it_returns_empty_pages_past_the_end(client):
    change = history()[0]
    far = "c1000000000000-1"  # 1970: older than everything
    data = get(client, "changes", {"after": far})
    assert data["results"] == [] and data["next"] is None
    assert data["previous"] is not None
    back = client.get(local(data["previous"])).json()
    assert ids(back) == [change.pk]


@pytest.mark.parametrize(
    "q",
    [
        "'",
        "&",
        "!",
        ":*",
        "a & !b",
        "'; DROP TABLE x; --",
        "(((",
        '"unclosed',
        "<->",
        "x" * 200,
        "\\",
    ],
)
def test_it_never_fails_on_search_syntax(client, q):
    history()
    StatementFactory()
    assert client.get(API + "changes", {"q": q}).status_code == 200
    assert client.get(API + "statements", {"q": q}).status_code == 200
    assert client.get("/", {"q": q}).status_code == 200
    assert client.get("/changes.csv", {"q": q}).status_code == 200


def test_it_counts_with_a_fixed_number_of_queries(client, django_assert_num_queries):
    for _ in range(4):
        history(texts(3), document=DocumentFactory())
    slug = Change.objects.first().document.platform.slug
    # platforms (to check the slug), count, page
    with django_assert_num_queries(3):
        data = client.get(API + "changes", {"limit": 5, "platform": slug}).json()
    assert len(data["results"]) == 3
    with django_assert_num_queries(2):
        data = client.get(API + "changes", {"limit": 10}).json()
    assert len(data["results"]) == 10


def test_it_allows_cross_origin_reads(client):
    response = client.get(API + "changes")
    assert response["Access-Control-Allow-Origin"] == "*"
