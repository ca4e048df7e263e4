"""Keyset cursors: a page starts right after (or before) the entry a cursor names.

Entries sort newest first by (moment, rank, id): a change's moment is when it was observed,
a statement's is the start of its day (UTC), and at the same moment changes (rank 1) come
before statements (rank 0). A cursor is that key as text, e.g. "c1729159200000000-42":
readable in a URL, stable, and cheap to turn into an indexed WHERE clause whatever the depth.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

CHANGE, STATEMENT = 1, 0
_PREFIX = {CHANGE: "c", STATEMENT: "s"}
_RANK = {"c": CHANGE, "s": STATEMENT}
_TOKEN = re.compile(r"([cs])(-?[0-9]{1,18})-([0-9]{1,18})")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class InvalidCursor(ValueError):
    pass


@dataclass(frozen=True, order=True)
class Key:
    moment: datetime
    rank: int
    id: int

    @property
    def token(self) -> str:
        micros = (self.moment - _EPOCH) // timedelta(microseconds=1)
        return f"{_PREFIX[self.rank]}{micros}-{self.id}"

    @property
    def day(self) -> date:
        return self.moment.astimezone(UTC).date()


def start_of_day(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def change_key(observed_at: datetime, pk: int) -> Key:
    return Key(observed_at, CHANGE, pk)


def statement_key(day: date, pk: int) -> Key:
    return Key(start_of_day(day), STATEMENT, pk)


def parse_cursor(token: str) -> Key:
    match = _TOKEN.fullmatch(token.strip())
    if not match:
        raise InvalidCursor("This page link is not valid.")
    prefix, micros, pk = match.groups()
    try:
        moment = _EPOCH + timedelta(microseconds=int(micros))
    except OverflowError as exc:
        raise InvalidCursor("This page link is not valid.") from exc
    if not (datetime(1900, 1, 1, tzinfo=UTC) <= moment <= datetime(2200, 1, 1, tzinfo=UTC)):
        raise InvalidCursor("This page link is not valid.")
    return Key(moment, _RANK[prefix], int(pk))
