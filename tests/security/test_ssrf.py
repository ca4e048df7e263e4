"""SSRF through document URLs, redirects, declarations and the archive, with the production
policy (FETCH_ALLOW_PRIVATE off). fetch() on its own is covered by
tests/snapshots/test_fetch_guard.py; these go through the ways in that an attacker reaches."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from django.urls import reverse

from platforms.declarations import DeclarationError, parse_declaration
from platforms.models import Document
from snapshots import fetching
from snapshots.backfill import Archive, BackfillError, document_backfill
from snapshots.models import Version
from snapshots.net_guard import AddressPolicy
from snapshots.services import document_check
from tests.factories import DocumentFactory, PlatformFactory
from tests.snapshots.fake_wayback import fake_wayback
from tests.snapshots.servers import RawServer, read_request

pytestmark = pytest.mark.django_db

INTERNAL_URLS = [
    "http://127.0.0.1:6379/",
    "http://[::1]/",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1/",
    "http://[::ffff:127.0.0.1]/",
    "http://localhost/",  # a name that resolves to loopback
    "http://localhost.:8000/",
]
NOT_HTTP = ["file:///etc/passwd", "gopher://127.0.0.1:6379/_INFO", "ftp://127.0.0.1/"]
NUMERIC_HOSTS = ["http://2130706433/", "http://0177.0.0.1/", "http://0x7f.0.0.1/"]


@pytest.fixture
def production_policy(settings) -> Iterator[None]:
    settings.FETCH_ALLOW_PRIVATE = False
    settings.FETCH_ALLOWED_NETWORKS = []
    fetching.reset()
    yield
    fetching.reset()


def _answer_ok(server: RawServer, conn: socket.socket) -> None:
    read_request(conn)
    body = b"<main><p>internal secret</p></main>"
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s"
        % (len(body), body)
    )


@pytest.fixture
def internal() -> Iterator[RawServer]:
    """A service on loopback that must never be reached by the tracker."""
    with RawServer(_answer_ok) as raw:
        yield raw


def _post_document(client, url: str):
    return client.post(
        reverse("admin:platforms_document_add"),
        {
            "platform": PlatformFactory().pk,
            "kind": "terms_of_service",
            "title": "Terms",
            "url": url,
            "active": "on",
            "fetcher": "http",
            "check_interval": "06:00:00",
        },
    )


@pytest.mark.parametrize("url", INTERNAL_URLS + NOT_HTTP + NUMERIC_HOSTS)
def test_it_refuses_internal_addresses_in_the_admin_form(admin_client, production_policy, url):
    response = _post_document(admin_client, url)
    assert response.status_code == 200  # the form again, with the error
    assert not Document.objects.exists()
    assert response.context["adminform"].form.errors["url"]


def test_it_accepts_loopback_in_the_admin_when_fetching_it_is_allowed(admin_client, settings):
    settings.FETCH_ALLOW_PRIVATE = True
    assert _post_document(admin_client, "http://127.0.0.1:8080/terms").status_code == 302


def test_it_never_connects_to_an_internal_document_url(production_policy, internal):
    # A document that got in anyway (an older row, the shell) is still never fetched.
    document = DocumentFactory(url=internal.url("/terms"))
    check = document_check(document_id=document.pk)
    assert internal.connections == 0
    assert "forbidden address 127.0.0.1" in check.error
    assert not Version.objects.exists()


@pytest.mark.parametrize(
    "url", ["http://2130706433:{port}/", "http://0x7f000001:{port}/", "http://localhost:{port}/"]
)
def test_it_never_connects_through_other_spellings_of_loopback(production_policy, internal, url):
    port = internal.url().rsplit(":", 1)[1].strip("/")
    document = DocumentFactory(url=url.format(port=port))
    check = document_check(document_id=document.pk)
    assert internal.connections == 0
    assert "forbidden address 127.0.0.1" in check.error


@pytest.mark.parametrize(
    "location", ["http://127.0.0.2:{port}/", "http://169.254.169.254/", "http://[::1]:{port}/"]
)
def test_it_never_follows_a_redirect_into_the_network(settings, production_policy, location):
    # The tracked site is public (here: the one loopback address the policy lets through),
    # and answers with a redirect to an internal address.
    settings.FETCH_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    fetching.reset()
    with RawServer(_answer_ok, host="127.0.0.2") as target:
        port = target.url().rsplit(":", 1)[1].strip("/")
        goto = location.format(port=port).encode()

        def redirect(server: RawServer, conn: socket.socket) -> None:
            read_request(conn)
            conn.sendall(
                b"HTTP/1.1 302 Found\r\nLocation: " + goto + b"\r\nContent-Length: 0\r\n\r\n"
            )

        with RawServer(redirect) as site:
            document = DocumentFactory(url=site.url("/terms"))
            check = document_check(document_id=document.pk)
        assert site.connections == 1
        assert target.connections == 0
    assert "forbidden address" in check.error
    assert not Version.objects.exists()


@pytest.mark.parametrize("url", INTERNAL_URLS + NOT_HTTP + NUMERIC_HOSTS)
def test_it_refuses_declarations_pointing_into_the_network(url):
    declaration = {"name": "Evil", "terms": {"Terms of Service": {"fetch": url, "select": "main"}}}
    with pytest.raises(DeclarationError) as caught:
        parse_declaration(declaration, path="Evil.json", policy=AddressPolicy())
    assert caught.value.field == "terms.Terms of Service.fetch"


def test_it_never_asks_an_archive_on_an_internal_address(production_policy):
    document = DocumentFactory(url="https://docs.example/terms")
    with fake_wayback() as wayback:
        # WAYBACK_URL pointed at an internal host (a misconfiguration, or an attacker's env).
        archive = Archive.from_settings(base_url=wayback.base_url)
        with pytest.raises(BackfillError) as caught:
            document_backfill(document_id=document.pk, archive=archive)
        assert len(wayback.server.log) == 0
    assert "forbidden address" in str(caught.value)
