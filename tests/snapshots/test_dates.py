from __future__ import annotations

from datetime import date, timedelta

import pytest

from snapshots.dates import StatedDates, stated_dates
from tests.corpus import OTA_DIR, versions

FILLER = "The service lets you post and share content with other people. " * 40  # ~2,600 chars


@pytest.mark.parametrize(
    ("text", "effective", "updated"),
    [
        ("Last updated: November 15, 2024\n\nTerms.", None, date(2024, 11, 15)),
        ("Effective as of 15 November 2024", date(2024, 11, 15), None),
        ("Effective date: 2024-11-15", date(2024, 11, 15), None),
        ("Last modified on 3 March 2023.", None, date(2023, 3, 3)),
        ("Updated Sept. 29, 2023", None, date(2023, 9, 29)),
        ("LAST UPDATED: Nov 1st, 2024", None, date(2024, 11, 1)),
        ("Revised: 2024/01/05", None, date(2024, 1, 5)),
        ("These terms take effect on January 1, 2025.", date(2025, 1, 1), None),
        ("This version will go into effect on May 18, 2023.", date(2023, 5, 18), None),
        ("**Effective:** July 28, 2025", date(2025, 7, 28), None),
        ("[_Effective August 11, 2020_](https://example.com/updates)", date(2020, 8, 11), None),
        ("Effective 2 April 2026 | [Archived versions](/archive)", date(2026, 4, 2), None),
        ("Effective: 2024-11-15T09:30:00Z", date(2024, 11, 15), None),
        (
            "# Terms\n\nEffective: March 1, 2024\n\nLast updated: February 20, 2024",
            date(2024, 3, 1),
            date(2024, 2, 20),
        ),
    ],
)
def test_it_reads_the_dates_a_document_states(
    text: str, effective: date | None, updated: date | None
) -> None:
    assert stated_dates(text) == StatedDates(effective=effective, updated=updated)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Effective Date: 13/04/2024", date(2024, 4, 13)),
        ("Effective Date: 04/13/2024", date(2024, 4, 13)),
        ("Effective Date: 04.04.2024", date(2024, 4, 4)),
        ("Effective Date: 03/04/2024", None),
        ("Effective Date: 3.4.2024", None),
    ],
)
def test_it_reads_numeric_dates_only_when_unambiguous(text: str, expected: date | None) -> None:
    assert stated_dates(text).effective == expected


@pytest.mark.parametrize(
    "text",
    [
        "(Effective until August 19, 2021)",
        "We're updating our terms on November 3, 2025. See what's coming.",
        "Our Privacy Policy has been updated.\n\nYour Privacy Matters, since 2019.",
        "[Download PDF](https://example.com/site-assets/privacy-june-18th-2020/policy.pdf)",
        "The effectiveness of our ads was measured on 1 May 2024.",
        "Effective February 30, 2024",
        "Effective: 2024-13-45",
        "Last updated: 99/99/9999",
        "Effective 12 May 2150",
        "Effective 1 January 0001",
        "Updated: Smarch 12, 2024",
        "",
        "Effective",
        "\x00\ufffd Effective:\x00 \U0001f600 2024-",
        FILLER + "Effective January 1, 2020, we no longer sell ads. " + FILLER,
    ],
)
def test_it_reads_nothing_from_text_that_states_no_date(text: str) -> None:
    assert stated_dates(text) == StatedDates()


def test_it_reads_a_sign_off_at_the_bottom_and_prefers_the_top() -> None:
    bottom = FILLER + FILLER + "\n\nLast updated: May 2, 2024\n"
    both = "Last updated: June 1, 2024\n\n" + bottom

    assert stated_dates(bottom).updated == date(2024, 5, 2)
    assert stated_dates(both).updated == date(2024, 6, 1)


def test_it_copes_with_huge_and_binary_text() -> None:
    assert stated_dates("x " * 2_500_000 + "\nEffective: May 1, 2024") == StatedDates(
        effective=date(2024, 5, 1)
    )
    assert stated_dates(bytes(range(256)).decode("latin-1") * 1000) == StatedDates()


@pytest.mark.parametrize(
    ("path", "effective"),
    [
        ("google/privacy-policy/2026-05-26T124145.md", date(2026, 4, 2)),  # Effective 2 April 2026
        (
            "google/privacy-policy/2020-07-29T143020.md",
            date(2020, 3, 31),
        ),  # Effective March 31, 2020
        ("linkedin/privacy-policy/2021-10-07T173012.md", date(2020, 8, 11)),  # [_Effective ..._]
        # "We're updating our terms on November 3, 2025" above "Effective September 18, 2024".
        ("linkedin/privacy-policy/2025-09-18T061339.md", date(2024, 9, 18)),
        ("twitter/privacy-policy/2024-11-15T181512.md", date(2024, 11, 15)),  # **Effective: ...**
        # "This version ... will go into effect on May 18, 2023" (the current one is below).
        ("twitter/privacy-policy/2023-04-18T184223.md", date(2023, 5, 18)),
        # Only a sign-off at the very end: "**Effective:** June 18, 2020".
        ("twitter/privacy-policy/2020-07-29T133237.md", date(2020, 6, 18)),
        # "(Effective until August 19, 2021)" at the top; its own date is the last sign-off.
        ("twitter/privacy-policy/2021-07-20T172203.md", date(2020, 6, 18)),
    ],
)
def test_it_reads_the_corpus_documents_dates(path: str, effective: date) -> None:
    dates = stated_dates((OTA_DIR / path).read_text(encoding="utf-8"))

    assert dates == StatedDates(effective=effective, updated=None)


def test_it_finds_a_plausible_effective_date_in_every_corpus_version() -> None:
    for version in versions():
        effective = stated_dates(version.text()).effective
        recorded = version.committed_at.date()

        assert effective is not None, version.path
        # Announced versions state a date up to a month or so ahead of when they were seen.
        assert date(2019, 1, 1) <= effective <= recorded + timedelta(days=45), version.path
