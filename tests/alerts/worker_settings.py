"""Settings for the Celery worker that test_worker_killed.py starts: the project's settings,
pointed at this test run's SQLite file when there is one (keeping its WAL, IMMEDIATE
transactions and busy timeout, which a sqlite:// DATABASE_URL would lose)."""

from __future__ import annotations

import os

from config.settings import *  # noqa: F403
from config.settings import DATABASES

if os.environ.get("ALERTS_TEST_SQLITE"):
    DATABASES["default"]["NAME"] = os.environ["ALERTS_TEST_SQLITE"]
