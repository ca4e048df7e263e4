"""The check of one document, end to end against real pages served on loopback."""

from __future__ import annotations

import zlib
from datetime import timedelta

import pytest
from django.utils import timezone
from werkzeug.wrappers import Response

from platforms.kinds import DocumentStatus
from snapshots import fetching
from snapshots.models import Change, Check, CheckOutcome, Snapshot, Version
from snapshots.services import document_check
from tests.factories import DocumentFactory
from tests.pages import wrap_in_noisy_html
from tests.snapshots.servers import RawServer, read_request

pytestmark = pytest.mark.django_db

TERMS = "# Terms of Use\n\nYou keep the rights to what you upload.\n\nWe host your uploads so others can hear them.\n"
TERMS_AI = TERMS + "\nWe may use your uploads to train artificial intelligence models.\n"


def serve(httpserver, body, *, status=200, content_type="text/html; charset=utf-8", headers=None):
    httpserver.clear()
    httpserver.expect_request("/terms").respond_with_data(
        body, status=status, content_type=content_type, headers=headers or {}
    )
    return httpserver.url_for("/terms")


def check(doc, *, now=None):
    result = document_check(document_id=doc.pk, now=now)
    doc.refresh_from_db()
    return result


def test_it_records_the_first_version_and_schedules_the_next_check(httpserver):
    doc = DocumentFactory(url=serve(httpserver, wrap_in_noisy_html(TERMS, seed=1)))
    now = timezone.now()
    result = check(doc, now=now)
    assert result.outcome == CheckOutcome.FIRST
    version = Version.objects.get(document=doc)
    assert version.text.startswith("# Terms of Use")
    assert "csrf" not in version.text.lower()
    assert version.snapshot_id == doc.latest_snapshot_id
    assert doc.status == DocumentStatus.OK
    assert doc.last_checked_at == now
    assert doc.next_check_at == now + doc.check_interval
    assert result.http_status == 200
    assert result.bytes > 0
    assert Change.objects.count() == 0


def test_it_keeps_storage_flat_while_only_the_noise_changes(httpserver):
    doc = DocumentFactory(url=serve(httpserver, wrap_in_noisy_html(TERMS, seed=1)))
    check(doc)
    for seed in range(2, 7):
        serve(httpserver, wrap_in_noisy_html(TERMS, seed=seed))
        assert check(doc).outcome == CheckOutcome.UNCHANGED
    assert Version.objects.count() == 1
    assert Change.objects.count() == 0
    # The body behind the version, and the latest body: nothing else is kept.
    assert Snapshot.objects.count() == 2
    assert Check.objects.filter(document=doc).count() == 6


def test_it_publishes_a_real_change_with_its_diff_and_ai_analysis(httpserver):
    doc = DocumentFactory(url=serve(httpserver, wrap_in_noisy_html(TERMS, seed=1)))
    check(doc)
    serve(httpserver, wrap_in_noisy_html(TERMS_AI, seed=2))
    result = check(doc)
    assert result.outcome == CheckOutcome.CHANGED
    change = Change.objects.get()
    assert change.published_at is not None
    assert change.words_added == 10
    assert change.words_removed == 0
    assert change.ai_relevant
    assert "training" in change.ai_categories
    assert change.summary
    assert change.diff["hunks"]
    assert result.version == change.new_version


def test_it_sends_conditional_requests_and_treats_304_as_not_modified(httpserver):
    httpserver.expect_ordered_request("/terms").respond_with_data(
        wrap_in_noisy_html(TERMS, seed=1), content_type="text/html", headers={"ETag": '"v1"'}
    )
    httpserver.expect_ordered_request(
        "/terms", headers={"If-None-Match": '"v1"'}
    ).respond_with_data("", status=304)
    doc = DocumentFactory(url=httpserver.url_for("/terms"))
    check(doc)
    assert doc.http_etag == '"v1"'
    assert check(doc).outcome == CheckOutcome.NOT_MODIFIED
    assert doc.status == DocumentStatus.OK
    httpserver.check_assertions()


def _assert_no_version(doc):
    assert Version.objects.filter(document=doc).count() == 0
    assert Change.objects.count() == 0


@pytest.mark.parametrize("status", [500, 502, 503])
def test_it_records_server_errors_without_a_version(httpserver, status):
    doc = DocumentFactory(url=serve(httpserver, "Service Unavailable", status=status))
    now = timezone.now()
    result = check(doc, now=now)
    assert result.outcome == CheckOutcome.ERROR
    assert f"{status}" in result.error
    assert doc.consecutive_failures == 1
    assert doc.last_error
    assert doc.next_check_at > now
    _assert_no_version(doc)


def test_it_marks_a_document_failing_after_repeated_errors_and_backs_off(httpserver, settings):
    settings.TRACK_FAILING_AFTER = 3
    doc = DocumentFactory(
        url=serve(httpserver, "down", status=503), check_interval=timedelta(hours=4)
    )
    now = timezone.now()
    delays = []
    for _ in range(3):
        check(doc, now=now)
        delays.append(doc.next_check_at - now)
    assert doc.status == DocumentStatus.FAILING
    assert doc.consecutive_failures == 3
    assert delays == [timedelta(hours=1), timedelta(hours=2), timedelta(hours=4)]
    serve(httpserver, wrap_in_noisy_html(TERMS, seed=1))
    check(doc, now=now)
    assert (doc.status, doc.consecutive_failures, doc.last_error) == (DocumentStatus.OK, 0, "")


def test_it_calls_a_403_captcha_page_blocked(httpserver, settings):
    settings.BROWSER_FALLBACK = False  # the fallback has its own tests (test_browser_pipeline)
    captcha = (
        "<html><body><h1>Verify you are human</h1><div class='g-recaptcha'></div></body></html>"
    )
    doc = DocumentFactory(url=serve(httpserver, captcha, status=403))
    result = check(doc)
    assert result.outcome == CheckOutcome.BLOCKED
    assert doc.status == DocumentStatus.BLOCKED
    _assert_no_version(doc)


def test_it_honours_retry_after_on_429(httpserver):
    doc = DocumentFactory(
        url=serve(httpserver, "slow down", status=429, headers={"Retry-After": "3600"})
    )
    now = timezone.now()
    result = check(doc, now=now)
    assert result.outcome == CheckOutcome.BLOCKED
    assert "rate_limited" in result.error
    assert doc.next_check_at >= now + timedelta(seconds=3600)
    _assert_no_version(doc)


def _hang(server, conn):
    read_request(conn)
    server.stopped.wait(10)


def _drip(server, conn):
    read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n")
    while not server.stopped.wait(0.2):
        conn.sendall(b"<p>x</p>")


@pytest.mark.parametrize("handler", [_hang, _drip], ids=["read-timeout", "slow-drip"])
def test_it_gives_up_on_servers_that_stall(settings, handler):
    settings.FETCH_READ_TIMEOUT = 0.5
    settings.FETCH_TOTAL_TIMEOUT = 1.5
    settings.FETCH_RETRIES = 0
    with RawServer(handler) as server:
        doc = DocumentFactory(url=server.url("/terms"))
        result = check(doc)
    assert result.outcome == CheckOutcome.ERROR
    assert "timeout" in result.error
    _assert_no_version(doc)


def test_it_refuses_a_body_over_the_size_cap(httpserver, settings):
    settings.FETCH_MAX_BYTES = 1024 * 1024
    doc = DocumentFactory(url=serve(httpserver, b"<p>" + b"x" * (50 * 1024 * 1024)))
    result = check(doc)
    assert result.outcome == CheckOutcome.ERROR
    assert "too_large" in result.error
    _assert_no_version(doc)


def test_it_refuses_a_gzip_bomb(httpserver, settings):
    settings.FETCH_MAX_BYTES = 1024 * 1024
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b"\0" * (1024 * 1024)
    bomb = b"".join(compressor.compress(chunk) for _ in range(200)) + compressor.flush()
    assert len(bomb) < 1024 * 1024  # 200 MB inflated from a few hundred KB
    doc = DocumentFactory(
        url=serve(httpserver, bomb, headers={"Content-Encoding": "gzip"}, content_type="text/html")
    )
    result = check(doc)
    assert result.outcome == CheckOutcome.ERROR
    assert "too_large" in result.error
    _assert_no_version(doc)


def test_it_reads_a_page_whose_declared_charset_is_wrong(httpserver):
    body = (
        "<html><body><main><h1>Conditions</h1><p>Le café est servi à 8 h.</p></main></body></html>"
    )
    doc = DocumentFactory(
        url=serve(httpserver, body.encode("latin-1"), content_type="text/html; charset=utf-8")
    )
    assert check(doc).outcome == CheckOutcome.FIRST
    assert "Le café est servi à 8 h." in Version.objects.get().text


def test_it_reads_a_page_with_no_charset_at_all(httpserver):
    body = '<html><head><meta charset="windows-1252"></head><body><p>“Quoted” terms — fine.</p></body></html>'
    doc = DocumentFactory(url=serve(httpserver, body.encode("cp1252"), content_type="text/html"))
    assert check(doc).outcome == CheckOutcome.FIRST
    assert "“Quoted” terms — fine." in Version.objects.get().text


def test_it_gives_an_empty_page_a_clear_status(httpserver):
    doc = DocumentFactory(url=serve(httpserver, ""))
    result = check(doc)
    assert result.outcome == CheckOutcome.ERROR
    assert "empty" in result.error
    _assert_no_version(doc)


def test_it_reports_a_selector_that_matches_nothing(httpserver):
    doc = DocumentFactory(
        url=serve(httpserver, wrap_in_noisy_html(TERMS, seed=1)), select=["#no-such-thing"]
    )
    result = check(doc)
    assert result.outcome == CheckOutcome.SELECTOR_BROKEN
    assert doc.status == DocumentStatus.SELECTOR_BROKEN
    assert "#no-such-thing" in result.error
    _assert_no_version(doc)


def test_it_stops_a_redirect_loop(httpserver):
    httpserver.expect_request("/a").respond_with_response(
        Response(status=302, headers={"Location": "/b"})
    )
    httpserver.expect_request("/b").respond_with_response(
        Response(status=302, headers={"Location": "/a"})
    )
    doc = DocumentFactory(url=httpserver.url_for("/a"))
    result = check(doc)
    assert result.outcome == CheckOutcome.ERROR
    assert "redirect" in result.error
    _assert_no_version(doc)


@pytest.mark.parametrize(
    "target",
    ["http://127.0.0.2/admin", "http://10.0.0.1/", "http://169.254.169.254/latest/meta-data/"],
)
def test_it_blocks_a_redirect_to_a_private_address(httpserver, settings, target):
    # Only the test server's own address is allowed: any other private target is refused.
    settings.FETCH_ALLOW_PRIVATE = False
    settings.FETCH_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    fetching.reset()
    httpserver.expect_request("/terms").respond_with_response(
        Response(status=302, headers={"Location": target})
    )
    doc = DocumentFactory(url=httpserver.url_for("/terms").replace("localhost", "127.0.0.1"))
    result = check(doc)
    assert result.outcome == CheckOutcome.BLOCKED
    assert "blocked_address" in result.error
    _assert_no_version(doc)


def test_it_refuses_loopback_documents_unless_private_fetching_is_allowed(httpserver, settings):
    settings.FETCH_ALLOW_PRIVATE = False
    fetching.reset()
    doc = DocumentFactory(url=serve(httpserver, wrap_in_noisy_html(TERMS, seed=1)))
    result = check(doc)
    assert result.outcome == CheckOutcome.BLOCKED
    assert len(httpserver.log) == 0
    _assert_no_version(doc)


def _pdf(text: str) -> bytes:
    """A minimal, valid one-page PDF showing `text` in Helvetica."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return out


def test_it_extracts_the_text_of_a_pdf(httpserver):
    doc = DocumentFactory(
        url=serve(
            httpserver, _pdf("We may train models on your uploads."), content_type="application/pdf"
        )
    )
    assert check(doc).outcome == CheckOutcome.FIRST
    assert "We may train models on your uploads." in Version.objects.get().text


def test_it_gives_an_image_a_clear_unsupported_status(httpserver):
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 200
    doc = DocumentFactory(url=serve(httpserver, png, content_type="image/png"))
    result = check(doc)
    assert result.outcome == CheckOutcome.UNSUPPORTED
    assert doc.status == DocumentStatus.UNSUPPORTED
    assert "image/png" in result.error
    _assert_no_version(doc)


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body><main><h1>Terms<p>Unclosed <b>bold <i>and <table><tr><td>cell</main></div></span>",
        b"<html><body><main><p>" + b"word " * 1_000_000 + b"</p></main></body></html>",
        b"<html><body><main><p>Terms\x00 with\x00 NUL bytes</p></main></body></html>",
    ],
    ids=["malformed-html", "one-5mb-line", "nul-bytes"],
)
def test_it_survives_hostile_markup_with_a_clear_status(httpserver, body):
    doc = DocumentFactory(url=serve(httpserver, body))
    result = check(doc)
    assert result.outcome == CheckOutcome.FIRST
    assert doc.status == DocumentStatus.OK
    text = Version.objects.get().text
    assert "\x00" not in text
    assert text.strip()


def test_it_holds_a_login_wall_served_with_200_until_an_admin_approves(httpserver):
    doc = DocumentFactory(url=serve(httpserver, wrap_in_noisy_html(TERMS, seed=1)))
    check(doc)
    wall = (
        "<html><body><main><h1>Log in to continue</h1><form><input type='email' name='email'>"
        "<input type='password' name='password'><button>Sign in</button></form></main></body></html>"
    )
    serve(httpserver, wall)
    for _ in range(3):
        assert check(doc).outcome == CheckOutcome.SUSPICIOUS
    assert doc.status == DocumentStatus.SUSPICIOUS
    assert Change.objects.count() == 0
    held = Version.objects.get(state="held")
    assert held.held_reason == "login_wall"
    serve(httpserver, wrap_in_noisy_html(TERMS, seed=9))
    assert check(doc).outcome == CheckOutcome.UNCHANGED
    assert doc.status == DocumentStatus.OK
    assert not Version.objects.filter(state="held").exists()


def test_it_flags_a_redirect_to_another_site(httpserver):
    httpserver.expect_request("/old").respond_with_response(
        Response(
            status=301,
            headers={"Location": httpserver.url_for("/terms").replace("localhost", "127.0.0.1")},
        )
    )
    httpserver.expect_request("/terms").respond_with_data(
        wrap_in_noisy_html(TERMS, seed=1), content_type="text/html"
    )
    doc = DocumentFactory(url=httpserver.url_for("/old").replace("127.0.0.1", "localhost"))
    result = check(doc)
    assert result.outcome == CheckOutcome.FIRST
    assert "redirected to another site" in result.detail
    assert result.final_url.endswith("/terms")
