from __future__ import annotations

import uuid

import pytest

from tests.alerts.smtp_servers import SMTPSink, smtp_mailers


@pytest.fixture(autouse=True)
def _alerts_settings(settings):
    settings.SITE_URL = "https://clausewatch.test"
    settings.ALERTS_MAILER = "default"
    settings.ALERTS_CHUNK_SIZE = 50
    settings.ADMINS = []
    # Rate-limit counters live in the configured cache (Redis in CI): a fresh key prefix per
    # test isolates them without flushing anything, and they expire within a minute.
    settings.ALERTS_RATE_WINDOW = 60
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}
    }


@pytest.fixture
def smtp_sink(settings):
    """A real SMTP server on loopback, configured as the default mailer."""
    with SMTPSink() as sink:
        settings.MAILERS = smtp_mailers(sink.port)
        yield sink
