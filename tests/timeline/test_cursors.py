from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from timeline.cursors import InvalidCursor, change_key, parse_cursor, statement_key


def test_it_round_trips_keys():
    key = change_key(datetime(2024, 10, 17, 9, 30, 1, 123456, tzinfo=UTC), 42)
    assert parse_cursor(key.token) == key
    skey = statement_key(date(2024, 5, 14), 7)
    assert parse_cursor(skey.token) == skey
    assert skey < change_key(datetime(2024, 5, 14, tzinfo=UTC), 1)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "x",
        "c",
        "c1",
        "c1-",
        "c-1",
        "z1-1",
        "c1-1-1",
        "c" + "9" * 19 + "-1",
        "c1-" + "9" * 19,
        "c99999999999999999-1",
        "s-99999999999999999-1",
        "c1.5-1",
        "c\uff11-1",
    ],
)
def test_it_refuses_garbage(token):
    with pytest.raises(InvalidCursor):
        parse_cursor(token)
