"""document_backfill against a fake Wayback Machine on loopback (tests/snapshots/fake_wayback.py).

The limiters run on a fake clock: every wait is recorded, none is slept for real.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from werkzeug.wrappers import Response

from snapshots.analysis import analyze_change_texts
from snapshots.backfill import (
    WAYBACK_FETCHER,
    Archive,
    ArchiveUnavailable,
    BackfillError,
    document_backfill,
)
from snapshots.extract import ExtractRules, extract
from snapshots.models import Change, ChangeKind, Check, Version
from snapshots.recording import text_record
from snapshots.services import document_check
from tests.corpus import documents
from tests.factories import DocumentFactory
from tests.pages import wrap_in_noisy_html
from tests.snapshots.fake_wayback import (
    NOT_ARCHIVED,
    REDIRECT_NOTICE,
    FakeClock,
    fake_wayback,
    timestamp,
)

pytestmark = pytest.mark.django_db

URL = "https://docs.example/terms"
T0 = datetime(2023, 1, 10, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
def wayback():
    with fake_wayback() as fake:
        yield fake


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture(autouse=True)
def _archive_settings(settings):
    settings.WAYBACK_RETRIES = 2
    settings.WAYBACK_BACKOFF = 5.0
    settings.WAYBACK_MAX_WAIT = 300.0
    settings.WAYBACK_MAX_FAILURES = 3
    settings.WAYBACK_CDX_PAGE_SIZE = 5000


def run(doc, wayback, clock, **kwargs):
    archive = Archive.from_settings(
        base_url=wayback.base_url, clock=clock.monotonic, sleep=clock.sleep
    )
    return document_backfill(document_id=doc.pk, archive=archive, **kwargs)


def terms(label: str, sections: int = 12) -> str:
    """A plausible policy of about 25 words a section; `label` makes its text distinct."""
    parts = [f"# Terms of Service ({label})\n"]
    for n in range(1, sections + 1):
        parts.append(
            f"## {n}. Your content\n\nYou keep ownership of what you upload to the {label} "
            f"service. We host it, show it to the people you choose, and keep clause {n} "
            "of these terms in force until you delete your account.\n"
        )
    return "\n".join(parts)


def html(text: str, seed: int = 0) -> str:
    return wrap_in_noisy_html(text, seed=seed)


def extracted(text: str, url: str = URL) -> str:
    page = html(text).encode()
    return extract(
        page, content_type="text/html; charset=utf-8", rules=ExtractRules(), base_url=url
    )


def chain(doc) -> list[Version]:
    versions = {v.previous_id: v for v in Version.objects.filter(document=doc)}
    out, node = [], versions.get(None)
    while node is not None:
        out.append(node)
        node = versions.get(node.pk)
    assert len(out) == len(versions), "the versions do not form one chain"
    return out


def assert_consistent(doc) -> list[Version]:
    """The chain's invariants: linear, in time order, one change per version from its predecessor."""
    versions = chain(doc)
    times = [v.observed_at for v in versions]
    assert times == sorted(times)
    for before, after in itertools.pairwise(versions):
        assert before.sha256 != after.sha256
        change = Change.objects.get(new_version=after)
        assert change.old_version_id == before.pk
        assert change.observed_at == after.observed_at
    assert not Change.objects.filter(new_version=versions[0]).exists() if versions else True
    assert Change.objects.filter(document=doc).count() == max(0, len(versions) - 1)
    urls = [v.source_url for v in versions if v.source_url]
    assert len(urls) == len(set(urls))
    return versions


def labels(versions, texts: dict[str, str]) -> list[str]:
    by_sha = {extracted(text): label for label, text in texts.items()}
    return [by_sha[v.text] for v in versions]


def nothing_written():
    return (
        not Version.objects.exists() and not Change.objects.exists() and not Check.objects.exists()
    )


# --- real histories -----------------------------------------------------------------------------

DOCS = documents()


def capture_text(capture) -> str:
    return extract(
        capture.body, content_type=capture.content_type, rules=ExtractRules(), base_url=URL
    )


def capture_time(capture) -> datetime:
    return datetime.strptime(capture.timestamp, "%Y%m%d%H%M%S").replace(tzinfo=UTC)


@pytest.mark.parametrize("key", sorted(DOCS), ids=lambda k: k[0])
def test_it_records_a_real_history_as_exactly_its_distinct_texts(wayback, clock, key):
    # The first 14 versions hold both kinds of flip-flop the corpus has (A → B → A, and
    # Google's A → B → A → B → A) at a fraction of the full histories' cost.
    history = [(v.committed_at.replace(microsecond=0), v.text()) for v in DOCS[key][:14]]
    captures = wayback.add_history(URL, history)
    doc = DocumentFactory(url=URL)

    report = run(doc, wayback, clock)

    # The byte-identical re-captures are collapsed by the CDX query and never fetched.
    listed = [c for n, c in enumerate(captures) if n == 0 or c.digest != captures[n - 1].digest]
    assert report.listed == len(listed) == wayback.capture_requests
    # Expected: each distinct text at its first capture, repeats in a row merged. (Most
    # re-captures extract to their version's text; LinkedIn's nested lists extract with
    # the noise's line breaks, so some of its re-captures are distinct texts too.)
    texts = [capture_text(capture) for capture in listed]
    expected: list[tuple[datetime, str, str]] = []
    for capture, text in zip(listed, texts, strict=True):
        if not expected or expected[-1][1] != text:
            url = wayback.capture_url(capture.timestamp, URL)
            expected.append((capture_time(capture), text, url))
    versions = assert_consistent(doc)
    assert [(v.observed_at, v.text, v.source_url) for v in versions] == expected
    assert {v.source for v in versions} == {"archive"} and all(v.snapshot_id for v in versions)
    if key[0] != "LinkedIn":
        assert len(versions) == len(
            {v.committed_at for v in DOCS[key]} & {v.observed_at for v in versions}
        )
    changes = Change.objects.filter(document=doc)
    assert not changes.filter(alertable=True).exists()
    assert not changes.filter(kind=ChangeKind.CHANGE, published_at__isnull=True).exists()
    assert not changes.exclude(kind=ChangeKind.CHANGE).filter(published_at__isnull=False).exists()
    assert report.versions == len(expected) and report.complete
    assert Check.objects.filter(document=doc, fetcher=WAYBACK_FETCHER).count() == report.listed

    # The same observations made by live checks give the same record, flip-flops included.
    twin = DocumentFactory(url="https://docs.example/twin")
    for capture, text in zip(listed, texts, strict=True):
        text_record(document=twin, text=text, observed_at=capture_time(capture))
    live = chain(twin)
    assert [(v.observed_at, v.sha256) for v in live] == [
        (v.observed_at, v.sha256) for v in versions
    ]

    def kinds(vs):
        return [
            (c.kind, c.published_at is None, c.retracted_at)
            for c in (Change.objects.get(new_version=v) for v in vs[1:])
        ]

    assert kinds(versions) == kinds(live)


def test_it_continues_a_rerun_without_fetching_or_recording_anything_twice(wayback, clock):
    texts = {label: terms(label) for label in "ABC"}
    wayback.add_history(URL, [(T0 + n * 30 * DAY, texts[label]) for n, label in enumerate("ABC")])
    doc = DocumentFactory(url=URL)
    first = run(doc, wayback, clock)
    requests = wayback.capture_requests

    again = run(doc, wayback, clock)

    assert first.versions == 3 and again.versions == 0
    assert again.already_recorded == again.listed == first.listed
    assert wayback.capture_requests == requests
    assert labels(assert_consistent(doc), texts) == ["A", "B", "C"]


def test_it_resumes_after_the_archive_fails_midway_and_ends_as_one_run_would(wayback, clock):
    texts = {label: terms(label) for label in "ABCDEFGH"}
    history = [(T0 + n * 20 * DAY, texts[label]) for n, label in enumerate("ABCDEFGH")]
    wayback.add_history(URL, history)
    doc = DocumentFactory(url=URL)
    wayback.fail_captures_after = 5

    stopped = run(doc, wayback, clock)

    assert "the archive is failing" in stopped.stopped and "503" in stopped.stopped
    assert len(stopped.failed) == 3  # three captures in a row, each tried three times
    assert wayback.capture_requests == 5 + 3 * 3
    assert labels(assert_consistent(doc), texts) == ["A", "B", "C"]

    wayback.fail_captures_after = None
    before = wayback.capture_requests
    resumed = run(doc, wayback, clock)

    assert resumed.complete and resumed.already_recorded == 5
    assert wayback.capture_requests - before == resumed.listed - 5
    versions = assert_consistent(doc)
    assert labels(versions, texts) == list("ABCDEFGH")
    assert [v.observed_at for v in versions] == [when for when, _ in history]
    assert Check.objects.filter(document=doc, fetcher=WAYBACK_FETCHER).count() == resumed.listed


# --- interleaving with what was recorded live --------------------------------------------------


class Page:
    def __init__(self) -> None:
        self.html = ""

    def __call__(self, request):
        return Response(self.html, content_type="text/html; charset=utf-8")


def test_it_interleaves_captures_with_versions_recorded_live(httpserver, wayback, clock):
    page = Page()
    httpserver.expect_request("/terms").respond_with_handler(page)
    url = httpserver.url_for("/terms")
    doc = DocumentFactory(url=url)
    texts = {label: terms(label) for label in "ABCDEF"}
    at = {
        "A": datetime(2023, 1, 1, tzinfo=UTC),
        "B": datetime(2023, 6, 1, tzinfo=UTC),
        "C-live": datetime(2024, 6, 1, tzinfo=UTC),
        "C": datetime(2024, 3, 1, tzinfo=UTC),
        "D": datetime(2024, 7, 15, tzinfo=UTC),
        "E-live": datetime(2024, 9, 1, tzinfo=UTC),
        "E": datetime(2024, 10, 1, tzinfo=UTC),
        "F": datetime(2024, 12, 1, tzinfo=UTC),
    }
    for seed, label in enumerate(["C", "E"]):
        page.html = html(texts[label], seed=100 + seed)
        document_check(document_id=doc.pk, now=at[f"{label}-live"])
    cited = Change.objects.get(document=doc)  # C → E, published and alerted live
    published_at = cited.published_at
    for seed, label in enumerate("ABCDEF"):
        wayback.add(at[label], url, html(texts[label], seed=seed))

    report = run(doc, wayback, clock)

    versions = assert_consistent(doc)
    extracted_labels = labels(versions, {k: v for k, v in texts.items()} | {})
    assert [
        (label, v.source, v.observed_at)
        for label, v in zip(extracted_labels, versions, strict=True)
    ] == [
        ("A", "archive", at["A"]),
        ("B", "archive", at["B"]),
        ("C", "live", at["C-live"]),  # seen earlier by the archive, but a live date stands
        ("D", "archive", at["D"]),
        ("E", "live", at["E-live"]),
    ]
    # The live change C → E is split by D: same id, date, publication and alertability,
    # now D → E with its diff recomputed; C → D is a new, never-alerted change.
    cited.refresh_from_db()
    assert (cited.old_version_id, cited.new_version_id) == (versions[3].pk, versions[4].pk)
    assert cited.published_at == published_at and cited.alertable
    assert cited.observed_at == at["E-live"]
    assert cited.diff == analyze_change_texts(versions[3].text, versions[4].text).diff
    for new in (versions[1], versions[2], versions[3]):
        change = Change.objects.get(new_version=new)
        assert not change.alertable and change.published_at and change.kind == ChangeKind.CHANGE
    assert Change.objects.get(new_version=versions[2]).observed_at == at["C-live"]
    assert report.versions == 3 and report.duplicates == 3
    details = dict(
        Check.objects.filter(document=doc, fetcher=WAYBACK_FETCHER).values_list(
            "final_url", "detail"
        )
    )
    assert "keeps its date" in details[wayback.capture_url(timestamp(at["C"]), url)]
    assert "live checks since 2024-09-01" in details[wayback.capture_url(timestamp(at["F"]), url)]
    assert "change" in details[wayback.capture_url(timestamp(at["D"]), url)]


def test_it_redates_an_archive_version_when_a_resumed_run_finds_it_earlier(wayback, clock):
    texts = {label: terms(label) for label in "ABC"}
    wayback.add(T0, URL, html(texts["A"], 1))
    early = wayback.add(T0 + 10 * DAY, URL, html(texts["B"], 2), status=500)
    wayback.add(T0 + 20 * DAY, URL, html(texts["B"], 3))
    wayback.add(T0 + 40 * DAY, URL, html(texts["C"], 4))
    doc = DocumentFactory(url=URL)
    first = run(doc, wayback, clock)
    assert [url for url, _ in first.failed] == [wayback.capture_url(early.timestamp, URL)]
    assert chain(doc)[1].observed_at == T0 + 20 * DAY

    early.status = 200
    second = run(doc, wayback, clock)

    versions = assert_consistent(doc)
    assert second.redated == 1 and second.versions == 0 and second.complete
    assert labels(versions, texts) == ["A", "B", "C"]
    assert versions[1].observed_at == T0 + 10 * DAY
    assert versions[1].source_url == wayback.capture_url(early.timestamp, URL)
    assert Change.objects.get(new_version=versions[1]).observed_at == T0 + 10 * DAY


# --- the live rules, for sparse captures --------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        # A → B → A back within the window: both changes kept, unpublished.
        ((0, 10, 12, 60), [ChangeKind.FLIP_FLOP, ChangeKind.FLIP_FLOP, ChangeKind.CHANGE]),
        # Back only after the window: two real changes.
        ((0, 10, 30, 60), [ChangeKind.CHANGE, ChangeKind.CHANGE, ChangeKind.CHANGE]),
    ],
    ids=["quick-return", "slow-return"],
)
def test_it_applies_the_flip_flop_rule_to_captures(wayback, clock, days, expected):
    texts = {"A": terms("A"), "B": terms("B"), "C": terms("C")}
    for n, (day, label) in enumerate(zip(days, "ABAC", strict=True)):
        wayback.add(T0 + day * DAY, URL, html(texts[label], n))
    doc = DocumentFactory(url=URL)

    report = run(doc, wayback, clock)

    versions = assert_consistent(doc)
    assert labels(versions, texts) == ["A", "B", "A", "C"]
    changes = [Change.objects.get(new_version=v) for v in versions[1:]]
    assert [c.kind for c in changes] == expected
    assert [c.published_at is not None for c in changes] == [k == "change" for k in expected]
    # As live: the excursion is retracted at the return, the return is born unpublished.
    retracted = T0 + 12 * DAY if expected[0] == ChangeKind.FLIP_FLOP else None
    assert [c.retracted_at for c in changes] == [retracted, None, None]
    assert report.flip_flops == expected.count(ChangeKind.FLIP_FLOP)
    doc.refresh_from_db()
    assert doc.unstable_since is None  # a flip-flop in 2023 says nothing about the page now


def test_it_restores_the_original_change_when_the_flip_flop_text_comes_back(wayback, clock):
    texts = {"A": terms("A"), "B": terms("B")}
    for n, label in enumerate("ABAB"):
        wayback.add(T0 + (10 + n) * DAY if n else T0, URL, html(texts[label], n))
    doc = DocumentFactory(url=URL)
    run(doc, wayback, clock)
    changes = [Change.objects.get(new_version=v) for v in assert_consistent(doc)[1:]]
    assert [c.kind for c in changes] == ["change", "flip_flop", "flip_flop"]
    assert changes[0].published_at is not None


def test_it_gives_the_same_record_whatever_order_the_captures_arrive_in(wayback, clock):
    texts = {"A": terms("A"), "B": terms("B"), "C": terms("C")}
    days_labels = [(0, "A"), (10, "B"), (12, "A"), (60, "C")]
    late = wayback.add(T0 + 12 * DAY, URL, html(texts["A"], 9), status=500)
    for n, (day, label) in enumerate(days_labels):
        if day != 12:
            wayback.add(T0 + day * DAY, URL, html(texts[label], n))
    doc = DocumentFactory(url=URL)
    run(doc, wayback, clock)  # the return to A fails: B → C looks like a real change
    assert [c.kind for c in Change.objects.filter(document=doc)] == ["change", "change"]
    late.status = 200
    run(doc, wayback, clock)  # now A → B → A is visible: the published A → B is withdrawn

    changes = [Change.objects.get(new_version=v) for v in assert_consistent(doc)[1:]]
    assert [c.kind for c in changes] == ["flip_flop", "flip_flop", "change"]
    assert changes[0].published_at is None and changes[0].retracted_at == T0 + 12 * DAY


def test_it_records_a_shrink_only_when_the_next_capture_confirms_it(wayback, clock):
    texts = {"A": terms("A", 30), "S": terms("S", 8), "B": terms("B", 30), "T": terms("T", 8)}
    wayback.add(T0, URL, html(texts["A"], 1))
    wayback.add(T0 + 10 * DAY, URL, html(texts["S"], 2))  # lost 3/4 of its words…
    wayback.add(T0 + 11 * DAY, URL, html(texts["S"], 3))  # …and stayed: a real shrink
    wayback.add(T0 + 20 * DAY, URL, html(texts["B"], 4))
    unconfirmed = wayback.add(T0 + 30 * DAY, URL, html(texts["T"], 5))  # a glitch
    wayback.add(T0 + 31 * DAY, URL, html(texts["B"], 6))
    last = wayback.add(T0 + 40 * DAY, URL, html(texts["S"], 7))  # nothing after it yet
    doc = DocumentFactory(url=URL)

    report = run(doc, wayback, clock)

    assert labels(assert_consistent(doc), texts) == ["A", "S", "B"]
    assert chain(doc)[1].observed_at == T0 + 10 * DAY
    skipped = dict(report.skipped)
    assert (
        "next capture did not confirm it"
        in skipped[wayback.capture_url(unconfirmed.timestamp, URL)]
    )
    assert report.unconfirmed == wayback.capture_url(last.timestamp, URL) and not report.complete

    wayback.add(T0 + 41 * DAY, URL, html(texts["S"], 8))
    again = run(doc, wayback, clock)  # the later capture confirms it
    assert labels(assert_consistent(doc), texts) == ["A", "S", "B", "S"]
    assert chain(doc)[-1].observed_at == T0 + 40 * DAY and again.complete


# --- hostile archives ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (
            Response("<!DOCTYPE html><title>Maintenance</title>", content_type="text/html"),
            "not JSON",
        ),
        (
            Response('[["timestamp","original"],["2023010100', content_type="application/json"),
            "not JSON",
        ),
        (Response('{"error": "x"}', content_type="application/json"), "JSON dict"),
        (Response("Forbidden", status=403), "HTTP 403"),
    ],
    ids=["html", "truncated-json", "object", "403"],
)
def test_it_stops_on_a_cdx_answer_that_is_not_a_capture_list(wayback, clock, answer, message):
    wayback.add(T0, URL, html(terms("A")))
    wayback.cdx_script.append(answer)
    doc = DocumentFactory(url=URL)
    with pytest.raises(BackfillError, match=message):
        run(doc, wayback, clock)
    assert nothing_written() and wayback.capture_requests == 0


def test_it_reports_an_empty_history_without_writing_anything(wayback, clock):
    doc = DocumentFactory(url=URL)
    report = run(doc, wayback, clock)
    assert report.listed == 0 and report.complete and nothing_written()


def test_it_waits_as_long_as_a_429_asks_before_asking_the_cdx_server_again(wayback, clock):
    wayback.add(T0, URL, html(terms("A")))
    wayback.cdx_script.append(
        Response("Too Many Requests", status=429, headers={"Retry-After": "7"})
    )
    doc = DocumentFactory(url=URL)

    report = run(doc, wayback, clock)

    assert report.versions == 1 and len(wayback.cdx_log) == 2
    assert pytest.approx(7) in clock.sleeps
    assert wayback.cdx_log[1][0] - wayback.cdx_log[0][0] < 5  # the wait was the fake clock's


def test_it_stops_when_the_archive_asks_for_a_longer_wait_than_it_allows(wayback, clock):
    wayback.add(T0, URL, html(terms("A")))
    wayback.cdx_script.append(Response("slow down", status=429, headers={"Retry-After": "3600"}))
    with pytest.raises(ArchiveUnavailable, match="wait 3600s"):
        run(DocumentFactory(url=URL), wayback, clock)
    assert len(wayback.cdx_log) == 1 and nothing_written()


def test_it_retries_a_failing_cdx_server_then_gives_a_clear_error(wayback, clock):
    wayback.add(T0, URL, html(terms("A")))
    wayback.cdx_script += [Response("oops", status=500)] * 3
    with pytest.raises(
        BackfillError, match=r"CDX query failed: server_error: HTTP 500 \(3 attempts\)"
    ):
        run(DocumentFactory(url=URL), wayback, clock)
    assert len(wayback.cdx_log) == 3 and clock.sleeps == [5.0, 10.0]
    assert nothing_written()


def test_it_reads_a_long_history_page_by_page_within_the_cdx_rate(wayback, clock, settings):
    settings.WAYBACK_CDX_PAGE_SIZE = 2
    texts = {label: terms(label) for label in "ABCDE"}
    for n, label in enumerate("ABCDE"):
        wayback.add(T0 + n * DAY, URL, html(texts[label], n))
    report = run(DocumentFactory(url=URL), wayback, clock)
    assert report.versions == 5 and len(wayback.cdx_log) == 3
    assert [log[1].get("resumeKey") for log in wayback.cdx_log] == [
        None,
        [f"{timestamp(T0 + DAY)}!"],
        [f"{timestamp(T0 + 3 * DAY)}!"],
    ]
    assert clock.sleeps.count(pytest.approx(60 / 24 * 1.01)) >= 2  # 24 CDX requests a minute


def test_it_skips_and_reports_captures_that_are_the_archives_own_pages(wayback, clock):
    texts = {"A": terms("A"), "B": terms("B")}
    wayback.add(T0, URL, html(texts["A"], 1))
    notice = wayback.add(T0 + 1 * DAY, URL, REDIRECT_NOTICE)
    missing = wayback.add(T0 + 2 * DAY, URL, NOT_ARCHIVED, status=404)
    image = wayback.add(T0 + 3 * DAY, URL, b"\x89PNG\r\n\x1a\n", content_type="image/png")
    broken = wayback.add(T0 + 4 * DAY, URL, "bad gateway", status=502)
    wayback.add(T0 + 5 * DAY, URL, html(texts["B"], 2))
    doc = DocumentFactory(url=URL)

    report = run(doc, wayback, clock)

    assert labels(assert_consistent(doc), texts) == ["A", "B"]
    skipped = dict(report.skipped)
    url = lambda capture: wayback.capture_url(capture.timestamp, URL)  # noqa: E731
    assert "a redirect notice" in skipped[url(notice)]
    assert "HTTP 404" in skipped[url(missing)] and "not archived" in skipped[url(missing)]
    assert "not a text document" in skipped[url(image)]
    assert dict(report.failed)[url(broken)].endswith("HTTP 502 (3 attempts)")
    logged = dict(
        Check.objects.filter(document=doc, fetcher=WAYBACK_FETCHER).values_list(
            "final_url", "outcome"
        )
    )
    assert logged[url(notice)] == "error" and logged[url(image)] == "unsupported"
    assert url(broken) not in logged  # not done: the next run tries it again


def test_it_waits_out_a_429_on_a_capture(wayback, clock):
    wayback.add(T0, URL, html(terms("A")))
    wayback.capture_script.append(Response("", status=429, headers={"Retry-After": "4"}))
    report = run(DocumentFactory(url=URL), wayback, clock)
    assert report.versions == 1 and pytest.approx(4) in clock.sleeps


def test_it_follows_a_redirect_to_another_capture_and_dates_the_text_by_it(wayback, clock):
    texts = {"A": terms("A"), "B": terms("B")}
    wayback.add(T0, URL, html(texts["A"], 1))
    hop = wayback.add(T0 + 10 * DAY, URL, b"", redirect_to=timestamp(T0 + 12 * DAY))
    wayback.add(T0 + 12 * DAY, URL, html(texts["B"], 2), listed=False)
    doc = DocumentFactory(url=URL)

    report = run(doc, wayback, clock)

    versions = assert_consistent(doc)
    assert labels(versions, texts) == ["A", "B"] and report.complete
    assert versions[1].observed_at == T0 + 12 * DAY
    assert versions[1].source_url == wayback.capture_url(timestamp(T0 + 12 * DAY), URL)
    check = Check.objects.get(final_url=wayback.capture_url(hop.timestamp, URL))
    assert "redirected to" in check.detail and check.version == versions[1]
    assert run(doc, wayback, clock).already_recorded == 2


def test_it_never_follows_a_capture_off_the_archive(wayback, clock, httpserver):
    httpserver.expect_request("/terms").respond_with_data(html(terms("LIVE")))
    live = httpserver.url_for("/terms").replace("localhost", "127.0.0.1")
    wayback.add(T0, URL, html(terms("A")))
    wayback.add(T0 + DAY, URL, b"", location=live.replace("127.0.0.1", "localhost"))
    doc = DocumentFactory(url=URL)

    report = run(doc, wayback, clock)

    assert "away from the archive, to localhost" in report.skipped[0][1]
    assert len(httpserver.log) == 0 and Version.objects.filter(document=doc).count() == 1
