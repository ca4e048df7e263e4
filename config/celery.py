from __future__ import annotations

import os

from celery import Celery

from config import celery_db, logcontext

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("clausewatch")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Task name and id on every log line; the worker logs through Django's LOGGING.
logcontext.connect_celery_signals()
# Workers reuse their database connection between tasks (Celery's default is a new one each).
celery_db.connect_celery_signals()
