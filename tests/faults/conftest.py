"""Fixtures for the fault-injection tests: private servers the tests may kill, and the
processes (worker, web) that run against them. Everything is torn down even on failure.

These tests need PostgreSQL (the worker and web processes share pytest-django's test
database, and some faults are row locks) and a redis-server binary; CI runs them with
DATABASE_URL and REDIS_URL set. The shared servers in DATABASE_URL/REDIS_URL are never
restarted: faults to Redis or PostgreSQL happen to private instances started here.
"""

from __future__ import annotations

import os
import shutil

import pytest
from django.db import connection

from tests.alerts.smtp_servers import SMTPSink
from tests.faults.processes import PG_BIN, PostgresCluster, RedisServer


@pytest.fixture(autouse=True)
def _postgres_only(request):
    if "django_db" in request.keywords and connection.vendor != "postgresql":
        pytest.skip("fault tests run against PostgreSQL (CI sets DATABASE_URL)")


@pytest.fixture
def redis_server(tmp_path):
    if not shutil.which("redis-server"):
        pytest.skip("needs the redis-server binary")
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.kill()


@pytest.fixture
def broker(redis_server):
    """A Celery client of the private Redis, to enqueue tasks as the scheduler and beat do."""
    from celery import Celery

    app = Celery("faults-test", broker=redis_server.url())
    yield app
    app.close()


@pytest.fixture
def redis_client(redis_server):
    import redis

    client = redis.Redis.from_url(redis_server.url(), socket_connect_timeout=2)
    yield client
    client.close()


@pytest.fixture
def smtp():
    with SMTPSink() as sink:
        yield sink


@pytest.fixture(scope="module")
def pg_cluster():
    if connection.vendor != "postgresql":
        pytest.skip("fault tests run against PostgreSQL (CI sets DATABASE_URL)")
    if PG_BIN is None or (os.geteuid() == 0 and not shutil.which("runuser")):
        pytest.skip("needs PostgreSQL server binaries (and runuser, as root)")
    cluster = PostgresCluster()
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.cleanup()


@pytest.fixture
def running():
    """Processes a test starts; stopped (killed if they will not stop) afterwards."""
    started: list = []
    yield started
    for process in reversed(started):
        process.stop()
