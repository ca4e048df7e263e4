from __future__ import annotations

import pytest
from django.core.cache import cache

from timeline.caching import clear_local


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Counts and AI analyses are cached; each test starts from nothing.
    cache.clear()
    clear_local()
    yield
    cache.clear()
    clear_local()


@pytest.fixture(autouse=True)
def _no_page_cache(settings):
    # Tests change data between requests; tests of the page cache turn it back on.
    settings.TIMELINE_CACHE_SECONDS = 0
