from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from alerts import emails
from alerts.models import Subscriber, SubscriberStatus
from alerts.tokens import make_token
from tests.factories import SubscriberFactory

pytestmark = pytest.mark.django_db


def _path(url: str) -> str:
    return url.removeprefix("https://clausewatch.test")


def _neutral(html: str) -> str:
    return re.sub(r'nonce="[^"]*"', "", html)


def test_it_asks_before_unsubscribing(client):
    subscriber = SubscriberFactory(email="me@example.org")
    response = client.get(_path(emails.unsubscribe_url(subscriber)))
    assert response.status_code == 200
    assert "me@example.org" in response.content.decode()
    assert Subscriber.objects.get().status == SubscriberStatus.ACTIVE


def test_it_unsubscribes_on_post(client):
    subscriber = SubscriberFactory()
    response = client.post(_path(emails.unsubscribe_url(subscriber)))
    assert response.status_code == 200
    assert "No more alerts" in response.content.decode()
    subscriber.refresh_from_db()
    assert subscriber.status == SubscriberStatus.UNSUBSCRIBED
    assert subscriber.unsubscribed_at is not None


def test_it_takes_a_one_click_post_without_cookies_or_csrf_token():
    subscriber = SubscriberFactory()
    mail_provider = Client(enforce_csrf_checks=True)
    response = mail_provider.post(
        _path(emails.unsubscribe_url(subscriber)),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert Subscriber.objects.get().status == SubscriberStatus.UNSUBSCRIBED


def test_it_still_checks_csrf_on_the_manage_form():
    subscriber = SubscriberFactory()
    browser = Client(enforce_csrf_checks=True)
    response = browser.post(
        _path(emails.manage_url(subscriber)),
        {"scope": "all", "ai_only": "0", "frequency": "weekly"},
    )
    assert response.status_code == 403
    assert Subscriber.objects.get().frequency == "instant"


def test_it_refuses_a_replayed_link_after_unsubscribing(client):
    subscriber = SubscriberFactory()
    unsubscribe = _path(emails.unsubscribe_url(subscriber))
    manage = _path(emails.manage_url(subscriber))
    client.post(unsubscribe)
    unsubscribed_at = Subscriber.objects.get().unsubscribed_at
    for response in (client.post(unsubscribe), client.get(unsubscribe), client.get(manage)):
        assert response.status_code == 410
    assert Subscriber.objects.get().unsubscribed_at == unsubscribed_at


def test_it_refuses_a_tampered_link_and_changes_nothing(client):
    subscriber = SubscriberFactory()
    url = emails.unsubscribe_url(subscriber)
    tampered = url.replace(f"/unsubscribe/{url.split('/')[-2][:4]}", "/unsubscribe/AAAA")
    assert client.post(_path(tampered)).status_code == 400
    other = make_token("unsubscribe", subscriber_id=subscriber.pk + 1, value=1)[:-3] + "abc"
    assert client.post(reverse("alerts:unsubscribe", args=[other])).status_code == 400
    assert Subscriber.objects.get().status == SubscriberStatus.ACTIVE


def test_it_shows_the_neutral_page_for_a_subscriber_that_no_longer_exists(client):
    subscriber = SubscriberFactory()
    url = _path(emails.unsubscribe_url(subscriber))
    Subscriber.objects.all().delete()
    for response in (client.get(url), client.post(url)):
        assert response.status_code == 200
        assert "No more alerts" in response.content.decode()


def test_it_answers_the_same_for_known_and_unknown_addresses(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    SubscriberFactory(email="known@example.org")
    url = reverse("alerts:links_request")
    with django_capture_on_commit_callbacks(execute=True):
        known = client.post(url, {"email": "known@example.org"})
        unknown = client.post(url, {"email": "unknown@example.org"})
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert _neutral(client.get(known["Location"]).content.decode()) == _neutral(
        client.get(unknown["Location"]).content.decode()
    )
    [message] = mailoutbox
    assert message.to == ["known@example.org"]
    assert "/alerts/unsubscribe/" in message.body


def test_it_offers_the_links_form_at_the_unsubscribe_address(client):
    response = client.get(reverse("alerts:unsubscribe_request"))
    assert response.status_code == 200
    assert 'name="email"' in response.content.decode()


def test_it_rejects_header_injection_when_asking_for_links(client, mailoutbox):
    response = client.post(
        reverse("alerts:links_request"), {"email": "known@example.org\r\nBcc: x@example.org"}
    )
    assert response.status_code == 400
    assert mailoutbox == []


def test_it_updates_preferences_from_the_manage_link(client):
    from tests.factories import PlatformFactory

    subscriber = SubscriberFactory()
    keep, other = PlatformFactory(), PlatformFactory()
    path = _path(emails.manage_url(subscriber))
    page = client.get(path)
    assert page.status_code == 200
    assert other.name in page.content.decode()
    response = client.post(
        path, {"scope": "selected", "platforms": [keep.pk], "ai_only": "0", "frequency": "weekly"}
    )
    assert response.status_code == 200
    assert "Saved" in response.content.decode()
    subscriber.refresh_from_db()
    assert (subscriber.all_platforms, subscriber.ai_only, subscriber.frequency) == (
        False,
        False,
        "weekly",
    )
    assert list(subscriber.platforms.all()) == [keep]
    assert subscriber.digest_since is not None
