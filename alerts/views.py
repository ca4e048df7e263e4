"""Subscribe, confirm, manage, unsubscribe. No accounts: signed links authenticate.

Pages never reveal whether an address is subscribed: asking for alerts, or for the links
of an address, always ends on the same page with the same status.
"""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from alerts import emails, ratelimit, services
from alerts.forms import SCOPE_ALL, SCOPE_SELECTED, EmailForm, PreferencesForm, SubscribeForm
from alerts.models import Subscriber
from alerts.tokens import TokenError, TokenExpired, TokenInvalid


def _too_many(request, scope: str, value: str, limit: int):
    """The 429 page once `value` (a client or an address) asked too often, else None."""
    window = settings.ALERTS_RATE_WINDOW
    if ratelimit.hit(scope, value, limit=limit, window=window):
        return None
    response = render(
        request, "alerts/rate_limited.html", {"minutes": max(1, window // 60)}, status=429
    )
    response["Retry-After"] = str(window)
    return response


def _rate_limited(request):
    return _too_many(request, "ip", ratelimit.client_ip(request), settings.ALERTS_RATE_PER_IP)


def _rate_limited_address(request, email: str):
    # The same limit for every address, known or not: a 429 reveals nothing about it.
    return _too_many(request, "address", email, settings.ALERTS_RATE_PER_ADDRESS)


def _link_error(request, error: TokenError, *, purpose: str, token: str = ""):
    if isinstance(error, TokenInvalid):
        return render(request, "alerts/link_invalid.html", status=400)
    context = {"purpose": purpose, "token": token, "expired": isinstance(error, TokenExpired)}
    return render(request, "alerts/link_gone.html", context, status=410)


def _preferences_initial(subscriber: Subscriber) -> dict:
    return {
        "scope": SCOPE_ALL if subscriber.all_platforms else SCOPE_SELECTED,
        "platforms": list(subscriber.platforms.all()),
        "ai_only": "1" if subscriber.ai_only else "0",
        "frequency": subscriber.frequency,
    }


@require_GET
def subscribe_form(request):
    return render(request, "alerts/subscribe.html", {"form": SubscribeForm()})


@never_cache
@require_POST
def subscribe(request):
    if limited := _rate_limited(request):
        return limited
    form = SubscribeForm(request.POST)
    if not form.is_valid():
        return render(request, "alerts/subscribe.html", {"form": form}, status=400)
    email = form.cleaned_data["email"]
    if limited := _rate_limited_address(request, email):
        return limited
    services.subscription_request(
        email=email,
        all_platforms=form.all_platforms,
        platform_ids=form.platform_ids,
        ai_only=form.cleaned_data["ai_only"],
        frequency=form.cleaned_data["frequency"],
    )
    return redirect("alerts:check_inbox")


@require_GET
def check_inbox(request):
    return render(request, "alerts/check_inbox.html")


@never_cache
@require_http_methods(["GET", "POST"])
def confirm(request, token: str):
    try:
        if request.method == "POST":
            subscriber = services.subscription_confirm(token=token)
            return render(
                request,
                "alerts/confirmed.html",
                {"manage_url": emails.manage_url(subscriber)},
            )
        subscriber = services.confirm_token_check(token=token)
    except TokenError as error:
        return _link_error(request, error, purpose="confirm", token=token)
    return render(
        request,
        "alerts/confirm.html",
        {"subscriber": subscriber, "preferences": emails.describe_preferences(subscriber)},
    )


@never_cache
@require_POST
def confirm_renew(request):
    if limited := _rate_limited(request):
        return limited
    try:
        services.confirm_link_renew(token=request.POST.get("token", ""))
    except TokenInvalid:
        return render(request, "alerts/link_invalid.html", status=400)
    return redirect("alerts:check_inbox")


@never_cache
@require_http_methods(["GET", "POST"])
def manage(request, token: str):
    try:
        subscriber = services.link_subscriber(purpose="manage", token=token)
    except TokenError as error:
        return _link_error(request, error, purpose="manage")
    if subscriber is None or not subscriber.is_active:
        return render(request, "alerts/unsubscribed.html")
    saved = False
    if request.method == "POST":
        form = PreferencesForm(request.POST)
        if form.is_valid():
            subscriber = services.subscription_update(
                subscriber=subscriber,
                all_platforms=form.all_platforms,
                platform_ids=form.platform_ids,
                ai_only=form.cleaned_data["ai_only"],
                frequency=form.cleaned_data["frequency"],
            )
            saved = True
            form = PreferencesForm(initial=_preferences_initial(subscriber))
    else:
        form = PreferencesForm(initial=_preferences_initial(subscriber))
    context = {
        "form": form,
        "subscriber": subscriber,
        "saved": saved,
        "preferences": emails.describe_preferences(subscriber),
        "unsubscribe_url": emails.unsubscribe_url(subscriber),
    }
    status = 400 if request.method == "POST" and not saved else 200
    return render(request, "alerts/manage.html", context, status=status)


@never_cache
@csrf_exempt  # RFC 8058 one-click: a POST from the mail provider, no cookie; the token is the proof.
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    try:
        subscriber = services.link_subscriber(purpose="unsubscribe", token=token)
    except TokenError as error:
        return _link_error(request, error, purpose="unsubscribe")
    if subscriber is None or not subscriber.is_active:
        return render(request, "alerts/unsubscribed.html")
    if request.method == "POST":
        services.subscription_cancel(
            subscriber_id=subscriber.pk, token_version=subscriber.token_version
        )
        return render(request, "alerts/unsubscribed.html")
    return render(request, "alerts/unsubscribe.html", {"subscriber": subscriber})


@never_cache
@require_http_methods(["GET", "POST"])
def links_request(request):
    """Forgot the links? Enter the address; if it is subscribed, it gets them by email."""
    if request.method == "GET":
        return render(request, "alerts/links_request.html", {"form": EmailForm()})
    if limited := _rate_limited(request):
        return limited
    form = EmailForm(request.POST)
    if not form.is_valid():
        return render(request, "alerts/links_request.html", {"form": form}, status=400)
    if limited := _rate_limited_address(request, form.cleaned_data["email"]):
        return limited
    services.manage_link_request(email=form.cleaned_data["email"])
    return redirect("alerts:check_inbox")
