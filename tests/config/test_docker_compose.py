"""docker compose can't run here, so keep docker-compose.yml honest by reading it."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = ("web", "worker", "beat")


def _settings_env_names() -> set[str]:
    source = (REPO / "config" / "settings.py").read_text()
    return set(re.findall(r'env_(?:str|bool|int|float|list)\(\s*"([A-Z_]+)"', source))


def _command(service: str) -> str:
    command = SERVICES[service]["command"]
    return " ".join(command) if isinstance(command, list) else " ".join(command.split())


def test_it_defines_every_service_of_the_contract():
    assert set(SERVICES) == {"web", "worker", "beat", "postgres", "redis", "mailpit"}


def test_it_passes_only_environment_the_settings_read():
    known = _settings_env_names()
    for name in APP_SERVICES:
        env = SERVICES[name]["environment"]
        unknown = set(env) - known
        assert not unknown, f"{name} sets {unknown}, which config/settings.py never reads"
        assert {
            "SECRET_KEY",
            "DATABASE_URL",
            "REDIS_URL",
            "EMAIL_URL",
            "SITE_URL",
            "ALLOWED_HOSTS",
        } <= set(env)
        assert env["DEBUG"] == "0"


def test_it_points_the_app_at_the_compose_postgres_redis_and_mailpit():
    env = SERVICES["web"]["environment"]
    pg = SERVICES["postgres"]["environment"]
    db = urlsplit(env["DATABASE_URL"])
    assert (db.hostname, db.port, db.username, db.password, db.path.lstrip("/")) == (
        "postgres",
        5432,
        pg["POSTGRES_USER"],
        pg["POSTGRES_PASSWORD"],
        pg["POSTGRES_DB"],
    )
    assert urlsplit(env["REDIS_URL"]).hostname == "redis"
    mail = urlsplit(env["EMAIL_URL"])
    assert (mail.scheme, mail.hostname, mail.port) == ("smtp", "mailpit", 1025)


def test_it_runs_the_same_commands_as_the_makefile():
    makefile = (REPO / "Makefile").read_text()
    assert "gunicorn config.wsgi" in _command("web")
    assert "manage.py migrate" in _command("web")
    assert _command("worker").startswith("celery -A config worker")
    assert _command("beat").startswith("celery -A config beat")
    assert "celery -A config worker" in makefile
    assert "celery -A config beat" in makefile
    assert "gunicorn config.wsgi" in makefile


def test_it_has_health_checks_and_named_volumes():
    for name in ("web", "postgres", "redis", "mailpit", "worker"):
        assert "healthcheck" in SERVICES[name], name
    assert "/healthz" in " ".join(SERVICES["web"]["healthcheck"]["test"])
    declared = set(COMPOSE["volumes"])
    used = {
        v.split(":")[0]
        for s in SERVICES.values()
        for v in s.get("volumes", [])
        if not v.startswith((".", "/"))
    }
    assert used <= declared
    assert "postgres-data" in used
    for name in APP_SERVICES:
        deps = SERVICES[name]["depends_on"]
        assert deps["postgres"]["condition"] == "service_healthy"
        assert deps["redis"]["condition"] == "service_healthy"


def test_it_builds_an_image_that_installs_from_the_lock_file():
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "uv sync --frozen --no-dev" in dockerfile
    assert "COPY pyproject.toml uv.lock .python-version" in dockerfile
    assert "chromium" in dockerfile
    python = (REPO / ".python-version").read_text().strip()
    assert f"python:{python.rsplit('.', 1)[0]}" in dockerfile
