"""/healthz: is the database reachable, and the broker when one is configured."""

from __future__ import annotations

import time

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


def _check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def _check_broker() -> str:
    if not settings.REDIS_URL:
        return "in-process"
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    finally:
        client.close()
    return "ok"


@never_cache
@require_GET
def healthz(request):
    checks: dict[str, str] = {}
    healthy = True
    for name, check in (("database", _check_database), ("broker", _check_broker)):
        started = time.perf_counter()
        try:
            checks[name] = check()
        except Exception as exc:  # any failure makes the service unhealthy; report, don't raise
            healthy = False
            checks[name] = f"error: {type(exc).__name__}"
        checks[f"{name}_ms"] = f"{(time.perf_counter() - started) * 1000:.1f}"
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status=200 if healthy else 503,
    )
