"""CSRF: every route refuses a cross-site POST; one-click unsubscribe relies on its signed token."""

from __future__ import annotations

import pytest
from django.test import Client

from alerts import emails
from alerts.models import Subscriber, SubscriberStatus
from alerts.tokens import make_token
from tests.factories import SubscriberFactory
from tests.security.routes import routes

pytestmark = pytest.mark.django_db

# RFC 8058: the mail provider POSTs "List-Unsubscribe=One-Click" with no cookie, so no CSRF
# token; the signed, purpose-bound token in the URL is what authorises it.
CSRF_EXEMPT = {"alerts:unsubscribe"}


def _path(url: str) -> str:
    return url.removeprefix("https://clausewatch.test")


@pytest.fixture
def csrf_client() -> Client:
    return Client(enforce_csrf_checks=True)


def assert_csrf_refused(response, route) -> None:
    assert response.status_code == 403, (route.name, route.path, response.status_code)
    assert b"CSRF verification failed" in response.content, route.name


def test_it_exempts_only_the_one_click_unsubscribe_from_csrf():
    exempt = {r.name for r in routes() if getattr(r.callback, "csrf_exempt", False)}
    assert exempt == CSRF_EXEMPT


def test_it_refuses_a_post_without_a_csrf_token_on_every_route(csrf_client):
    for route in routes():
        if route.name in CSRF_EXEMPT:
            continue
        response = csrf_client.post(route.path, {"email": "me@example.org"})
        assert_csrf_refused(response, route)


def test_it_refuses_staff_posts_without_a_csrf_token_including_admin_actions(
    csrf_client, admin_user
):
    csrf_client.force_login(admin_user)
    for route in routes():
        if route.is_admin:
            response = csrf_client.post(
                route.path, {"action": "delete_selected", "_selected_action": ["1"]}
            )
            assert_csrf_refused(response, route)


def test_it_accepts_the_same_form_with_its_token(csrf_client):
    # The 403s above are CSRF refusals, not a broken form: with the token it goes through.
    page = csrf_client.get("/alerts/")
    token = page.cookies["csrftoken"].value
    assert b'name="csrfmiddlewaretoken"' in page.content
    response = csrf_client.post(
        "/alerts/subscribe/",
        {
            "email": "me@example.org",
            "scope": "all",
            "ai_only": "1",
            "frequency": "instant",
            "csrfmiddlewaretoken": token,
        },
    )
    assert response.status_code == 302
    assert Subscriber.objects.filter(email="me@example.org").exists()


def test_it_unsubscribes_in_one_click_with_a_valid_signed_token_and_no_cookie(csrf_client):
    subscriber = SubscriberFactory()
    response = csrf_client.post(
        _path(emails.unsubscribe_url(subscriber)), {"List-Unsubscribe": "One-Click"}
    )
    assert response.status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.status == SubscriberStatus.UNSUBSCRIBED


def test_it_refuses_a_one_click_unsubscribe_without_a_valid_signed_token(csrf_client):
    subscriber = SubscriberFactory()
    good = _path(emails.unsubscribe_url(subscriber)).rstrip("/").rsplit("/", 1)[1]
    forged = [
        "not-a-token",
        good[:-2] + ("AA" if not good.endswith("AA") else "BB"),  # tampered signature
        # Signed by us, but for another purpose or another subscriber's... purpose-bound.
        make_token("manage", subscriber_id=subscriber.pk, value=subscriber.token_version),
        make_token("confirm", subscriber_id=subscriber.pk, value=subscriber.token_version),
    ]
    for token in forged:
        response = csrf_client.post(
            f"/alerts/unsubscribe/{token}/", {"List-Unsubscribe": "One-Click"}
        )
        assert response.status_code == 400, token
        subscriber.refresh_from_db()
        assert subscriber.status == SubscriberStatus.ACTIVE, token


def test_it_refuses_an_unsubscribe_token_of_an_older_link_generation(csrf_client):
    subscriber = SubscriberFactory()
    old = _path(emails.unsubscribe_url(subscriber))
    Subscriber.objects.filter(pk=subscriber.pk).update(token_version=subscriber.token_version + 1)
    csrf_client.post(old)
    subscriber.refresh_from_db()
    assert subscriber.status == SubscriberStatus.ACTIVE
