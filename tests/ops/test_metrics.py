"""/metrics: Prometheus text read from the database at scrape time, behind a bearer token."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from alerts.models import Delivery
from config.metrics import TrackerCollector
from platforms.models import Document
from snapshots.models import ChangeKind, Check
from tests.alerts.helpers import make_change
from tests.factories import DocumentFactory, SubscriberFactory, VersionFactory

pytestmark = pytest.mark.django_db
TOKEN = "scrape-token-for-tests"
AUTH = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(samples, name: str, **labels) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


@pytest.fixture
def scrape(client, settings):
    settings.METRICS_TOKEN = TOKEN
    settings.REDIS_URL = ""

    def get():
        response = client.get("/metrics", **AUTH)
        assert response.status_code == 200, response.content
        assert response["Content-Type"].startswith("text/plain; version=")
        return _samples(response.content.decode())

    return get


def _check(document, outcome: str, ago: timedelta) -> Check:
    return Check.objects.create(document=document, outcome=outcome, checked_at=timezone.now() - ago)


def test_it_counts_checks_by_outcome_in_each_window(scrape):
    doc = DocumentFactory()
    _check(doc, "unchanged", timedelta(minutes=5))
    _check(doc, "unchanged", timedelta(minutes=50))
    _check(doc, "unchanged", timedelta(hours=5))
    _check(doc, "error", timedelta(minutes=1))
    _check(doc, "changed", timedelta(hours=23))
    _check(doc, "changed", timedelta(hours=25))  # outside both windows

    samples = scrape()
    assert _value(samples, "clausewatch_checks", outcome="unchanged", window="1h") == 2
    assert _value(samples, "clausewatch_checks", outcome="unchanged", window="24h") == 3
    assert _value(samples, "clausewatch_checks", outcome="error", window="1h") == 1
    assert _value(samples, "clausewatch_checks", outcome="changed", window="1h") == 0
    assert _value(samples, "clausewatch_checks", outcome="changed", window="24h") == 1
    # Every outcome is present, so a rate or ratio never divides by a missing series.
    assert _value(samples, "clausewatch_checks", outcome="blocked", window="24h") == 0


def test_it_reports_documents_by_status_failing_overdue_and_the_last_check(scrape):
    now = timezone.now()
    DocumentFactory.create_batch(2, status="ok", last_checked_at=now - timedelta(minutes=3))
    DocumentFactory(
        status="failing", consecutive_failures=4, last_checked_at=now - timedelta(hours=2)
    )
    DocumentFactory(
        status="blocked", consecutive_failures=1, next_check_at=now - timedelta(hours=1)
    )
    DocumentFactory(status="failing", consecutive_failures=9, active=False)
    DocumentFactory(status="new", next_check_at=now + timedelta(hours=1))

    samples = scrape()
    assert _value(samples, "clausewatch_documents", status="ok", active="true") == 2
    assert _value(samples, "clausewatch_documents", status="failing", active="true") == 1
    assert _value(samples, "clausewatch_documents", status="failing", active="false") == 1
    assert _value(samples, "clausewatch_documents", status="selector_broken", active="true") == 0
    assert _value(samples, "clausewatch_documents_failing") == 2  # active ones only
    assert _value(samples, "clausewatch_documents_overdue") == 1
    age = _value(samples, "clausewatch_last_check_age_seconds")
    assert 170 <= age <= 240


def test_it_reports_versions_changes_emails_and_subscribers(scrape):
    published = make_change()
    make_change(document=published.document, kind=ChangeKind.FLIP_FLOP, published_at=None)
    VersionFactory()
    senders = SubscriberFactory.create_batch(4)
    SubscriberFactory(status="pending", confirmed_at=None)
    for subscriber, state in zip(senders, ["sent", "sent", "sent", "failed"], strict=True):
        Delivery.objects.create(
            kind="instant", subscriber=subscriber, change=published, state=state
        )
    Delivery.objects.create(
        kind="daily", subscriber=senders[0], period_end=timezone.now(), state="sent"
    )

    samples = scrape()
    assert _value(samples, "clausewatch_versions") == 4  # 3 of the document, 1 elsewhere
    assert _value(samples, "clausewatch_changes", kind="change", published="true") == 1
    assert _value(samples, "clausewatch_changes", kind="flip_flop", published="false") == 1
    assert _value(samples, "clausewatch_deliveries", kind="instant", state="sent") == 3
    assert _value(samples, "clausewatch_deliveries", kind="instant", state="failed") == 1
    assert _value(samples, "clausewatch_deliveries", kind="daily", state="sent") == 1
    assert _value(samples, "clausewatch_deliveries", kind="weekly", state="sent") == 0
    assert _value(samples, "clausewatch_subscribers", status="active") == 4
    assert _value(samples, "clausewatch_subscribers", status="pending") == 1
    # In-process tasks: there is no queue to measure.
    assert not any(name.startswith("clausewatch_queue") for name, _ in samples)


def test_it_answers_a_scrape_in_six_queries(settings, django_assert_num_queries):
    settings.REDIS_URL = ""
    for _ in range(3):
        doc = DocumentFactory(status="ok", last_checked_at=timezone.now())
        _check(doc, "unchanged", timedelta(minutes=1))
        make_change(document=doc)
    with django_assert_num_queries(6):
        families = list(TrackerCollector().collect())
    assert {f.name for f in families} >= {"clausewatch_checks", "clausewatch_documents"}


@pytest.fixture
def redis_db(settings):
    redis = pytest.importorskip("redis")
    base = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    url = base.rsplit("/", 1)[0] + "/7"
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"needs Redis at {url}: {exc}")
    client.flushdb()
    settings.REDIS_URL = url
    yield client
    client.flushdb()


def test_it_reports_the_celery_queue_depth_from_redis(scrape, redis_db):
    # `scrape` empties REDIS_URL first; `redis_db` then points it at a dedicated database.
    redis_db.rpush("celery", "a", "b", "c")
    redis_db.rpush("celery\x06\x166", "d")  # a message with priority 6
    redis_db.hset("unacked", mapping={"t1": "x", "t2": "y"})
    samples = scrape()
    assert _value(samples, "clausewatch_broker_up") == 1
    assert _value(samples, "clausewatch_queue_depth", queue="celery") == 4
    assert _value(samples, "clausewatch_queue_unacked") == 2


def test_it_reports_the_broker_down_instead_of_failing(client, settings):
    settings.METRICS_TOKEN = TOKEN
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # nothing listens on the discard port
    response = client.get("/metrics", **AUTH)
    assert response.status_code == 200
    samples = _samples(response.content.decode())
    assert _value(samples, "clausewatch_broker_up") == 0
    assert not any(name.startswith("clausewatch_queue") for name, _ in samples)


@pytest.mark.parametrize(
    "header",
    [None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer"],
)
def test_it_refuses_a_scrape_without_the_token(client, settings, header):
    settings.METRICS_TOKEN = TOKEN
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.get("/metrics", **extra)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"clausewatch_" not in response.content


def test_without_a_token_it_serves_loopback_in_debug_and_nobody_in_production(client, settings):
    settings.METRICS_TOKEN = ""
    settings.REDIS_URL = ""
    settings.DEBUG = True
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 404
    settings.DEBUG = False
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 404


def test_it_accepts_only_get(client, settings):
    settings.METRICS_TOKEN = TOKEN
    assert client.post("/metrics", **AUTH).status_code == 405
    assert Document.objects.count() == 0
