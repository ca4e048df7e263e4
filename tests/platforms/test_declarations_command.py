"""manage.py import_declarations PATH…"""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from platforms.models import Document, Platform

DATA = Path(__file__).resolve().parent.parent / "data" / "declarations"

pytestmark = pytest.mark.django_db


def run(*paths: Path) -> str:
    out = StringIO()
    call_command("import_declarations", *map(str, paths), stdout=out)
    return out.getvalue()


def test_it_imports_a_folder_and_says_what_it_did() -> None:
    out = run(DATA / "valid")
    assert out.splitlines() == [
        f"imported {DATA / 'valid' / 'Example Music.json'}: 3 documents",
        f"imported {DATA / 'valid' / 'Example Podcasts.json'}: 1 document",
        f"ignored {DATA / 'valid' / 'Example Music.history.json'}: history file",
        "platforms: 2 created",
        "documents: 4 created",
    ]
    assert Document.objects.count() == 4


def test_it_changes_nothing_the_second_time() -> None:
    run(DATA / "valid")
    assert run(DATA / "valid").splitlines()[-2:] == [
        "platforms: 2 unchanged",
        "documents: 4 unchanged",
    ]


def test_it_exits_with_an_error_when_a_file_fails_but_imports_the_others() -> None:
    out = StringIO()
    with pytest.raises(CommandError) as caught:
        call_command(
            "import_declarations",
            str(DATA / "invalid" / "Wrong Select.json"),
            str(DATA / "valid" / "Example Music.json"),
            stdout=out,
        )
    assert caught.value.returncode == 1
    assert str(caught.value) == "1 file(s) failed, 0 document(s) skipped"
    assert (
        f"FAILED {DATA / 'invalid' / 'Wrong Select.json'}: terms.Terms of Service.select[1]: "
        "expected a CSS selector, a range selector or a list of them"
    ) in out.getvalue()
    assert list(Platform.objects.values_list("slug", flat=True)) == ["example-music"]


def test_it_exits_with_an_error_when_a_document_was_skipped() -> None:
    out = StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("import_declarations", str(DATA / "partial"), stdout=out)
    assert str(caught.value) == "0 file(s) failed, 4 document(s) skipped"
    assert "terms.Community Guidelines: combines 2 pages" in out.getvalue()
    assert Document.objects.count() == 1


def test_it_refuses_private_addresses_in_production(settings) -> None:
    settings.FETCH_ALLOW_PRIVATE = False
    with pytest.raises(CommandError):
        run(DATA / "invalid" / "Private Address.json")
    assert not Platform.objects.exists()


def test_it_allows_the_networks_the_fetcher_allows(settings) -> None:
    settings.FETCH_ALLOW_PRIVATE = False
    settings.FETCH_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    run(DATA / "invalid" / "Private Address.json")
    assert Document.objects.get().url == "http://127.0.0.1:8080/terms"
