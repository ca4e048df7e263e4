from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from alerts.admin import csv_safe
from alerts.models import SubscriberStatus
from tests.alerts.helpers import make_change
from tests.factories import PlatformFactory, SubscriberFactory

pytestmark = pytest.mark.django_db


def _csv(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment;" in response["Content-Disposition"]
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_it_lists_and_searches_subscribers(admin_client):
    SubscriberFactory(email="findme@example.org")
    SubscriberFactory(email="other@example.org")
    url = reverse("admin:alerts_subscriber_changelist")
    response = admin_client.get(url, {"q": "findme"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "findme@example.org" in html and "other@example.org" not in html
    assert reverse("admin:alerts_subscriber_per_platform") in html


def test_it_exports_subscribers_as_csv_safe_from_formulas(admin_client):
    platform = PlatformFactory(slug="soundcloud")
    a = SubscriberFactory(email="=cmd|' /C calc'!a0@example.org", platforms=[platform])
    b = SubscriberFactory(email="plain@example.org")
    response = admin_client.post(
        reverse("admin:alerts_subscriber_changelist"),
        {"action": "export_csv", "_selected_action": [a.pk, b.pk]},
    )
    rows = _csv(response)
    assert rows[0][:3] == ["id", "email", "status"]
    by_id = {row[0]: row for row in rows[1:]}
    assert by_id[str(a.pk)][1] == "'=cmd|' /C calc'!a0@example.org"
    assert by_id[str(a.pk)][5] == "soundcloud"
    assert by_id[str(b.pk)][1] == "plain@example.org"
    assert by_id[str(b.pk)][5] == "all"


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "|x", "%x"])
def test_it_defuses_every_formula_prefix(value):
    assert csv_safe(value) == "'" + value


def test_it_lists_searches_and_exports_deliveries(admin_client):
    from alerts.tasks import fan_out_change

    change = make_change()
    SubscriberFactory(email="someone@example.org")
    fan_out_change.delay(change.pk)
    url = reverse("admin:alerts_delivery_changelist")
    page = admin_client.get(url, {"q": "someone"})
    assert page.status_code == 200
    assert "someone@example.org" in page.content.decode()
    assert admin_client.get(url, {"state__exact": "sent"}).status_code == 200
    from alerts.models import Delivery

    rows = _csv(
        admin_client.post(
            url,
            {
                "action": "export_csv",
                "_selected_action": list(Delivery.objects.values_list("pk", flat=True)),
            },
        )
    )
    assert rows[1][1:4] == ["someone@example.org", "instant", str(change.pk)]
    assert rows[1][5] == "sent"


def test_it_counts_active_subscribers_per_platform(admin_client, django_assert_max_num_queries):
    soundcloud, youtube = PlatformFactory(name="SoundCloud"), PlatformFactory(name="YouTube")
    SubscriberFactory.create_batch(2, platforms=[soundcloud])
    SubscriberFactory(platforms=[soundcloud, youtube])
    SubscriberFactory(platforms=[youtube], status=SubscriberStatus.UNSUBSCRIBED)
    SubscriberFactory()  # all platforms
    with django_assert_max_num_queries(10):
        response = admin_client.get(reverse("admin:alerts_subscriber_per_platform"))
    assert response.status_code == 200
    rows = {r["platform"].name: (r["chosen"], r["total"]) for r in response.context["rows"]}
    assert rows == {"SoundCloud": (3, 4), "YouTube": (1, 2)}


def test_it_keeps_the_per_platform_page_for_staff(client):
    response = client.get(reverse("admin:alerts_subscriber_per_platform"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
