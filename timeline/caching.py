"""Whole-response caching for the public pages, feeds and API.

Everything public is the same for every visitor, changes only when the tracker publishes
something, and is read far more often than it changes: a short shared cache (Redis in
production) serves repeat requests without touching the database. Staleness is bounded by
settings.TIMELINE_CACHE_SECONDS (default 60 s; 0 turns it off, as the tests do).

Why not cache_page: a hit there costs two cache round trips (the learned Vary header list,
then the response) and pickles a whole HttpResponse. Our responses vary on a known, fixed
set of request headers, so the key is computed directly and a hit is one GET of
(expires, status, headers, body). Each process also keeps the most recent responses in a
small in-memory LRU, until the same absolute expiry: popular pages (the home page, a
change everyone links to) are then served without even a round trip to Redis, and a
process never serves anything older than the shared cache would.

Cached pages keep no secret: no cookies, no CSRF tokens, no per-user content; a response
that sets a cookie is never stored. The CSP nonce in a cached page is stale, which is
harmless: our scripts load from 'self', and the header sent with a cached response carries
no nonce at all (nothing evaluated one).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.utils.cache import patch_response_headers

DEFAULT_SECONDS = 60
KEY_PREFIX = "timeline:response:v1:"
# Request headers a public response may depend on (see the views' vary_on_headers).
VARY = ("HTTP_HX_REQUEST", "HTTP_HX_HISTORY_RESTORE_REQUEST")
# Response headers worth keeping; the middleware adds the rest (CSP, security headers).
KEEP = ("Content-Type", "Vary", "Content-Disposition", "Access-Control-Allow-Origin")


LOCAL_ENTRIES = 256  # per process; a page is ~30 KB

_local: OrderedDict[str, tuple] = OrderedDict()
_local_lock = threading.Lock()


def clear_local() -> None:
    with _local_lock:
        _local.clear()


def _local_get(key: str):
    with _local_lock:
        entry = _local.get(key)
        if entry is None:
            return None
        if entry[0] <= time.time():
            del _local[key]
            return None
        _local.move_to_end(key)
        return entry


def _local_set(key: str, entry: tuple) -> None:
    with _local_lock:
        _local[key] = entry
        _local.move_to_end(key)
        while len(_local) > LOCAL_ENTRIES:
            _local.popitem(last=False)


def cache_seconds() -> int:
    return int(getattr(settings, "TIMELINE_CACHE_SECONDS", DEFAULT_SECONDS))


def _key(request) -> str:
    parts = [request.get_host(), request.get_full_path(), *(request.META.get(h, "") for h in VARY)]
    return KEY_PREFIX + hashlib.sha256("\n".join(parts).encode()).hexdigest()


def public_cache(view: Callable) -> Callable:
    """Serve GET responses from the shared cache for TIMELINE_CACHE_SECONDS."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        seconds = cache_seconds()
        if seconds <= 0 or request.method != "GET":
            return view(request, *args, **kwargs)
        key = _key(request)
        hit = _local_get(key)
        if hit is None:
            hit = cache.get(key)
            if hit is not None and hit[0] > time.time():
                _local_set(key, hit)
            else:
                hit = None
        if hit is not None:
            _, status, headers, body = hit
            response = HttpResponse(body, status=status)
            for name, value in headers:
                response[name] = value
            return response
        response = view(request, *args, **kwargs)
        if hasattr(response, "render") and callable(response.render):
            response.render()  # TemplateResponse (feeds render eagerly anyway)
        if response.status_code == 200 and not response.streaming and not response.cookies:
            patch_response_headers(response, seconds)
            headers = [
                (h, response[h]) for h in (*KEEP, "Cache-Control", "Expires") if h in response
            ]
            entry = (time.time() + seconds, response.status_code, headers, response.content)
            cache.set(key, entry, seconds)
            _local_set(key, entry)
        return response

    return wrapped
