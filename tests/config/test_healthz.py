from __future__ import annotations

import pytest


@pytest.mark.django_db
def test_it_reports_the_database_and_broker(client, settings):
    settings.REDIS_URL = ""
    response = client.get("/healthz")
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "ok"
    assert data["checks"]["database"] == "ok"
    assert data["checks"]["broker"] == "in-process"


@pytest.mark.django_db
def test_it_checks_a_real_redis_broker(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:6379/0"
    response = client.get("/healthz")
    assert response.json()["checks"]["broker"] == "ok"


@pytest.mark.django_db
def test_it_answers_503_when_the_broker_is_unreachable(client, settings):
    # Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    settings.REDIS_URL = "redis://127.0.0.1:9/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    data = response.json()
    assert data["status"] == "unavailable"
    assert data["checks"]["broker"].startswith("error:")
    assert data["checks"]["database"] == "ok"


@pytest.mark.django_db
def test_it_answers_503_when_the_database_check_fails(client, monkeypatch):
    from config import health

    def down() -> str:
        raise OSError("database is down")

    monkeypatch.setattr(health, "_check_database", down)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "error: OSError"
