"""Reading and importing Open Terms Archive declarations (platforms/declarations.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.forms.models import model_to_dict

from platforms.declarations import (
    DeclarationError,
    declaration_paths,
    declarations_import,
    load_declaration,
    parse_declaration,
)
from platforms.models import Document, Platform
from snapshots.net_guard import AddressPolicy
from tests.factories import PlatformFactory

DATA = Path(__file__).resolve().parent.parent / "data" / "declarations"
VALID, PARTIAL, INVALID = DATA / "valid", DATA / "partial", DATA / "invalid"
PUBLIC_ONLY = AddressPolicy()
# The fixtures' hosts are invented: resolving them would only wait on DNS. Tests of the
# address check use literal IPs and localhost, which need no DNS server.
ANYWHERE = AddressPolicy(allow_private=True)


def write(folder: Path, name: str, declaration: dict) -> Path:
    path = folder / f"{name}.json"
    path.write_text(json.dumps(declaration), encoding="utf-8")
    return path


def rows() -> dict[str, list]:
    def dump(model):
        return sorted(
            tuple(sorted((k, str(v)) for k, v in model_to_dict(o).items()))
            for o in model.objects.all()
        )

    return {"platforms": dump(Platform), "documents": dump(Document)}


# Reading ---------------------------------------------------------------------------------


def test_it_reads_a_declaration_into_documents() -> None:
    declaration = load_declaration(VALID / "Example Music.json", policy=ANYWHERE)
    assert (declaration.name, declaration.slug, declaration.skipped) == (
        "Example Music",
        "example-music",
        (),
    )
    terms, privacy, ai = declaration.documents
    assert (terms.kind, terms.title, terms.url, terms.fetcher) == (
        "terms_of_service",
        "Example Music Terms of Service",
        "https://music.example/legal/terms",
        "http",
    )
    assert terms.select == ("main article.terms",)
    assert terms.remove == (".back-to-top", "#language-picker")
    assert (privacy.kind, privacy.fetcher) == ("privacy_policy", "browser")
    assert privacy.select == ("#privacy", ".privacy-annex")
    assert (ai.kind, ai.remove) == ("ai_policy", ("aside.related",))


def test_it_reads_the_older_documents_key_and_pages_without_a_selector() -> None:
    (doc,) = load_declaration(VALID / "Example Podcasts.json", policy=ANYWHERE).documents
    assert (doc.url, doc.select, doc.remove) == ("https://podcasts.example/terms.pdf", (), ())


def test_it_skips_history_files_and_searches_folders() -> None:
    files, ignored = declaration_paths([VALID, PARTIAL / "Example Video.json"])
    assert [f.name for f in files] == [
        "Example Music.json",
        "Example Podcasts.json",
        "Example Video.json",
    ]
    assert ignored == [f"{VALID / 'Example Music.history.json'}: history file"]


def test_it_reports_each_document_it_cannot_honour() -> None:
    declaration = load_declaration(PARTIAL / "Example Video.json", policy=ANYWHERE)
    assert [d.terms_type for d in declaration.documents] == ["Terms of Service"]
    assert declaration.skipped == (
        "terms.Privacy Policy: custom filters (removeTrackingParams, removeDates) "
        "are not supported",
        "terms.Community Guidelines: combines 2 pages into one document (not supported)",
        "terms.Copyright Claims Policy: range selectors (startBefore/endBefore…) are not supported",
        "terms.Deceased Users Policy: unknown terms type (not in platforms.kinds.OTA_TERMS_TYPES)",
    )


@pytest.mark.parametrize(
    ("name", "field", "message"),
    [
        ("Invalid JSON", "", "not valid JSON (line 6, column 23"),
        ("Missing Fetch", "terms.Privacy Policy.fetch", "the URL to fetch is required"),
        (
            "Wrong Select",
            "terms.Terms of Service.select[1]",
            "expected a CSS selector, a range selector or a list of them",
        ),
        (
            "Javascript URL",
            "terms.Terms of Service.fetch",
            "'javascript:alert(document.cookie)': Document URLs must start with http:// or https://",
        ),
        (
            "Private Address",
            "terms.Terms of Service.fetch",
            "'http://127.0.0.1:8080/terms': 127.0.0.1 is a private or reserved address",
        ),
    ],
)
def test_it_names_the_file_and_the_field_of_a_malformed_declaration(
    name: str, field: str, message: str
) -> None:
    path = INVALID / f"{name}.json"
    policy = PUBLIC_ONLY if name == "Private Address" else ANYWHERE
    with pytest.raises(DeclarationError) as caught:
        load_declaration(path, policy=policy)
    assert caught.value.path == str(path)
    assert caught.value.field == field
    assert caught.value.message.startswith(message)
    assert str(caught.value).startswith(f"{path}: ")


@pytest.mark.parametrize(
    ("declaration", "field", "message"),
    [
        ([], "", "expected a JSON object"),
        ({"terms": {}}, "name", "the service name is required"),
        ({"name": "!!!", "terms": {}}, "name", "'!!!' gives no usable slug"),
        ({"name": "X", "terms": {}}, "terms", "expected an object of terms types"),
        (
            {"name": "X", "terms": {"Privacy Policy": "https://x.example/"}},
            "terms.Privacy Policy",
            "expected an object",
        ),
        (
            {"name": "X", "terms": {"Privacy Policy": {"fetch": "https://u:p@x.example/"}}},
            "terms.Privacy Policy.fetch",
            "'https://u:p@x.example/': Document URLs must not contain a user name or password.",
        ),
        (
            {
                "name": "X",
                "terms": {"Privacy Policy": {"fetch": "https://x.example/", "select": "p["}},
            },
            "terms.Privacy Policy.select",
            "CSS selector 'p[' does not parse",
        ),
        (
            {
                "name": "X",
                "terms": {
                    "Privacy Policy": {
                        "fetch": "https://x.example/",
                        "remove": {"startBefore": "h1"},
                    }
                },
            },
            "terms.Privacy Policy.remove",
            "expected a CSS selector, a range selector or a list of them",
        ),
        (
            {
                "name": "X",
                "terms": {
                    "Privacy Policy": {"fetch": "https://x.example/", "executeClientScripts": "yes"}
                },
            },
            "terms.Privacy Policy.executeClientScripts",
            "expected true or false",
        ),
        (
            {
                "name": "X",
                "terms": {"Privacy Policy": {"fetch": "https://x.example/", "filter": "strip"}},
            },
            "terms.Privacy Policy.filter",
            "expected a list of filter names",
        ),
        (
            {
                "name": "X",
                "terms": {"Privacy Policy": {"combine": [{"fetch": "http://10.0.0.7/p"}]}},
            },
            "terms.Privacy Policy.combine[0].fetch",
            "'http://10.0.0.7/p': 10.0.0.7 is a private or reserved address",
        ),
        (
            {"name": "X", "terms": {"Privacy Policy": {"fetch": "http://localhost:8000/p"}}},
            "terms.Privacy Policy.fetch",
            "'http://localhost:8000/p': localhost resolves to forbidden address",
        ),
    ],
)
def test_it_refuses_declarations_that_break_the_format(
    declaration: object, field: str, message: str
) -> None:
    private = "10.0.0.7" in message or "localhost" in message
    with pytest.raises(DeclarationError) as caught:
        parse_declaration(declaration, path="X.json", policy=PUBLIC_ONLY if private else ANYWHERE)
    assert (caught.value.field, caught.value.message[: len(message)]) == (field, message)


def test_it_accepts_private_addresses_when_fetching_them_is_allowed() -> None:
    path = INVALID / "Private Address.json"
    (doc,) = load_declaration(path, policy=ANYWHERE).documents
    assert doc.url == "http://127.0.0.1:8080/terms"


def test_it_imports_a_combine_of_one_page_as_that_page() -> None:
    declaration = parse_declaration(
        {
            "name": "Example Books",
            "terms": {
                "Terms of Service": {
                    "select": "#terms",
                    "executeClientScripts": True,
                    "combine": [{"fetch": "https://books.example/terms"}],
                }
            },
        },
        path="Example Books.json",
        policy=ANYWHERE,
    )
    (doc,) = declaration.documents
    assert (doc.url, doc.select, doc.fetcher) == (
        "https://books.example/terms",
        ("#terms",),
        "browser",
    )


# Importing -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_creates_platforms_and_documents() -> None:
    report = declarations_import(paths=[VALID], policy=ANYWHERE)
    assert report.ok
    assert report.imported == [
        f"{VALID / 'Example Music.json'}: 3 documents",
        f"{VALID / 'Example Podcasts.json'}: 1 document",
    ]
    music = Platform.objects.get(slug="example-music")
    assert (music.name, music.homepage) == ("Example Music", "https://music.example/")
    privacy = music.documents.get(kind="privacy_policy")
    assert privacy.title == "Example Music Privacy Policy"
    assert privacy.url == "https://music.example/legal/privacy"
    assert (privacy.fetcher, privacy.select, privacy.remove) == (
        "browser",
        ["#privacy", ".privacy-annex"],
        [],
    )
    assert Document.objects.count() == 4
    assert report.lines()[-2:] == ["platforms: 2 created", "documents: 4 created"]


@pytest.mark.django_db
def test_it_changes_nothing_when_imported_twice() -> None:
    declarations_import(paths=[VALID, PARTIAL], policy=ANYWHERE)
    before = rows()
    report = declarations_import(paths=[VALID, PARTIAL], policy=ANYWHERE)
    assert rows() == before
    assert report.lines()[-2:] == ["platforms: 3 unchanged", "documents: 5 unchanged"]


@pytest.mark.django_db
def test_it_updates_what_nobody_edited_and_keeps_what_an_admin_did(tmp_path: Path) -> None:
    source = json.loads((VALID / "Example Music.json").read_text())
    path = write(tmp_path, "Example Music", source)
    declarations_import(paths=[path], policy=ANYWHERE)
    # An admin fixes the terms' selector and adds an ignore pattern to the AI policy.
    terms = Document.objects.get(kind="terms_of_service")
    terms.select = ["#terms-v2"]
    terms.save()
    ai = Document.objects.get(kind="ai_policy")
    ai.ignore_patterns = ["^Last updated"]
    ai.save()

    source["terms"]["Terms of Service"]["select"] = "main .terms-new"
    source["terms"]["Generative AI Policy"]["select"] = "#ai"
    source["terms"]["Privacy Policy"]["fetch"] = "https://music.example/privacy-policy"
    report = declarations_import(paths=[write(tmp_path, "Example Music", source)], policy=ANYWHERE)

    terms.refresh_from_db()
    ai.refresh_from_db()
    assert terms.select == ["#terms-v2"]  # kept
    assert (ai.select, ai.ignore_patterns) == (["#ai"], ["^Last updated"])  # updated, pattern kept
    # The privacy policy moved: the same document follows it.
    assert Document.objects.get(kind="privacy_policy").url == "https://music.example/privacy-policy"
    assert Document.objects.count() == 3
    assert report.lines()[-3:] == [
        "platforms: 1 unchanged",
        "documents: 2 updated, 1 kept",
        "kept admin edits: document https://music.example/legal/terms",
    ]


@pytest.mark.django_db
def test_it_imports_the_good_files_and_reports_the_bad_ones() -> None:
    report = declarations_import(paths=[INVALID, VALID], policy=ANYWHERE)
    assert not report.ok
    assert [line.split(": ", 1)[0] for line in report.failed] == [
        str(INVALID / f"{name}.json")
        for name in (
            "Invalid JSON",
            "Javascript URL",
            "Missing Fetch",
            "Unknown Type",
            "Wrong Select",
        )
    ]
    assert f"{INVALID / 'Unknown Type.json'}: nothing in it can be imported" in report.failed
    assert report.skipped == [
        f"{INVALID / 'Unknown Type.json'}: terms.Deceased Users Policy: "
        "unknown terms type (not in platforms.kinds.OTA_TERMS_TYPES)"
    ]
    # Nothing of a bad file, everything of the good ones.
    assert sorted(Platform.objects.values_list("slug", flat=True)) == [
        "example-music",
        "example-podcasts",
        "private-address",  # private addresses are allowed in this run
    ]
    assert not Document.objects.filter(url__contains="missing.example").exists()


@pytest.mark.django_db
def test_it_imports_what_it_can_of_a_file_and_reports_the_rest() -> None:
    report = declarations_import(paths=[PARTIAL], policy=ANYWHERE)
    assert not report.ok
    assert len(report.skipped) == 4
    assert list(Document.objects.values_list("url", flat=True)) == ["https://video.example/terms"]


@pytest.mark.django_db
def test_it_rolls_back_a_file_the_database_refuses(tmp_path: Path) -> None:
    # The platform and the first document are fine; the second URL is too long for its
    # column, which only the database-side checks see. Nothing of the file stays.
    too_long = "https://long.example/" + "a" * 2000
    path = write(
        tmp_path,
        "Example Long",
        {
            "name": "Example Long",
            "terms": {
                "Terms of Service": {"fetch": "https://long.example/terms"},
                "Privacy Policy": {"fetch": too_long},
            },
        },
    )
    report = declarations_import(paths=[path], policy=ANYWHERE)
    assert report.failed == [
        f"{path}: the database refused it: "
        "Ensure this value has at most 2000 characters (it has 2021)."
    ]
    assert not Platform.objects.exists()
    assert not Document.objects.exists()


@pytest.mark.django_db
def test_it_uses_an_existing_platform_as_it_is() -> None:
    seeded = PlatformFactory(
        name="Example music", slug="examplemusic", homepage="https://www.music.example/"
    )
    report = declarations_import(paths=[VALID / "Example Music.json"], policy=ANYWHERE)
    assert report.ok
    seeded.refresh_from_db()
    assert (seeded.name, seeded.homepage) == ("Example music", "https://www.music.example/")
    assert seeded.documents.count() == 3
    assert Platform.objects.count() == 1


@pytest.mark.django_db
def test_it_refuses_private_addresses_unless_fetching_them_is_allowed() -> None:
    path = INVALID / "Private Address.json"
    assert not declarations_import(paths=[path], policy=PUBLIC_ONLY).ok
    assert not Document.objects.exists()
    assert declarations_import(paths=[path], policy=ANYWHERE).ok
    assert Document.objects.get().url == "http://127.0.0.1:8080/terms"


@pytest.mark.django_db
def test_it_reports_a_path_that_does_not_exist(tmp_path: Path) -> None:
    missing = tmp_path / "Nowhere.json"
    report = declarations_import(paths=[missing], policy=ANYWHERE)
    assert report.failed == [f"{missing}: no such file"]
