from __future__ import annotations

import re

import pytest
from django.urls import reverse

from alerts.models import Subscriber, SubscriberStatus
from tests.factories import PlatformFactory, SubscriberFactory

pytestmark = pytest.mark.django_db


def _post(client, email="creator@example.org", *, remote_addr="127.0.0.1", **fields):
    data = {"email": email, "scope": "all", "ai_only": "1", "frequency": "instant", **fields}
    return client.post(reverse("alerts:subscribe"), data, REMOTE_ADDR=remote_addr)


def _link(message, name: str) -> str:
    match = re.search(rf"https://clausewatch\.test(/alerts/{name}/[^/\s\"]+/)", message.body)
    assert match, message.body
    return match.group(1)


def _page(client, url: str) -> str:
    return re.sub(r'nonce="[^"]*"', "", client.get(url).content.decode())


def test_it_shows_the_form(client):
    PlatformFactory(name="SoundCloud")
    response = client.get(reverse("alerts:subscribe_form"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="email"' in html
    assert "SoundCloud" in html
    assert "Daily digest" in html and "Weekly digest" in html


def test_it_stores_a_pending_subscriber_and_sends_a_confirmation(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    platform = PlatformFactory()
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(
            client,
            "Creator@Example.ORG",
            scope="selected",
            platforms=[platform.pk],
            ai_only="0",
            frequency="daily",
        )
    assert response.status_code == 302
    assert response["Location"] == reverse("alerts:check_inbox")
    subscriber = Subscriber.objects.get()
    assert subscriber.email == "creator@example.org"
    assert subscriber.status == SubscriberStatus.PENDING
    assert (subscriber.all_platforms, subscriber.ai_only, subscriber.frequency) == (
        False,
        False,
        "daily",
    )
    assert list(subscriber.platforms.all()) == [platform]
    [message] = mailoutbox
    assert message.to == ["creator@example.org"]
    assert message.subject == "Confirm your Clausewatch alerts"
    assert _link(message, "confirm")
    assert "text/html" in message.alternatives[0].mimetype


@pytest.mark.parametrize(
    "email",
    [
        "victim@example.org\r\nBcc: everyone@example.org",
        "victim@example.org\nBcc: everyone@example.org",
        "victim@example.org\r\n",
        "victim@example.org%0d%0aBcc:x@example.org",
        "not-an-address",
        "two@example.org, three@example.org",
        "Name <name@example.org>",
        "@example.org",
        "a" * 250 + "@example.org",
        "nul\x00@example.org",
    ],
)
def test_it_rejects_malformed_addresses_and_header_injection(
    client, mailoutbox, django_capture_on_commit_callbacks, email
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, email)
    assert response.status_code == 400
    assert 'class="errorlist"' in response.content.decode()
    assert not Subscriber.objects.exists()
    assert mailoutbox == []


def test_it_explains_a_line_break_in_the_address(client):
    response = _post(client, "victim@example.org\r\nBcc: everyone@example.org")
    assert "cannot contain line breaks" in response.content.decode()


def test_it_requires_a_platform_when_choosing_platforms(client):
    response = _post(client, scope="selected")
    assert response.status_code == 400
    assert "Choose at least one platform" in response.content.decode()
    assert not Subscriber.objects.exists()


def test_it_answers_the_same_whether_or_not_the_address_is_subscribed(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    SubscriberFactory(email="known@example.org", ai_only=False)
    with django_capture_on_commit_callbacks(execute=True):
        new = _post(client, "new@example.org")
        known = _post(client, "known@example.org")
    assert (new.status_code, new["Location"]) == (known.status_code, known["Location"])
    assert _page(client, new["Location"]) == _page(client, known["Location"])
    by_address = {m.to[0]: m for m in mailoutbox}
    assert by_address["new@example.org"].subject == "Confirm your Clausewatch alerts"
    # The confirmed address gets its manage links instead, and keeps its choices.
    manage = by_address["known@example.org"]
    assert "change or stop" in manage.subject
    assert _link(manage, "manage") and _link(manage, "unsubscribe")
    assert Subscriber.objects.get(email="known@example.org").ai_only is False


def test_it_replaces_the_link_when_a_pending_address_asks_again(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    for frequency in ["instant", "weekly"]:
        with django_capture_on_commit_callbacks(execute=True):
            _post(client, frequency=frequency)
    first, second = (_link(m, "confirm") for m in mailoutbox)
    assert Subscriber.objects.get().frequency == "weekly"
    assert client.get(first).status_code == 410
    assert client.get(second).status_code == 200


def test_it_rate_limits_one_address(
    client, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.ALERTS_RATE_PER_ADDRESS = 2
    with django_capture_on_commit_callbacks(execute=True):
        codes = [
            _post(client, email, remote_addr=f"10.0.0.{i}").status_code
            for i, email in enumerate(["same@example.org", "SAME@example.org", "same@example.org"])
        ]
    assert codes == [302, 302, 429]
    assert len(mailoutbox) == 2


def test_it_rate_limits_one_client_with_a_clear_page(client, settings, mailoutbox):
    settings.ALERTS_RATE_PER_IP = 3
    responses = [_post(client, f"person{i}@example.org") for i in range(4)]
    assert [r.status_code for r in responses] == [302, 302, 302, 429]
    limited = responses[-1]
    assert limited["Retry-After"] == "60"
    assert "Too many requests" in limited.content.decode()
    assert Subscriber.objects.count() == 3


def test_it_rate_limits_known_and_unknown_addresses_alike(client, settings):
    settings.ALERTS_RATE_PER_ADDRESS = 1
    SubscriberFactory(email="known@example.org")
    for email in ["known@example.org", "unknown@example.org"]:
        assert _post(client, email).status_code == 302
        assert _post(client, email).status_code == 429


def test_it_does_not_accept_a_get_on_the_post_endpoint(client):
    assert client.get(reverse("alerts:subscribe")).status_code == 405
