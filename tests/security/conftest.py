from __future__ import annotations

import uuid

import pytest
from django.core.cache import cache

from timeline.caching import clear_local


@pytest.fixture(autouse=True)
def _security_settings(settings):
    settings.SITE_URL = "https://clausewatch.test"
    settings.TIMELINE_CACHE_SECONDS = 0
    settings.ALERTS_RATE_WINDOW = 60
    # Login tests hash many passwords; the real hasher's cost is not what they test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Rate-limit counters live in the configured cache (Redis on CI): a fresh key prefix per
    # test isolates them without flushing anybody else's keys.
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}
    }
    cache.clear()
    clear_local()
    yield
    clear_local()
