"""A real Celery worker on Redis, killed with SIGKILL in the middle of a fan-out, then restarted:
every subscriber gets exactly one email in the SMTP sink (counted per recipient).

The fault-injection suite's "worker killed mid-fan-out" case; the other faults (worker killed
mid-check, Redis and PostgreSQL restarted, web process killed) are in tests/faults/, whose
process helpers this uses.

The worker process opens pytest-django's test database (PostgreSQL, or the SQLite test file)
and a dedicated Redis database, emptied before and after.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from alerts.models import Delivery, DeliveryState
from tests.alerts.helpers import make_change
from tests.alerts.smtp_servers import SMTPSink
from tests.factories import SubscriberFactory
from tests.faults.processes import Worker

REPO = Path(__file__).resolve().parents[2]
REDIS_DB = 5
SUBSCRIBERS = 150

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _redis_url() -> str:
    base = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    return base.rsplit("/", 1)[0] + f"/{REDIS_DB}"


@pytest.fixture
def redis_db():
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(_redis_url(), socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"needs Redis at {_redis_url()}: {exc}")
    client.flushdb()
    yield _redis_url()
    client.flushdb()


def _database_env() -> dict[str, str]:
    """Environment that points the worker at this test run's database."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        name = str(db["NAME"])
        if name == ":memory:" or "mode=memory" in name:
            pytest.skip("the SQLite test database is in memory: another process cannot open it")
        return {"ALERTS_TEST_SQLITE": name}
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    return {"DATABASE_URL": f"postgres://{db['USER']}{password}@{host}:{port}/{db['NAME']}"}


def _wait(predicate, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}; worker log:\n{log.read_text()[-4000:]}")


def _state(sink: SMTPSink) -> str:
    from collections import Counter

    states = Counter(Delivery.objects.values_list("state", flat=True))
    return f"deliveries {dict(states)}; sink {len(sink.messages)} messages"


def test_it_sends_exactly_one_email_to_everyone_when_the_worker_is_killed_mid_fan_out(
    redis_db, tmp_path
):
    from celery import Celery

    database = _database_env()
    change = make_change()
    subscribers = SubscriberFactory.create_batch(SUBSCRIBERS)
    broker = Celery("alerts-test", broker=redis_db)

    # A slow SMTP server, so the fan-out is still running when the worker is killed.
    with SMTPSink(delay=0.02) as sink:
        env = {
            **{k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
            **database,
            "DJANGO_SETTINGS_MODULE": "tests.alerts.worker_settings",
            "REDIS_URL": redis_db,
            "EMAIL_URL": f"smtp://127.0.0.1:{sink.port}?timeout=5",
            "SITE_URL": "https://clausewatch.test",
            "SECRET_KEY": settings.SECRET_KEY,
            "ALERTS_CHUNK_SIZE": "10",
            # Claims of the killed worker are handed over after 2 s instead of 10 minutes.
            "ALERTS_CLAIM_LEASE_SECONDS": "2",
            "LOG_LEVEL": "INFO",
        }
        worker = Worker(env, tmp_path / "worker.log", name="alerts-test")
        try:
            worker.start()
            broker.send_task("alerts.tasks.fan_out_change", args=[change.pk])
            _wait(lambda: len(sink.messages) >= 30, 60, "the first emails", worker.log)
            worker.kill()
            at_kill = len(sink.messages)
            assert at_kill < SUBSCRIBERS, "the fan-out finished before the kill"
            interrupted = Delivery.objects.filter(state=DeliveryState.SENDING).count()

            worker.start()

            def all_sent() -> bool:
                # What beat does every minute: hand over claims whose lease ran out.
                broker.send_task("alerts.tasks.resume_deliveries")
                return (
                    Delivery.objects.filter(state=DeliveryState.SENT).count() == SUBSCRIBERS
                    and len(sink.messages) >= SUBSCRIBERS
                )

            deadline = time.monotonic() + 90
            while not all_sent():
                assert time.monotonic() < deadline, _state(sink)
                time.sleep(1.0)
            time.sleep(1.0)  # anything late (a duplicate) would arrive now
        finally:
            worker.stop()
            broker.close()

        assert sink.recipients() == {s.email: 1 for s in subscribers}
    assert Delivery.objects.filter(state=DeliveryState.SENT).count() == SUBSCRIBERS
    print(f"killed after {at_kill}/{SUBSCRIBERS} emails, {interrupted} deliveries claimed")
