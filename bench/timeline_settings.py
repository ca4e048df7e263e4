"""Settings for bench/timeline.py's gunicorn runs: the site's settings plus a trivial view."""

from __future__ import annotations

import os

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.timeline_urls"
# The bench measures throughput with and without the public page cache.
TIMELINE_CACHE_SECONDS = int(os.environ.get("TIMELINE_CACHE_SECONDS", "60"))
