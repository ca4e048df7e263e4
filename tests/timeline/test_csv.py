from __future__ import annotations

import csv
import io

import pytest

from snapshots.models import Change
from tests.factories import StatementFactory
from tests.timeline.builders import history, texts
from timeline.exports import safe_cell

pytestmark = pytest.mark.django_db


def rows(client, params=None):
    response = client.get("/changes.csv", params or {})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_it_exports_the_timeline_with_statements(client):
    changes = history(texts(2, ai_every=2), platform__slug="sc")
    statement = StatementFactory(platform=changes[0].document.platform)
    data = rows(client)
    assert [r["type"] for r in data].count("change") == 2
    assert any(r["type"] == "statement" and r["id"] == str(statement.pk) for r in data)
    first = next(r for r in data if r["id"] == str(changes[1].pk) and r["type"] == "change")
    assert first["url"].endswith(f"/changes/{changes[1].pk}/")


def test_it_applies_the_timeline_filters(client):
    a = history(platform__slug="alpha")[0]
    history(platform__slug="beta")
    data = rows(client, {"platform": "alpha", "kind": "terms_of_service"})
    assert [(r["type"], r["id"]) for r in data] == [("change", str(a.pk))]
    assert client.get("/changes.csv", {"since": "nope"}).status_code == 400


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_it_defuses_formulas(start):
    assert safe_cell(f'{start}HYPERLINK("x")') == f'\'{start}HYPERLINK("x")'
    assert safe_cell("plain") == "plain"


def test_it_defuses_formulas_in_exported_cells(client):
    change = history()[0]
    Change.objects.filter(pk=change.pk).update(headline='=HYPERLINK("http://evil.example","x")')
    StatementFactory(title="@SUM(1+1)", summary="-2+3")
    data = rows(client)
    cells = [r["headline"] for r in data] + [r["summary"] for r in data]
    assert '\'=HYPERLINK("http://evil.example","x")' in cells
    assert "'@SUM(1+1)" in cells and "'-2+3" in cells
    assert not any(c and c[0] in "=+-@\t\r" for c in cells)
