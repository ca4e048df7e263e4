from __future__ import annotations

import os

from celery import Celery

from config.logcontext import connect_celery_signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("clausewatch")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Task name and id on every log line; the worker logs through Django's LOGGING.
connect_celery_signals()
