from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from snapshots.models import Change, ChangeKind, Version
from tests.factories import DocumentFactory, PlatformFactory
from tests.pages import wrap_in_noisy_html

pytestmark = pytest.mark.django_db

TEXT = "# Terms\n\n## Uploads\n\nWe host what you upload.\n\n## Contact\n\nWrite to us.\n"


def _serve(httpserver, text=TEXT, seed=1):
    httpserver.clear()
    httpserver.expect_request("/terms").respond_with_data(
        wrap_in_noisy_html(text, seed=seed), content_type="text/html"
    )
    return httpserver.url_for("/terms")


def test_it_tracks_one_document_and_prints_a_summary(httpserver):
    doc = DocumentFactory(url=_serve(httpserver), title="Terms of Use", platform__name="SoundCloud")
    out = StringIO()
    call_command("track", document=doc.pk, stdout=out)
    text = out.getvalue()
    assert "SoundCloud — Terms of Use: First version recorded (HTTP 200)" in text
    assert "checked 1 document(s): 1 first" in text


def test_it_tracks_a_platform_or_everything(httpserver):
    url = _serve(httpserver)
    platform = PlatformFactory(slug="soundcloud")
    DocumentFactory(platform=platform, url=url)
    DocumentFactory(platform=platform, url=url + "?lang=en")
    DocumentFactory(url=url)
    DocumentFactory(url=url + "?inactive", platform=platform, active=False)
    out = StringIO()
    call_command("track", platform="soundcloud", stdout=out)
    assert "checked 2 document(s)" in out.getvalue()
    out = StringIO()
    call_command("track", all=True, stdout=out)
    assert "checked 3 document(s)" in out.getvalue()


def test_it_says_clearly_when_there_is_nothing_to_track():
    with pytest.raises(CommandError, match="no document with id 999"):
        call_command("track", document=999)
    with pytest.raises(CommandError, match="no active documents for platform 'nope'"):
        call_command("track", platform="nope")


def test_it_reextracts_after_selectors_change_as_a_technical_change(httpserver):
    doc = DocumentFactory(url=_serve(httpserver))
    call_command("track", document=doc.pk, stdout=StringIO())
    doc.refresh_from_db()
    doc.remove = ["h2"]
    doc.save()
    out = StringIO()
    call_command("reextract", document=doc.pk, stdout=out)
    assert "technical change recorded" in out.getvalue()
    change = Change.objects.get(document=doc)
    assert change.kind == ChangeKind.TECHNICAL
    assert change.published_at is None
    assert not change.alertable
    current = Version.objects.filter(document=doc).latest("id")
    assert "## Uploads" not in current.text
    # The next live check compares against the new extraction: nothing to publish.
    call_command("track", document=doc.pk, stdout=StringIO())
    assert Change.objects.filter(document=doc).count() == 1
    out = StringIO()
    call_command("reextract", document=doc.pk, stdout=out)
    assert "unchanged" in out.getvalue()


def test_it_skips_documents_never_fetched_when_reextracting():
    doc = DocumentFactory()
    out = StringIO()
    call_command("reextract", stdout=out)
    assert f"{doc.pk:>5}" in out.getvalue()
    assert "skipped: no stored page" in out.getvalue()


def test_it_analyses_changes_recorded_before_the_analysis_existed():
    from tests.factories import ChangeFactory

    change = ChangeFactory()
    Change.objects.filter(pk=change.pk).update(
        analyzed_at=None, ai_relevant=False, ai_categories=[], summary="", diff={}, words_added=0
    )
    done = ChangeFactory()
    out = StringIO()
    call_command("analyze_changes", stdout=out)
    assert "done: 1 change(s) analysed" in out.getvalue()
    change.refresh_from_db()
    assert change.analyzed_at is not None
    assert change.ai_relevant
    assert change.ai_categories == ["training"]
    assert change.words_added == 9
    assert change.summary
    assert change.diff["hunks"]
    out = StringIO()
    call_command("analyze_changes", "--all", stdout=out)
    assert "done: 2 change(s) analysed" in out.getvalue()
    assert done.pk


def test_it_runs_the_tracker_once_in_process(httpserver):
    doc = DocumentFactory(url=_serve(httpserver))
    out = StringIO()
    call_command("runtracker", "--once", stdout=out)
    assert f"document {doc.pk}: first" in out.getvalue()
    call_command("runtracker", "--once", stdout=StringIO())  # nothing due: nothing checked
    assert Version.objects.filter(document=doc).count() == 1
