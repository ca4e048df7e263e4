"""The admin's login view behind a rate limit, so passwords cannot be guessed at speed.

Attempts (POSTs) are counted per client address and per user name with the alerts' fixed-window
counters (alerts/ratelimit.py); past either limit the answer is a 429 until the window ends.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.http import HttpResponse
from django.views.decorators.cache import never_cache

from alerts import ratelimit


@never_cache
def admin_login(request, extra_context=None):
    if request.method == "POST" and _too_many(request):
        window = settings.ADMIN_LOGIN_RATE_WINDOW
        response = HttpResponse(
            f"Too many sign-in attempts. Try again in {max(1, window // 60)} minutes.\n",
            status=429,
            content_type="text/plain; charset=utf-8",
        )
        response["Retry-After"] = str(window)
        return response
    return admin.site.login(request, extra_context)


def _too_many(request) -> bool:
    window = settings.ADMIN_LOGIN_RATE_WINDOW
    username = request.POST.get("username", "").strip().lower()
    by_ip = ratelimit.hit(
        "admin-login-ip",
        ratelimit.client_ip(request),
        limit=settings.ADMIN_LOGIN_RATE_PER_IP,
        window=window,
    )
    # Per user name too: a guesser spread over many addresses still gets few tries per account.
    by_user = ratelimit.hit(
        "admin-login-user", username, limit=settings.ADMIN_LOGIN_RATE_PER_USERNAME, window=window
    )
    return not (by_ip and by_user)
