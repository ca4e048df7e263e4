"""The dates a document states about itself: "Effective: November 15, 2024", "Last updated 2024-11-15".

Only dates that follow an effective/updated phrase count, so a date in a URL or a clause
("data from 2019") is never mistaken for one. The statement is looked for at the top of
the text (first ~2,000 characters), then at the bottom (last ~2,000), where some policies
sign off; never in the middle, where "Effective January 1, we no longer..." is a clause.

Deliberately not read as the document's own date:
- "Effective until August 19, 2021" (when the shown version stops applying),
- "We're updating our terms on November 3, 2025" (an announcement of another version),
- numeric dates that read both ways (03/04/2024); 13/04/2024 and 2024-04-03 are fine.
"This version ... will go into effect on May 18, 2023" is the shown version's effective date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

_HEAD = 2000
_TAIL = 2000
_YEARS = range(1990, 2101)

_MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4,
    "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11, "nov": 11,
    "december": 12, "dec": 12,
}  # fmt: skip
# Longest names first, so "sept" is not read as "sep" + "t".
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_ORDINAL = r"(?:st|nd|rd|th)?"
_DATE = (
    rf"(?:(?P<mdy_month>{_MONTH})\.?\s+(?P<mdy_day>\d{{1,2}}){_ORDINAL},?\s+(?P<mdy_year>\d{{4}})"
    rf"|(?P<dmy_day>\d{{1,2}}){_ORDINAL}(?:\s+of)?\s+(?P<dmy_month>{_MONTH})\.?,?\s+"
    rf"(?P<dmy_year>\d{{4}})"
    r"|(?P<iso_year>\d{4})[-/.](?P<iso_month>\d{1,2})[-/.](?P<iso_day>\d{1,2})"
    r"|(?P<num_a>\d{1,2})[/.-](?P<num_b>\d{1,2})[/.-](?P<num_year>\d{4}))"
    r"(?!\d)"
)
# Markdown emphasis, brackets, colons, dashes, and "on"/"as of"/"from" between the phrase and
# the date; "until" is not among them, so "effective until ..." never matches.
_GAP = r"(?:[\s:*_\[\]()|,\-\u2013\u2014]|\bon\b|\bas\s+of\b|\bfrom\b|\bdate\b|\bis\b|\bsince\b){0,12}?"
_EFFECTIVE = re.compile(
    r"(?<![^\W_])(?<!-)(?:effective(?:\s+date)?|(?:go(?:es)?|come[s]?|enter(?:s|ed)?)\s+into\s+(?:effect|force)"
    r"|takes?\s+effect|in\s+effect)(?!\w)" + _GAP + _DATE,
    re.IGNORECASE,
)
_UPDATED = re.compile(
    r"(?<![^\W_])(?<!-)(?:(?:last\s+)?(?:updated|modified|revised|amended|changed)|last\s+update"
    r"|date\s+of\s+last\s+(?:revision|update|modification)|revision\s+date)(?!\w)" + _GAP + _DATE,
    re.IGNORECASE,
)


@dataclass(frozen=True)
class StatedDates:
    effective: date | None = None
    updated: date | None = None


def stated_dates(text: str) -> StatedDates:
    """The effective and last-updated dates the text states about itself (None when absent)."""
    head = text[:_HEAD]
    tail = text[max(_HEAD, len(text) - _TAIL) :]
    return StatedDates(
        effective=_stated(_EFFECTIVE, head, tail), updated=_stated(_UPDATED, head, tail)
    )


def _stated(pattern: re.Pattern[str], head: str, tail: str) -> date | None:
    # At the top the first statement is the document's own; at the bottom, the last one is
    # its sign-off (earlier ones there may belong to an announced or archived version).
    dates = (_date(m) for m in pattern.finditer(head))
    if (found := next((d for d in dates if d is not None), None)) is not None:
        return found
    return next((d for d in reversed([_date(m) for m in pattern.finditer(tail)]) if d), None)


def _date(match: re.Match[str]) -> date | None:
    g = match.groupdict()
    if g["mdy_year"]:
        parts = (g["mdy_year"], _MONTHS[g["mdy_month"].lower()], g["mdy_day"])
    elif g["dmy_year"]:
        parts = (g["dmy_year"], _MONTHS[g["dmy_month"].lower()], g["dmy_day"])
    elif g["iso_year"]:
        parts = (g["iso_year"], g["iso_month"], g["iso_day"])
    else:
        day_month = _unambiguous(int(g["num_a"]), int(g["num_b"]))
        if day_month is None:
            return None
        parts = (g["num_year"], day_month[1], day_month[0])
    year, month, day = (int(p) for p in parts)
    if year not in _YEARS:
        return None
    try:
        return date(year, month, day)
    except ValueError:  # February 30th and friends
        return None


def _unambiguous(a: int, b: int) -> tuple[int, int] | None:
    """(day, month) when only one reading is a date, or both readings are the same date."""
    if a == b or (a > 12 and b <= 12):
        return a, b
    if b > 12 and a <= 12:
        return b, a
    return None
