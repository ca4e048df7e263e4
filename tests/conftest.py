from __future__ import annotations

import pytest

from config.celery import app as celery_app


@pytest.fixture(autouse=True)
def _isolated_settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    # Tests serve pages from loopback, which the SSRF guard refuses in production.
    settings.FETCH_ALLOW_PRIVATE = True
    settings.FETCH_HOST_INTERVAL = 0.0
    settings.FETCH_RETRIES = 1
    settings.FETCH_TOTAL_TIMEOUT = 10.0
    # Tasks run inline unless a test starts a real worker (those are marked slow).
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    from snapshots import fetching

    fetching.reset()
    yield
    fetching.reset()
    celery_app.conf.task_always_eager = eager
