"""Rate limits on public POSTs: every form that costs us an email or a login attempt."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from django.urls import reverse

from alerts import ratelimit
from alerts.models import Subscriber
from tests.factories import SubscriberFactory
from tests.security.routes import routes

pytestmark = pytest.mark.django_db

# Routes whose POST is authorised by a signed token in the URL: nothing to guess, no limit.
TOKEN_ROUTES = {"alerts:confirm", "alerts:manage", "alerts:unsubscribe"}


@pytest.fixture(autouse=True)
def _limits(settings, monkeypatch):
    # One fixed moment: a test running across a window boundary would see its counts reset.
    now = time.time()
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: now))
    settings.ALERTS_RATE_PER_IP = 3
    settings.ALERTS_RATE_PER_ADDRESS = 100
    settings.ADMIN_LOGIN_RATE_PER_IP = 3
    settings.ADMIN_LOGIN_RATE_PER_USERNAME = 5
    settings.ADMIN_LOGIN_RATE_WINDOW = 60


def form_data(n: int) -> dict[str, str]:
    return {
        "email": f"someone{n}@example.org",
        "scope": "all",
        "ai_only": "0",
        "frequency": "instant",
        "token": "x",
        "username": "admin",
        "password": f"guess-{n}",
    }


def assert_limited(response, where: str) -> None:
    assert response.status_code == 429, (where, response.status_code)
    assert int(response["Retry-After"]) > 0, where
    assert b"Too many" in response.content, where  # a clear message, not a bare error


def test_it_limits_every_public_post_that_is_not_token_authorised(client):
    limited = []
    for i, route in enumerate(routes()):
        if route.name in TOKEN_ROUTES or (route.is_admin and route.name != "admin:login"):
            continue
        address = f"203.0.113.{i}"
        first = client.post(route.path, form_data(0), REMOTE_ADDR=address)
        if first.status_code == 405:  # not a POST route
            continue
        responses = [client.post(route.path, form_data(n), REMOTE_ADDR=address) for n in (1, 2, 3)]
        assert [r.status_code for r in responses][:2] != [429, 429], route.name
        assert_limited(responses[-1], route.name)
        limited.append(route.name)
    assert {"alerts:subscribe", "alerts:links_request", "admin:login"} <= set(limited)


def test_it_keeps_what_came_before_the_limit(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        codes = [
            client.post(
                reverse("alerts:subscribe"), form_data(n), REMOTE_ADDR="198.51.100.7"
            ).status_code
            for n in range(4)
        ]
    assert codes == [302, 302, 302, 429]
    # Nothing lost: the three accepted requests each got their confirmation email.
    assert Subscriber.objects.count() == 3
    assert len(mailoutbox) == 3
    # Another client is not affected by the first one's limit.
    other = client.post(reverse("alerts:subscribe"), form_data(9), REMOTE_ADDR="198.51.100.8")
    assert other.status_code == 302


def test_it_cannot_be_dodged_with_a_forwarded_for_header(client):
    # Without ALERTS_CLIENT_IP_HEADER set, headers the client writes are not its address.
    codes = [
        client.post(
            reverse("alerts:links_request"),
            {"email": f"x{n}@example.org"},
            REMOTE_ADDR="198.51.100.9",
            HTTP_X_FORWARDED_FOR=f"10.0.0.{n}",
            HTTP_X_REAL_IP=f"10.0.1.{n}",
        ).status_code
        for n in range(4)
    ]
    assert codes[-1] == 429


def test_it_stops_guessing_an_admin_password(client, admin_user):
    url = reverse("admin:login")
    for n in range(3):
        response = client.post(url, {"username": "admin", "password": f"guess-{n}"})
        assert response.status_code == 200  # the form again: wrong password
    # Even the right password gets no further from this client until the window ends.
    response = client.post(url, {"username": "admin", "password": "password"})
    assert_limited(response, "admin login")
    assert "_auth_user_id" not in client.session


def test_it_stops_guessing_one_account_from_many_addresses(client, admin_user):
    url = reverse("admin:login")
    for n in range(5):
        client.post(url, {"username": "Admin", "password": "x"}, REMOTE_ADDR=f"192.0.2.{n}")
    response = client.post(
        url, {"username": "admin", "password": "password"}, REMOTE_ADDR="192.0.2.99"
    )
    assert_limited(response, "admin login per user name")


def test_it_lets_an_admin_log_in_under_the_limit(client, admin_user):
    response = client.post(reverse("admin:login"), {"username": "admin", "password": "password"})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(admin_user.pk)


def test_it_limits_link_requests_for_known_and_unknown_addresses_alike(client, settings):
    settings.ALERTS_RATE_PER_ADDRESS = 2
    SubscriberFactory(email="known@example.org")
    for email in ["known@example.org", "unknown@example.org"]:
        codes = [
            client.post(
                reverse("alerts:links_request"), {"email": email}, REMOTE_ADDR=f"198.51.100.{n}"
            ).status_code
            for n in range(20, 23)
        ]
        assert codes == [302, 302, 429], email
