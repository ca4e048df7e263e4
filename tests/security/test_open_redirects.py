"""Open redirects: no `next`-like parameter or crafted path sends a visitor off-site."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from tests.factories import SubscriberFactory
from tests.security.routes import routes

pytestmark = pytest.mark.django_db

OFF_SITE = [
    "https://evil.example/",
    "//evil.example/",
    "/\\evil.example/",
    "https:evil.example",
    "\thttps://evil.example/",
    "javascript:alert(1)",
]
PARAMETERS = ["next", "redirect", "redirect_to", "return_to", "url", "to", "from", "back"]
OUR_HOSTS = {"testserver", "clausewatch.test"}


def assert_stays_on_site(response, where: str) -> None:
    location = response.get("Location") or response.get("HX-Redirect") or ""
    if location:
        assert url_has_allowed_host_and_scheme(location, allowed_hosts=OUR_HOSTS), (
            where,
            location,
        )


@pytest.mark.parametrize("target", OFF_SITE)
def test_it_logs_an_admin_in_without_following_an_off_site_next(client, admin_user, target):
    response = client.post(
        reverse("admin:login") + "?next=" + target,
        {"username": admin_user.username, "password": "password", "next": target},
    )
    assert response.status_code == 302  # logged in
    assert_stays_on_site(response, target)
    assert response["Location"] == reverse("admin:index")


@pytest.mark.parametrize("target", OFF_SITE)
def test_it_logs_out_without_following_an_off_site_next(admin_client, target):
    response = admin_client.post(reverse("admin:logout") + "?next=" + target)
    assert_stays_on_site(response, target)


def test_it_ignores_off_site_targets_on_every_public_route(client):
    subscriber = SubscriberFactory()
    for route in routes():
        if route.is_admin:
            continue
        for target in OFF_SITE:
            query = {name: target for name in PARAMETERS}
            assert_stays_on_site(client.get(route.path, query), f"GET {route.name}")
            data = {**query, "email": "someone@example.org", "scope": "all", "ai_only": "0"}
            data |= {"frequency": "instant", "token": "x"}
            response = client.post(route.path + "?next=" + target, data)
            assert_stays_on_site(response, f"POST {route.name}")
    assert subscriber.pk  # a subscriber existed, so the link views had someone to find


@pytest.mark.parametrize("path", ["//evil.example", "//evil.example/alerts", "/%2F%2Fevil.example"])
def test_it_adds_the_trailing_slash_without_leaving_the_site(client, path):
    assert_stays_on_site(client.get(path), path)
