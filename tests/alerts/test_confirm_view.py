from __future__ import annotations

import time

import pytest
from django.urls import reverse

from alerts import emails
from alerts.models import Subscriber, SubscriberStatus
from alerts.tokens import make_token
from tests.factories import PendingSubscriberFactory, SubscriberFactory

pytestmark = pytest.mark.django_db


def _path(url: str) -> str:
    return url.removeprefix("https://clausewatch.test")


def _confirm_path(subscriber) -> str:
    return _path(emails.confirm_url(subscriber))


def _old_token(monkeypatch, subscriber, *, days: float) -> str:
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() - days * 86400)
    try:
        return make_token("confirm", subscriber_id=subscriber.pk, value=subscriber.confirm_nonce)
    finally:
        monkeypatch.setattr(time, "time", real)


def test_it_asks_before_confirming(client):
    subscriber = PendingSubscriberFactory(email="me@example.org")
    response = client.get(_confirm_path(subscriber))
    assert response.status_code == 200
    html = response.content.decode()
    assert "me@example.org" in html and '<form method="post"' in html
    # A link scanner fetching the link confirms nothing.
    assert Subscriber.objects.get().status == SubscriberStatus.PENDING


def test_it_confirms_on_post(client):
    subscriber = PendingSubscriberFactory()
    response = client.post(_confirm_path(subscriber))
    assert response.status_code == 200
    assert "/alerts/manage/" in response.content.decode()
    subscriber.refresh_from_db()
    assert subscriber.status == SubscriberStatus.ACTIVE
    assert subscriber.confirmed_at is not None and subscriber.digest_since is not None
    assert subscriber.confirm_nonce == ""


def test_it_refuses_a_replayed_link_and_changes_nothing(client):
    subscriber = PendingSubscriberFactory()
    path = _confirm_path(subscriber)
    assert client.post(path).status_code == 200
    confirmed_at = Subscriber.objects.get().confirmed_at
    for method in (client.get, client.post):
        response = method(path)
        assert response.status_code == 410
        assert "already been used" in response.content.decode()
    assert Subscriber.objects.get().confirmed_at == confirmed_at


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # signature
        lambda t: "x" + t,  # payload
        lambda t: t.split(":")[0],  # truncated
        lambda t: "garbage",
    ],
)
def test_it_refuses_a_tampered_link_and_changes_nothing(client, mangle):
    subscriber = PendingSubscriberFactory()
    token = make_token("confirm", subscriber_id=subscriber.pk, value=subscriber.confirm_nonce)
    path = reverse("alerts:confirm", args=[mangle(token)])
    assert client.get(path).status_code == 400
    response = client.post(path)
    assert response.status_code == 400
    assert "not valid" in response.content.decode()
    assert Subscriber.objects.get().status == SubscriberStatus.PENDING


def test_it_refuses_a_token_made_for_another_page(client):
    subscriber = PendingSubscriberFactory()
    token = make_token("manage", subscriber_id=subscriber.pk, value=subscriber.confirm_nonce)
    assert client.post(reverse("alerts:confirm", args=[token])).status_code == 400
    assert Subscriber.objects.get().status == SubscriberStatus.PENDING


def test_it_refuses_an_expired_link_and_offers_a_new_one(
    client, monkeypatch, mailoutbox, django_capture_on_commit_callbacks
):
    subscriber = PendingSubscriberFactory(email="late@example.org")
    token = _old_token(monkeypatch, subscriber, days=4)
    path = reverse("alerts:confirm", args=[token])
    assert client.post(path).status_code == 410
    response = client.get(path)
    assert response.status_code == 410
    html = response.content.decode()
    assert "expired" in html and reverse("alerts:confirm_renew") in html
    assert Subscriber.objects.get().status == SubscriberStatus.PENDING

    with django_capture_on_commit_callbacks(execute=True):
        renewed = client.post(reverse("alerts:confirm_renew"), {"token": token})
    assert renewed.status_code == 302
    [message] = mailoutbox
    assert message.to == ["late@example.org"]
    fresh = Subscriber.objects.get()
    assert client.post(_confirm_path(fresh)).status_code == 200
    assert Subscriber.objects.get().status == SubscriberStatus.ACTIVE


def test_it_refuses_to_renew_a_tampered_link(client, mailoutbox):
    response = client.post(reverse("alerts:confirm_renew"), {"token": "nope:nope:nope"})
    assert response.status_code == 400
    assert mailoutbox == []


def test_it_sends_manage_links_when_renewing_for_a_confirmed_address(
    client, monkeypatch, mailoutbox, django_capture_on_commit_callbacks
):
    subscriber = SubscriberFactory(confirm_nonce="old")
    token = _old_token(monkeypatch, subscriber, days=10)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("alerts:confirm_renew"), {"token": token})
    [message] = mailoutbox
    assert "change or stop" in message.subject


def test_it_resubscribes_an_unsubscribed_address_only_after_confirmation(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    subscriber = SubscriberFactory(
        email="back@example.org", status=SubscriberStatus.UNSUBSCRIBED, token_version=2
    )
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("alerts:subscribe"),
            {"email": "back@example.org", "scope": "all", "ai_only": "1", "frequency": "daily"},
        )
    subscriber.refresh_from_db()
    assert subscriber.status == SubscriberStatus.UNSUBSCRIBED
    [message] = mailoutbox
    assert message.subject == "Confirm your Clausewatch alerts"
    assert client.post(_confirm_path(subscriber)).status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.status == SubscriberStatus.ACTIVE and subscriber.unsubscribed_at is None
