from __future__ import annotations

import pytest

from snapshots.models import Change
from tests.timeline.builders import history

pytestmark = pytest.mark.django_db


@pytest.fixture
def page_cache(settings):
    settings.TIMELINE_CACHE_SECONDS = 60


def test_it_serves_repeat_requests_from_the_cache(client, page_cache, django_assert_num_queries):
    change = history()[0]
    first = client.get("/")
    assert "max-age=60" in first["Cache-Control"]
    Change.objects.filter(pk=change.pk).update(headline="Edited after caching")
    with django_assert_num_queries(0):
        again = client.get("/")
    assert again.content == first.content
    api = client.get(f"/api/v1/changes/{change.pk}").content
    with django_assert_num_queries(0):
        assert client.get(f"/api/v1/changes/{change.pk}").content == api


def test_it_caches_the_htmx_partial_and_the_page_apart(client, page_cache):
    history()
    page = client.get("/?ai=1").content.decode()
    partial = client.get("/?ai=1", headers={"HX-Request": "true"}).content.decode()
    assert "<html" in page and "<html" not in partial
    assert "<html" in client.get("/?ai=1").content.decode()
    restore = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
    assert "<html" in client.get("/?ai=1", headers=restore).content.decode()


def test_a_cached_page_still_loads_its_scripts_under_the_csp(client, page_cache):
    history()
    client.get("/")
    cached = client.get("/")
    csp = cached["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert '<script src="/static/js/timeline.js" defer></script>' in cached.content.decode()
    assert "Set-Cookie" not in cached


def test_it_does_not_cache_errors(client, page_cache):
    change = history()[0]
    Change.objects.filter(pk=change.pk).update(published_at=None)
    assert client.get(change.get_absolute_url()).status_code == 404
    Change.objects.filter(pk=change.pk).update(published_at=change.published_at)
    response = client.get(change.get_absolute_url())
    assert response.status_code == 200
    assert "max-age=60" in response["Cache-Control"]
