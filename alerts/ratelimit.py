"""Fixed-window counters in the Django cache (Redis when REDIS_URL is set, else local memory).

Keys are HMACs of the client address or email address, so the cache never holds either.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from django.conf import settings
from django.core.cache import cache


def _key(scope: str, value: str, window: int, now: float) -> str:
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"{scope}:{value}".encode(), hashlib.sha256
    ).hexdigest()[:32]
    return f"alerts:rl:{scope}:{digest}:{int(now // window)}"


def hit(scope: str, value: str, *, limit: int, window: int, now: float | None = None) -> bool:
    """Count one request; False once more than `limit` were made in the current window."""
    key = _key(scope, value, window, time.time() if now is None else now)
    # add() then incr() is atomic on Redis and on the local-memory cache.
    if cache.add(key, 1, timeout=window + 1):
        return limit >= 1
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.add(key, 1, timeout=window + 1)
        count = 1
    return count <= limit


def client_ip(request) -> str:
    # Behind a proxy set ALERTS_CLIENT_IP_HEADER (e.g. HTTP_X_REAL_IP) to the header it sets.
    header = settings.ALERTS_CLIENT_IP_HEADER
    if header and request.META.get(header):
        return request.META[header].split(",")[0].strip()
    return request.META.get("REMOTE_ADDR", "")
