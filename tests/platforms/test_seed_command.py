from __future__ import annotations

import textwrap
from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.forms.models import model_to_dict

from platforms.models import Document, Platform, Statement
from platforms.registry import load_registry
from tests.factories import PlatformFactory

pytestmark = pytest.mark.django_db


def _snapshot() -> dict:
    def rows(model):
        return sorted(
            (
                tuple(sorted((k, str(v)) for k, v in model_to_dict(o).items()))
                for o in model.objects.all()
            ),
        )

    return {m.__name__: rows(m) for m in (Platform, Document, Statement)}


def _write(tmp_path, body: str):
    path = tmp_path / "registry.toml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


SMALL = """
    [[platforms]]
    slug = "soundcloud"
    name = "SoundCloud"
    homepage = "https://soundcloud.com/"
    description = "Audio platform."

    [[platforms.documents]]
    kind = "terms_of_service"
    title = "Terms of Use"
    url = "https://soundcloud.com/terms-of-use"

    [[platforms.statements]]
    date = 2025-05-14
    title = "CEO letter"
    summary = "The CEO wrote about the terms."
    source_url = "https://soundcloud.com/a-letter"
    outlet = "SoundCloud"

    [[platforms]]
    slug = "zoom"
    name = "Zoom"
    homepage = "https://zoom.us/"

    [[platforms.documents]]
    kind = "terms_of_service"
    title = "Terms of Service"
    url = "https://zoom.us/terms"
"""


def test_it_seeds_the_real_registry_with_enough_platforms_documents_and_statements():
    out = StringIO()
    call_command("seed", stdout=out)
    assert Platform.objects.count() >= 25
    assert Document.objects.count() >= 60
    assert Statement.objects.count() >= 15
    assert Statement.objects.filter(date__gt=date.today()).count() == 0
    assert {"soundcloud", "x", "linkedin", "youtube", "adobe", "zoom"} <= set(
        Platform.objects.values_list("slug", flat=True)
    )
    assert "created" in out.getvalue()


def test_it_changes_nothing_when_run_twice():
    call_command("seed", stdout=StringIO())
    before = _snapshot()
    out = StringIO()
    call_command("seed", stdout=out)
    assert _snapshot() == before
    assert "created" not in out.getvalue()
    assert "updated" not in out.getvalue()


def test_it_never_overwrites_a_row_an_admin_edited(tmp_path):
    path = _write(tmp_path, SMALL)
    call_command("seed", file=path, stdout=StringIO())
    doc = Document.objects.get(url="https://soundcloud.com/terms-of-use")
    doc.title = "Terms of Use (edited by an admin)"
    doc.select = ["article.legal"]
    doc.save()
    changed = _write(
        tmp_path, SMALL.replace('title = "Terms of Use"', 'title = "Terms of Use 2025"')
    )
    out = StringIO()
    call_command("seed", file=changed, stdout=out)
    doc.refresh_from_db()
    assert doc.title == "Terms of Use (edited by an admin)"
    assert doc.select == ["article.legal"]
    assert "kept admin edits: document https://soundcloud.com/terms-of-use" in out.getvalue()


def test_it_updates_rows_nobody_edited_when_the_registry_changes(tmp_path):
    call_command("seed", file=_write(tmp_path, SMALL), stdout=StringIO())
    changed = _write(
        tmp_path, SMALL.replace('title = "Terms of Use"', 'title = "Terms of Use 2025"')
    )
    call_command("seed", file=changed, stdout=StringIO())
    assert Document.objects.filter(title="Terms of Use 2025").count() == 1
    assert Document.objects.count() == 2


def test_it_reports_a_conflict_and_leaves_the_database_as_it_was(tmp_path):
    PlatformFactory(name="Zoom", slug="zoom-video")
    before = _snapshot()
    with pytest.raises(CommandError) as excinfo:
        call_command("seed", file=_write(tmp_path, SMALL), stdout=StringIO())
    message = str(excinfo.value)
    assert "nothing was changed" in message
    assert "'Zoom' already exists with slug 'zoom-video'" in message
    # SoundCloud comes first in the file: it must not have been half-created.
    assert _snapshot() == before


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (
            "[[platforms]]\nslug = 'Bad Slug'\nname='x'\nhomepage='https://x.example/'\n",
            "slug must be",
        ),
        (
            "[[platforms]]\nslug = 'a'\nname='A'\nhomepage='javascript:alert(1)'\n",
            "homepage must be an http(s) URL",
        ),
        ("not toml [", "not valid TOML"),
        (
            "[[platforms]]\nslug='a'\nname='A'\nhomepage='https://a.example/'\n"
            "[[platforms.documents]]\nkind='nonsense'\ntitle='T'\nurl='https://a.example/t'\n",
            "kind 'nonsense' is not one of",
        ),
    ],
)
def test_it_rejects_an_invalid_registry_file_with_a_clear_message(tmp_path, body, fragment):
    with pytest.raises(CommandError, match="registry file is invalid") as excinfo:
        call_command("seed", file=_write(tmp_path, body), stdout=StringIO())
    assert fragment in str(excinfo.value)
    assert Platform.objects.count() == 0


def test_it_rejects_a_registry_row_that_fails_model_validation(tmp_path):
    body = (
        SMALL
        + """
    [[platforms.documents]]
    kind = "privacy_policy"
    title = "Broken selector"
    url = "https://zoom.us/privacy"
    select = ["div[[["]
    """
    )
    with pytest.raises(CommandError, match="nothing was changed"):
        call_command("seed", file=_write(tmp_path, body), stdout=StringIO())
    assert Platform.objects.count() == 0


def test_it_keeps_the_registry_file_internally_consistent():
    entries = load_registry()
    urls = [(p.slug, d.url) for p in entries for d in p.documents]
    assert len(urls) == len(set(urls))
    assert all(d.url.startswith("https://") for p in entries for d in p.documents)
