"""Clausewatch settings: one module, read from the environment.

No environment at all gives the embedded defaults: SQLite under var/, tasks run
in-process, email printed to the console. See README "Configuration".
"""

from __future__ import annotations

import os
import tempfile
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.utils.csp import CSP

from config.env import env_bool, env_float, env_int, env_list, env_str, mailer_from_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", default=True)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "insecure-development-key-only-for-DEBUG-never-deploy-this"  # noqa: S105

SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [SITE_URL] if SITE_URL else [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django_htmx",
    "platforms",
    "snapshots",
    "alerts",
    "timeline",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]

# Database: PostgreSQL when DATABASE_URL is set, SQLite under var/ otherwise.
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)
    }
    # One test database per process, so parallel test runs on one server never collide.
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "clausewatch.sqlite3",
            "OPTIONS": {
                # WAL and a busy timeout let the in-process tracker and the web server share the file.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
            },
            # A file, not shared-cache memory: concurrent tests then wait on locks as in
            # production. One per process, so parallel test runs never share it.
            "TEST": {
                "NAME": Path(tempfile.gettempdir()) / f"clausewatch-test-{os.getpid()}.sqlite3"
            },
        }
    }
IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis: Celery broker and shared cache when REDIS_URL is set; in-process otherwise.
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TIMEZONE = "UTC"
# Celery's Django fixup closes the database connection around every task unless this is
# set; it then closes it only every this many tasks. A new PostgreSQL backend per check
# (a fork, an authentication) cost more CPU than an unchanged check itself. Between tasks
# config/celery_db.py applies CONN_MAX_AGE and drops broken connections, as Django does
# between requests.
CELERY_DB_REUSE_MAX = 1000
# django-celery-beat does not support Django 6.1, so the schedule lives here.
CELERY_BEAT_SCHEDULE: dict = {
    "dispatch-due-checks": {"task": "snapshots.tasks.dispatch_due_checks", "schedule": 60.0},
    "prune-check-log": {"task": "snapshots.tasks.prune_check_log", "schedule": 6 * 3600.0},
    "prune-snapshots": {"task": "snapshots.tasks.prune_snapshots", "schedule": 24 * 3600.0},
}

# Email: MAILERS (Django 6.1). EMAIL_URL=smtp://user:pass@host:port; console when unset.
EMAIL_URL = env_str("EMAIL_URL", "console://" if DEBUG else "smtp://localhost:25")
MAILERS = {"default": mailer_from_url(EMAIL_URL)}
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Clausewatch <alerts@clausewatch.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
ADMINS = [a for a in env_list("ADMINS")]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Security. Production (DEBUG=0) passes `check --deploy --fail-level WARNING`.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}
# The admin is the only place to log in.
LOGIN_URL = "admin:login"
LOGIN_REDIRECT_URL = "admin:index"
# Admin login attempts (POSTs) per client address and per user name, per window
# (config/admin_login.py; the client address as for alerts, see ALERTS_CLIENT_IP_HEADER).
ADMIN_LOGIN_RATE_PER_IP = env_int("ADMIN_LOGIN_RATE_PER_IP", 10)
ADMIN_LOGIN_RATE_PER_USERNAME = env_int("ADMIN_LOGIN_RATE_PER_USERNAME", 10)
ADMIN_LOGIN_RATE_WINDOW = env_int("ADMIN_LOGIN_RATE_WINDOW_SECONDS", 900)
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
# /metrics (Prometheus): scrapers send `Authorization: Bearer METRICS_TOKEN`. Unset: loopback
# only while DEBUG is on; in production the endpoint answers 404.
METRICS_TOKEN = env_str("METRICS_TOKEN")

# Every line carries the task, document and change it is about (config/logcontext.py);
# LOG_FORMAT=json writes one JSON object per line for a log pipeline.
LOG_FORMAT = env_str("LOG_FORMAT", "plain")
if LOG_FORMAT not in {"plain", "json"}:
    from config.env import EnvError

    raise EnvError(f"LOG_FORMAT={LOG_FORMAT!r} is not plain or json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "config.logcontext.ContextFilter"}},
    "formatters": {
        "plain": {"()": "config.logcontext.PlainFormatter"},
        "json": {"()": "config.logcontext.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Tracking pipeline.
FETCH_ALLOW_PRIVATE = env_bool("FETCH_ALLOW_PRIVATE", default=False)
# Private networks the tracker may fetch from even with FETCH_ALLOW_PRIVATE off (an internal mirror).
FETCH_ALLOWED_NETWORKS = env_list("FETCH_ALLOWED_NETWORKS")
FETCH_USER_AGENT = env_str(
    "FETCH_USER_AGENT", f"Clausewatch/0.1 (+{SITE_URL}/about; terms-change tracker)"
)
FETCH_ACCEPT_LANGUAGE = env_str("FETCH_ACCEPT_LANGUAGE", "en-US,en;q=0.8")
FETCH_MAX_BYTES = env_int("FETCH_MAX_BYTES", 10 * 1024 * 1024)
FETCH_CONNECT_TIMEOUT = env_float("FETCH_CONNECT_TIMEOUT", 10.0)
FETCH_READ_TIMEOUT = env_float("FETCH_READ_TIMEOUT", 20.0)
FETCH_TOTAL_TIMEOUT = env_float("FETCH_TOTAL_TIMEOUT", 60.0)
FETCH_RETRIES = env_int("FETCH_RETRIES", 2)
FETCH_HOST_INTERVAL = env_float("FETCH_HOST_INTERVAL", 1.0)
# A Celery check whose host is not free for longer than this is re-queued for its slot
# rather than sleep in the worker (which would hold a process idle).
FETCH_THROTTLE_PATIENCE = env_float("FETCH_THROTTLE_PATIENCE", 0.1)
WAYBACK_URL = env_str("WAYBACK_URL", "https://web.archive.org").rstrip("/")
TRACK_DEFAULT_INTERVAL = timedelta(hours=env_int("TRACK_DEFAULT_INTERVAL_HOURS", 6))
# A text that loses more than this share of its words is held until the next check confirms it.
TRACK_SHRINK_THRESHOLD = env_float("TRACK_SHRINK_THRESHOLD", 0.5)
# A → B → A within this window is a flip-flop (A/B test, geo variant), not a pair of changes.
TRACK_FLIP_FLOP_WINDOW = timedelta(hours=env_int("TRACK_FLIP_FLOP_WINDOW_HOURS", 7 * 24))
# Failures before a document is marked failing, and the longest back-off between its checks.
TRACK_FAILING_AFTER = env_int("TRACK_FAILING_AFTER", 3)
TRACK_MAX_BACKOFF = timedelta(hours=env_int("TRACK_MAX_BACKOFF_HOURS", 48))
# A claimed check that has not finished after this long is dispatched again (worker died).
TRACK_CLAIM_LEASE = timedelta(minutes=env_int("TRACK_CLAIM_LEASE_MINUTES", 15))
# Unchanged and not-modified checks older than this are pruned from the check log.
TRACK_CHECK_RETENTION = timedelta(days=env_int("TRACK_CHECK_RETENTION_DAYS", 30))
# Raw bodies behind versions superseded more than this long ago are released (text and diffs
# stay). 0 keeps them forever: they are the evidence of what a site served. See snapshots/retention.py.
_snapshot_days = env_int("TRACK_SNAPSHOT_RETENTION_DAYS", 0)
TRACK_SNAPSHOT_RETENTION = timedelta(days=_snapshot_days) if _snapshot_days > 0 else None
TRACK_DISPATCH_BATCH = env_int("TRACK_DISPATCH_BATCH", 500)

# Alerts ------------------------------------------------------------------------------------
# Email alerts to subscribers and admin incident emails (alerts/). Times in UTC.
from celery.schedules import crontab  # noqa: E402

# The MAILERS alias alerts send through (a separate bulk relay can be its own alias).
ALERTS_MAILER = env_str("ALERTS_MAILER", "default")
ALERTS_CONFIRM_MAX_AGE = timedelta(hours=env_int("ALERTS_CONFIRM_MAX_AGE_HOURS", 72))
# Manage and unsubscribe links in emails: long-lived (RFC 8058), killed by unsubscribing.
ALERTS_LINK_MAX_AGE = timedelta(days=env_int("ALERTS_LINK_MAX_AGE_DAYS", 400))
# Subscribe / link requests per client address and per email address, per window.
ALERTS_RATE_PER_IP = env_int("ALERTS_RATE_PER_IP", 10)
ALERTS_RATE_PER_ADDRESS = env_int("ALERTS_RATE_PER_ADDRESS", 3)
ALERTS_RATE_WINDOW = env_int("ALERTS_RATE_WINDOW_SECONDS", 3600)
# Behind a proxy: the META key holding the client address (e.g. HTTP_X_REAL_IP).
ALERTS_CLIENT_IP_HEADER = env_str("ALERTS_CLIENT_IP_HEADER")
# Deliveries per task (one SMTP connection each).
ALERTS_CHUNK_SIZE = env_int("ALERTS_CHUNK_SIZE", 200)
ALERTS_MAX_ATTEMPTS = env_int("ALERTS_MAX_ATTEMPTS", 8)
ALERTS_RETRY_BASE = timedelta(seconds=env_int("ALERTS_RETRY_BASE_SECONDS", 60))
# A claimed delivery not finished after this is handed to another worker (the first one died).
ALERTS_CLAIM_LEASE = timedelta(seconds=env_int("ALERTS_CLAIM_LEASE_SECONDS", 600))
ALERTS_SWEEP_LIMIT = env_int("ALERTS_SWEEP_LIMIT", 20_000)
# Never alert about a change published longer ago than this, however the task is called.
ALERTS_MAX_CHANGE_AGE = timedelta(days=env_int("ALERTS_MAX_CHANGE_AGE_DAYS", 7))
ALERTS_DIGEST_MAX_LOOKBACK_DAYS = env_int("ALERTS_DIGEST_MAX_LOOKBACK_DAYS", 31)
# A diff whose email HTML is longer is replaced by a link (mail clients clip ~100 kB).
ALERTS_EMAIL_DIFF_MAX_CHARS = env_int("ALERTS_EMAIL_DIFF_MAX_CHARS", 60_000)
# A digest holds diffs up to this much HTML; its other changes come without (mail
# clients clip messages over ~100 kB).
ALERTS_DIGEST_MAX_CHARS = env_int("ALERTS_DIGEST_MAX_CHARS", 60_000)
# Digests run hourly and are idempotent per period, so a missed beat is caught up.
CELERY_BEAT_SCHEDULE["alerts-daily-digest"] = {
    "task": "alerts.tasks.send_digests",
    "schedule": crontab(minute=7),
    "args": ("daily",),
}
CELERY_BEAT_SCHEDULE["alerts-weekly-digest"] = {
    "task": "alerts.tasks.send_digests",
    "schedule": crontab(minute=17),
    "args": ("weekly",),
}
CELERY_BEAT_SCHEDULE["alerts-resume-deliveries"] = {
    "task": "alerts.tasks.resume_deliveries",
    "schedule": 60.0,
}

# Browser fetcher ---------------------------------------------------------------------------
# Headless Chromium for documents with fetcher="browser", and for pages that block plain HTTP.
BROWSER_EXECUTABLE = env_str("BROWSER_EXECUTABLE", "/usr/bin/chromium")
# The whole fetch: navigation, waiting for the first `select` selector, reading the DOM.
BROWSER_TIMEOUT = env_float("BROWSER_TIMEOUT", 45.0)
# Without a selector, read the page once the network is idle or after this many seconds.
BROWSER_IDLE_WAIT = env_float("BROWSER_IDLE_WAIT", 5.0)
BROWSER_LAUNCH_TIMEOUT = env_float("BROWSER_LAUNCH_TIMEOUT", 30.0)
# Retry with the browser when plain HTTP gets 403/406 or a bot-challenge page.
BROWSER_FALLBACK = env_bool("BROWSER_FALLBACK", default=True)

# Wayback backfill ----------------------------------------------------------------------------
# `manage.py backfill` and the admin action read a document's history from WAYBACK_URL.
# The archive answers 429 above about a CDX query a second (averaged over minutes): stay well
# under it, and fetch captures a few a second. Shared by a process's backfills (and through
# Redis, when REDIS_URL is set, by every process). Archive requests go through the fetcher's
# SSRF guard: a local archive on a private address needs FETCH_ALLOW_PRIVATE.
WAYBACK_CDX_PER_MINUTE = env_float("WAYBACK_CDX_PER_MINUTE", 24.0)
WAYBACK_CAPTURES_PER_SECOND = env_float("WAYBACK_CAPTURES_PER_SECOND", 3.0)
# Captures per CDX page; longer histories are read page by page with the resume key.
WAYBACK_CDX_PAGE_SIZE = env_int("WAYBACK_CDX_PAGE_SIZE", 5000)
# The CDX server is slow on long histories: its own (longer) timeout.
WAYBACK_CDX_TIMEOUT = env_float("WAYBACK_CDX_TIMEOUT", 120.0)
# Retries of a failing request (429, 5xx, timeouts), backing off from WAYBACK_BACKOFF seconds
# or as long as Retry-After says; a wait longer than WAYBACK_MAX_WAIT stops the run instead.
WAYBACK_RETRIES = env_int("WAYBACK_RETRIES", 3)
WAYBACK_BACKOFF = env_float("WAYBACK_BACKOFF", 5.0)
WAYBACK_MAX_WAIT = env_float("WAYBACK_MAX_WAIT", 300.0)
# Captures failing one after another that stop a run (rerun to continue where it stopped).
WAYBACK_MAX_FAILURES = env_int("WAYBACK_MAX_FAILURES", 3)
