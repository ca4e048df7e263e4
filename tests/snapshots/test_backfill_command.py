"""`manage.py backfill`, the `backfill_document` task and the admin action, on the configured
archive (settings.WAYBACK_URL pointed at the fake one, rates raised so that nothing waits)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from werkzeug.wrappers import Response

from snapshots.models import Change, Check, Version
from snapshots.tasks import backfill_document
from tests.factories import DocumentFactory
from tests.pages import wrap_in_noisy_html
from tests.snapshots.fake_wayback import fake_wayback

pytestmark = pytest.mark.django_db

URL = "https://docs.example/terms"
TEXT = "# Terms ({label})\n\n" + "\n\n".join(
    f"## {n}. Content\n\nYou keep what you upload to the {{label}} service; clause {n} applies "
    "to everything you post, and we only host it to show it to the people you choose."
    for n in range(12)
)


CAPTURES = [
    ("2022", datetime(2022, 3, 1, tzinfo=UTC)),
    ("2023a", datetime(2023, 2, 1, tzinfo=UTC)),
    ("2023b", datetime(2023, 9, 1, tzinfo=UTC)),
    ("2024", datetime(2024, 5, 1, tzinfo=UTC)),
]


def page(label: str, seed: int) -> str:
    return wrap_in_noisy_html(TEXT.format(label=label), seed=seed)


@pytest.fixture
def wayback(settings):
    with fake_wayback() as fake:
        settings.WAYBACK_URL = fake.base_url
        settings.WAYBACK_CDX_PER_MINUTE = 600_000.0
        settings.WAYBACK_CAPTURES_PER_SECOND = 10_000.0
        settings.WAYBACK_BACKOFF = 0.01
        settings.WAYBACK_RETRIES = 1
        for n, (label, when) in enumerate(CAPTURES):
            fake.add(when, URL, page(label, n))
        yield fake


def test_it_backfills_a_document_from_the_command_line(wayback):
    doc = DocumentFactory(url=URL)
    out = StringIO()

    call_command(
        "backfill", "--document", str(doc.pk), "--since", "2023-01-01", "--until", "2023-12-31",
        stdout=out,
    )  # fmt: skip

    args = wayback.cdx_log[0][1]
    assert (args["url"], args["from"], args["to"]) == (
        [URL],
        ["20230101000000"],
        ["20231231235959"],
    )
    versions = Version.objects.filter(document=doc).order_by("observed_at")
    assert [v.observed_at.year for v in versions] == [2023, 2023]
    assert all(v.source == "archive" for v in versions)
    text = out.getvalue()
    assert f"{doc.platform.name} — {doc.title}" in text
    assert "2 captures listed, 0 already recorded, 2 fetched, 2 new versions" in text

    out = StringIO()
    call_command("backfill", "--document", str(doc.pk), stdout=out)
    assert "4 captures listed, 2 already recorded, 2 fetched, 2 new versions" in out.getvalue()
    assert Version.objects.filter(document=doc).count() == 4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--document", "999999"], "no document with id 999999"),
        (["--document", "{doc}", "--since", "2023-02-30"], "is not a date"),
        (["--document", "{doc}", "--since", "2024-01-01", "--until", "2023-01-01"], "after"),
    ],
    ids=["unknown-document", "bad-date", "inverted-range"],
)
def test_it_refuses_bad_arguments_clearly(wayback, args, message):
    doc = DocumentFactory(url=URL)
    with pytest.raises(CommandError, match=message):
        call_command("backfill", *[a.format(doc=doc.pk) for a in args], stdout=StringIO())
    assert not wayback.cdx_log


def test_it_fails_clearly_when_the_cdx_answer_is_garbage(wayback):
    wayback.cdx_script.append(Response("<html>We are down</html>", content_type="text/html"))
    doc = DocumentFactory(url=URL)
    with pytest.raises(CommandError, match=f"backfill of document {doc.pk} failed: .*not JSON"):
        call_command("backfill", "--document", str(doc.pk), stdout=StringIO())
    assert not Version.objects.exists() and not Check.objects.exists()


def test_it_says_how_to_continue_when_the_archive_stops_answering(wayback, settings):
    settings.WAYBACK_MAX_FAILURES = 2
    wayback.fail_captures_after = 1
    doc = DocumentFactory(url=URL)
    out = StringIO()
    with pytest.raises(CommandError, match=r"stopped early: .*rerun to continue"):
        call_command("backfill", "--document", str(doc.pk), stdout=out)
    assert "failed " in out.getvalue() and Version.objects.filter(document=doc).count() == 1

    wayback.fail_captures_after = None
    call_command("backfill", "--document", str(doc.pk), stdout=StringIO())
    assert Version.objects.filter(document=doc).count() == 4


def test_it_runs_as_an_idempotent_task(wayback):
    doc = DocumentFactory(url=URL)

    summary = backfill_document.delay(doc.pk, since="2022-01-01").get()
    again = backfill_document.delay(doc.pk, since="2022-01-01").get()

    assert "4 new versions" in summary and "0 new versions" in again
    assert "4 already recorded" in again
    assert Version.objects.filter(document=doc).count() == 4
    assert Change.objects.filter(document=doc, alertable=False).count() == 3
    assert backfill_document.delay(999_999).get() is None
    wayback.cdx_script.append(Response("[[", content_type="application/json"))
    assert backfill_document.delay(doc.pk).get().startswith("failed: ")


def test_it_backfills_the_selected_documents_from_the_admin(
    admin_client, wayback, django_capture_on_commit_callbacks
):
    doc = DocumentFactory(url=URL)
    other = DocumentFactory(url="https://docs.example/never-archived")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:platforms_document_changelist"),
            {"action": "backfill_from_wayback", "_selected_action": [doc.pk, other.pk]},
            follow=True,
        )
    assert response.status_code == 200
    assert "2 backfill(s) queued" in response.content.decode()
    assert Version.objects.filter(document=doc, source="archive").count() == 4
    assert not Version.objects.filter(document=other).exists()
    recent = timedelta(minutes=5)
    assert all(
        c.published_at and c.published_at > datetime.now(UTC) - recent and not c.alertable
        for c in Change.objects.filter(document=doc)
    )
