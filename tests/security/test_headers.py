"""Security headers on every kind of response, a CSP the pages actually satisfy, and HSTS only
in production."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from tests.security.audit import audit_html
from tests.security.hostile import hostile_platform, stored_page_document
from tests.security.routes import routes

pytestmark = pytest.mark.django_db
REPO = Path(__file__).resolve().parents[2]


def csp(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = (part.strip().split() for part in header.split(";") if part.strip())
    return {d[0]: d[1:] for d in directives}


@pytest.fixture
def responses(client, admin_user, httpserver):
    h = hostile_platform()
    stored = stored_page_document(httpserver)
    staff = type(client)()
    staff.force_login(admin_user)
    return {
        "page": client.get("/"),
        "change": client.get(h.change.get_absolute_url()),
        "htmx partial": client.get("/?q=alert", headers={"HX-Request": "true"}),
        "feed": client.get("/feeds/changes.atom"),
        "api": client.get("/api/v1/changes"),
        "csv": client.get("/changes.csv"),
        "alerts form": client.get("/alerts/"),
        "not found": client.get("/changes/999999/"),
        "admin login": client.get(reverse("admin:login")),
        "admin": staff.get(reverse("admin:platforms_document_change", args=[h.document.pk])),
        "admin preview": staff.get(reverse("admin:platforms_document_preview", args=[stored.pk])),
    }


def test_it_sends_the_security_headers_on_every_kind_of_response(responses):
    for name, response in responses.items():
        assert response["X-Frame-Options"] == "DENY", name
        assert response["X-Content-Type-Options"] == "nosniff", name
        assert response["Referrer-Policy"] == "strict-origin-when-cross-origin", name
        assert response["Cross-Origin-Opener-Policy"] == "same-origin", name
        policy = csp(response)
        assert policy["frame-ancestors"] == ["'none'"], name
        assert policy["default-src"] == ["'self'"], name
        assert policy["object-src"] == ["'none'"], name
        assert policy["base-uri"] == ["'none'"], name
        for directive in ("script-src", "style-src"):
            assert not {"'unsafe-inline'", "'unsafe-eval'", "*"} & set(policy[directive]), name


def test_it_serves_pages_whose_scripts_and_styles_the_policy_allows(responses, admin_client):
    # The pages above with hostile data, and every other route as it comes (admin included).
    for route in routes():
        responses.setdefault(route.name, admin_client.get(route.path))
    for name, response in responses.items():
        if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
            continue
        policy = csp(response)
        nonces = {v.removeprefix("'nonce-").rstrip("'") for v in policy["script-src"]}
        audit = audit_html(response.content.decode())
        # style-src 'self': a style attribute or <style> element would be blocked.
        assert audit.style_attributes == [], (name, audit.style_attributes)
        assert audit.style_elements == 0, name
        assert audit.handlers == [], name
        for script in audit.scripts:
            # script-src 'self' 'nonce-…': files of ours, or inline code carrying the nonce.
            assert script.get("src", "").startswith("/") or script.get("nonce") in nonces, name


def test_it_keeps_htmx_from_injecting_inline_styles_or_evaluating_code(client):
    page = client.get("/").content.decode()
    start = page.index('name="htmx-config" content=\'') + len('name="htmx-config" content=\'')
    config = json.loads(page[start : page.index("'", start)])
    assert config["includeIndicatorStyles"] is False  # htmx would add a <style> CSP blocks
    assert config["allowEval"] is False
    assert config["allowScriptTags"] is False


def test_it_sends_no_hsts_outside_production(client):
    response = client.get("/", secure=True)
    assert not response.has_header("Strict-Transport-Security")


PRODUCTION_PROBE = """
import json, django
django.setup()
from django.test import Client
c = Client()
secure = c.get("/healthz", secure=True, HTTP_HOST="clausewatch.example")
plain = c.get("/", HTTP_HOST="clausewatch.example")
print(json.dumps({"hsts": secure.get("Strict-Transport-Security"), "status": secure.status_code,
                  "plain": plain.status_code, "location": plain.get("Location")}))
"""


def test_it_sends_hsts_and_redirects_to_https_in_production(tmp_path):
    drop = {"DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env |= {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "0",
        "SECRET_KEY": "a-long-random-production-secret-" + "x" * 40,
        "ALLOWED_HOSTS": "clausewatch.example",
        "SITE_URL": "https://clausewatch.example",
        "VAR_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-c", PRODUCTION_PROBE],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["status"] == 200
    assert probe["hsts"] == "max-age=31536000; includeSubDomains; preload"
    assert probe["plain"] == 301
    assert probe["location"] == "https://clausewatch.example/"
