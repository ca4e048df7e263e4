"""Settings for the processes the fault tests start (celery worker, gunicorn): the project's
settings, plus knobs that shorten the waits a test cannot sit through.

FAULTS_TRACK_CLAIM_LEASE_SECONDS  the check claim lease (TRACK_CLAIM_LEASE, minutes in prod)
FAULTS_VISIBILITY_TIMEOUT         seconds before Redis hands an unacknowledged task out again
"""

from __future__ import annotations

import os
from datetime import timedelta

from tests.alerts.worker_settings import *  # noqa: F403

if lease := os.environ.get("FAULTS_TRACK_CLAIM_LEASE_SECONDS"):
    TRACK_CLAIM_LEASE = timedelta(seconds=int(lease))
if visibility := os.environ.get("FAULTS_VISIBILITY_TIMEOUT"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": int(visibility),
        # Look for tasks to hand out again every second, not every 100 s.
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
    }
