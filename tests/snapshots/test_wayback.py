"""snapshots.wayback: pure CDX and capture-URL handling, archive error pages, the rate limiter."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, date, datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from snapshots import wayback
from tests.snapshots.fake_wayback import NOT_ARCHIVED, REDIRECT_NOTICE, FakeClock

BASE = "https://web.archive.org"
HEADER = ["timestamp", "original", "statuscode", "digest", "mimetype"]


def row(ts: str, digest: str = "D", status: str = "200") -> list[str]:
    return [ts, "https://docs.example/terms?lang=en", status, digest, "text/html"]


def test_it_builds_the_cdx_query_for_distinct_successful_captures_of_one_url():
    url = wayback.cdx_query_url(
        BASE,
        "https://docs.example/terms?lang=en&x=1",
        since=date(2023, 1, 1),
        until=date(2024, 6, 30),
        limit=500,
        resume_key="abc def!",
    )
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{BASE}/cdx/search/cdx"
    query = parse_qs(parts.query)
    assert query == {
        "url": ["https://docs.example/terms?lang=en&x=1"],
        "output": ["json"],
        "filter": ["statuscode:200"],
        "collapse": ["digest"],
        "fl": ["timestamp,original,statuscode,digest,mimetype"],
        "from": ["20230101000000"],
        "to": ["20240630235959"],
        "limit": ["500"],
        "showResumeKey": ["true"],
        "resumeKey": ["abc def!"],
    }
    bare = parse_qs(urlsplit(wayback.cdx_query_url(BASE + "/", "https://x.example/")).query)
    assert "from" not in bare and "limit" not in bare and "resumeKey" not in bare


def test_it_parses_captures_oldest_first_with_the_resume_key():
    body = json.dumps(
        [HEADER, row("20240102030405", "B"), row("20230102030405", "A"), [], ["key+2024!"]]
    )
    page = wayback.parse_cdx(body.encode())
    assert [c.timestamp for c in page.captures] == ["20230102030405", "20240102030405"]
    assert page.captures[0].captured_at == datetime(2023, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert page.captures[0].original == "https://docs.example/terms?lang=en"
    assert page.captures[0].digest == "A"
    assert page.resume_key == "key+2024!"


def test_it_reads_an_empty_list_as_no_captures():
    assert wayback.parse_cdx(b"[]").captures == []
    assert wayback.parse_cdx(json.dumps([HEADER]).encode()).captures == []


def test_it_accepts_fields_in_any_order_and_drops_non_200_rows():
    body = json.dumps(
        [
            ["original", "timestamp", "statuscode"],
            ["https://a.example/", "20230101000000", "200"],
            ["https://a.example/", "20230102000000", "302"],
        ]
    )
    assert [c.timestamp for c in wayback.parse_cdx(body).captures] == ["20230101000000"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<!DOCTYPE html><html><body>Wayback Machine is down</body></html>", "not JSON"),
        (json.dumps([HEADER, row("20230101000000")])[:-7].encode(), "not JSON"),
        (b"", "not JSON"),
        (b'{"error": "busy"}', "JSON dict"),
        (json.dumps([["a", "b"], ["1", "2"]]).encode(), "no field header"),
        (json.dumps([HEADER, ["20230101000000", "x"]]).encode(), "does not match"),
        (json.dumps([HEADER, row("2023-01-01")]).encode(), "bad timestamp"),
        (json.dumps([HEADER, row("20230101000000"), [], [1, 2]]).encode(), "resume key"),
    ],
    ids=["html", "truncated", "empty-body", "object", "no-header", "short-row", "timestamp", "key"],
)
def test_it_refuses_garbage_from_the_cdx_server(body, message):
    with pytest.raises(wayback.CdxError, match=message):
        wayback.parse_cdx(body)


def test_it_builds_and_reads_raw_capture_urls():
    url = wayback.capture_url(BASE + "/", "20240102030405", "https://docs.example/t?lang=en")
    assert url == f"{BASE}/web/20240102030405id_/https://docs.example/t?lang=en"
    ref = wayback.parse_capture_url(url, BASE)
    assert ref == wayback.CaptureRef("20240102030405", "https://docs.example/t?lang=en", raw=True)
    assert ref.captured_at == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    replay = wayback.parse_capture_url(f"{BASE}/web/20240102030405/https://d.example/", BASE)
    assert replay is not None and not replay.raw
    assert wayback.parse_capture_url("https://docs.example/web/20240102030405id_/x", BASE) is None
    assert wayback.parse_capture_url(f"{BASE}/web/2024id_/https://d.example/", BASE) is None
    assert wayback.parse_capture_url(f"{BASE}/details/x", BASE) is None
    prefixed = "http://127.0.0.1:8080/wayback"
    ref = wayback.parse_capture_url(
        f"{prefixed}/web/20240102030405id_/https://d.example/", prefixed
    )
    assert ref is not None and ref.original == "https://d.example/"


def test_it_recognises_the_archives_own_pages():
    assert wayback.archive_error(REDIRECT_NOTICE) == "a redirect notice"
    assert wayback.archive_error(NOT_ARCHIVED) == "a 'not archived' page"
    assert (
        wayback.archive_error("<p>We may use the Wayback Machine to check our terms.</p>") is None
    )


def test_it_spaces_requests_evenly_and_never_exceeds_the_rate():
    clock = FakeClock()
    limiter = wayback.RateLimiter(24, 60.0, clock=clock.monotonic, sleep=clock.sleep)
    times = []
    for _ in range(100):
        limiter.wait("web.archive.org")
        times.append(clock.now)
    assert max(sum(1 for t in times if start <= t < start + 60) for start in times) == 24
    assert min(b - a for a, b in itertools.pairwise(times)) >= 2.5
    assert times[-1] - times[0] < 99 * 2.5 * 1.02  # and not much slower than allowed


def test_it_holds_every_request_back_after_a_pause():
    clock = FakeClock()
    limiter = wayback.RateLimiter(3, 1.0, clock=clock.monotonic, sleep=clock.sleep)
    limiter.wait()
    limiter.pause(30)
    limiter.wait()
    assert clock.sleeps == [pytest.approx(30)]
    limiter.pause(5)
    clock.now += 10  # the pause has passed by itself: only the spacing applies
    limiter.wait()
    assert clock.sleeps == [pytest.approx(30)]


def test_it_waits_for_the_shared_throttle_as_well():
    class Shared:
        keys: list[str] = []

        def wait(self, host: str) -> None:
            self.keys.append(host)

    shared = Shared()
    clock = FakeClock()
    limiter = wayback.RateLimiter(1, 1.0, clock=clock.monotonic, sleep=clock.sleep, shared=shared)
    limiter.wait("x")
    limiter.wait("x")
    assert shared.keys == ["wayback", "wayback"]


def test_it_refuses_requests_that_leave_the_archive():
    clock = FakeClock()
    gate = wayback.ArchiveGate(
        wayback.RateLimiter(3, 1.0, clock=clock.monotonic, sleep=clock.sleep), "Web.Archive.org"
    )
    gate.wait("web.archive.org")
    with pytest.raises(wayback.OffArchiveError, match=r"docs\.example"):
        gate.wait("docs.example")


def test_it_backs_off_exponentially_up_to_a_cap():
    delays = [wayback.backoff_delay(n, base=5, cap=30) for n in range(5)]
    assert delays == [5, 10, 20, 30, 30]


def test_it_counts_the_next_slot_from_when_the_last_request_finished():
    clock = FakeClock()
    limiter = wayback.RateLimiter(3, 1.0, clock=clock.monotonic, sleep=clock.sleep)
    limiter.wait()
    clock.now += 0.25  # the request took a while to arrive and be answered
    limiter.done()
    limiter.wait()
    assert clock.sleeps == [pytest.approx(1 / 3 * 1.01)]
