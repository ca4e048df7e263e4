"""Every email alerts sends, built from templates/emails/<name>-{subject.txt,body.txt,body.html}
through one helper, make_message().

Alerts show the diff exactly as the site does (snapshots.diff_render on the stored Diff).
A change's section (summary, AI passages, statements, diff) does not depend on the
recipient: it is rendered once per worker process (the `#change` partial of the alert-change
templates) and reused by instant alerts and digests alike. What does — the To address, the
Message-ID and the signed manage/unsubscribe links — is a `Recipient`; transport.Mailing
fills it into a message generated once per batch. templates/emails/_layout_*.html are the
shared frame of the HTML bodies.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from html import escape
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, get_urlconf, reverse
from django.utils.safestring import SafeString, mark_safe

from alerts.models import Frequency, Subscriber
from alerts.tokens import make_token
from snapshots.diff_render import render_email_html, render_text
from snapshots.diffing import Diff
from snapshots.models import Change

SUBJECT_MAX = 200


def make_message(
    *,
    template: str,
    to: str | Sequence[str],
    context: dict,
    headers: dict[str, str] | None = None,
) -> EmailMultiAlternatives:
    """The one way alerts builds an email: subject, text body and HTML alternative."""
    context = {"site_url": settings.SITE_URL, **context}
    # A subject is one line whatever the template or the data in it holds.
    subject = " ".join(render_to_string(f"emails/{template}-subject.txt", context).split())
    if len(subject) > SUBJECT_MAX:
        subject = subject[: SUBJECT_MAX - 1].rstrip() + "…"
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"emails/{template}-body.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to] if isinstance(to, str) else list(to),
        headers=headers or {},
    )
    message.attach_alternative(
        render_to_string(f"emails/{template}-body.html", context), "text/html"
    )
    return message


# --- links --------------------------------------------------------------------------------


def absolute_url(path: str) -> str:
    return settings.SITE_URL + path


def change_url(change: Change) -> str:
    """The public page of a change; the one place to switch when the route changes."""
    try:
        path = change.get_absolute_url()
    except NoReverseMatch:  # timeline:change not routed yet
        path = f"/changes/{change.pk}/"
    return absolute_url(path)


_TOKEN_SLOT = "TOKENSLOT"  # noqa: S105 - a placeholder in a URL, not a secret


@cache
def _link_path(name: str, urlconf: str | None) -> str:
    # reverse() once per route: alerts put two links in every one of thousands of emails.
    return reverse(name, args=[_TOKEN_SLOT], urlconf=urlconf)


def _link(name: str, token: str) -> str:
    return absolute_url(_link_path(name, get_urlconf()).replace(_TOKEN_SLOT, token))


def confirm_url(subscriber: Subscriber) -> str:
    token = make_token("confirm", subscriber_id=subscriber.pk, value=subscriber.confirm_nonce)
    return _link("alerts:confirm", token)


def manage_url(subscriber: Subscriber) -> str:
    token = make_token("manage", subscriber_id=subscriber.pk, value=subscriber.token_version)
    return _link("alerts:manage", token)


def unsubscribe_url(subscriber: Subscriber) -> str:
    token = make_token("unsubscribe", subscriber_id=subscriber.pk, value=subscriber.token_version)
    return _link("alerts:unsubscribe", token)


def _mail_domain() -> str:
    return urlsplit(settings.SITE_URL).hostname or "clausewatch.localhost"


@dataclass(frozen=True)
class Recipient:
    """Everything in an alert that belongs to one subscriber."""

    email: str
    manage_url: str
    unsubscribe_url: str
    message_id: str  # left of the "@": stable per delivery

    @classmethod
    def of(cls, subscriber: Subscriber, *, message_id: str) -> Recipient:
        return cls(
            email=subscriber.email,
            manage_url=manage_url(subscriber),
            unsubscribe_url=unsubscribe_url(subscriber),
            message_id=message_id,
        )


def list_headers(recipient: Recipient) -> dict[str, str]:
    """RFC 2369 / RFC 8058 headers for a message to a subscriber."""
    domain = _mail_domain()
    return {
        "List-Unsubscribe": f"<{recipient.unsubscribe_url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "List-Id": f"Clausewatch alerts <alerts.{domain}>",
        "Auto-Submitted": "auto-generated",
        # Stable per delivery: a resend after a transient failure is the same message.
        "Message-ID": f"<{recipient.message_id}@{domain}>",
    }


def describe_preferences(subscriber: Subscriber, platform_names: Sequence[str] = ()) -> str:
    what = "changes that touch AI" if subscriber.ai_only else "every change"
    if subscriber.all_platforms:
        where = "on every platform we track"
    else:
        names = list(platform_names) or [p.name for p in subscriber.platforms.order_by("name")]
        where = "on " + _join_names(names)
    when = {
        Frequency.INSTANT: "as soon as each is published",
        Frequency.DAILY: "in a daily digest",
        Frequency.WEEKLY: "in a weekly digest",
    }[Frequency(subscriber.frequency)]
    return f"{what.capitalize()} {where}, {when}"


def _join_names(names: Sequence[str], limit: int = 3) -> str:
    names = list(dict.fromkeys(names))
    if len(names) > limit:
        return ", ".join(names[:limit]) + f" and {len(names) - limit} more"
    if len(names) > 1:
        return ", ".join(names[:-1]) + " and " + names[-1]
    return names[0] if names else ""


# --- a change, rendered once --------------------------------------------------------------


@dataclass(frozen=True)
class Passage:
    html: SafeString
    text: str
    categories: list[str]
    negated: bool


@dataclass(frozen=True)
class ChangeSection:
    change_id: int
    platform: str
    document: str
    ai_relevant: bool
    url: str
    html: SafeString
    text: str


def _category_labels(codes: Sequence[str]) -> list[str]:
    try:
        from snapshots.ai_clauses import CATEGORIES
    except ImportError:  # pragma: no cover - the module lands separately
        CATEGORIES = {}
    return [CATEGORIES.get(code, code.replace("_", " ")) for code in codes]


def _highlight(text: str, phrases: Sequence[str]) -> SafeString:
    spans: list[tuple[int, int]] = []
    for phrase in phrases:
        start = text.find(phrase) if phrase else -1
        while start != -1:
            spans.append((start, start + len(phrase)))
            start = text.find(phrase, start + len(phrase))
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, pos = [], 0
    for start, end in merged:
        out.append(escape(text[pos:start]))
        out.append(
            '<mark style="background:#fff3b0;color:inherit">' + escape(text[start:end]) + "</mark>"
        )
        pos = end
    out.append(escape(text[pos:]))
    return mark_safe("".join(out))  # noqa: S308 - every piece above is escaped


def ai_passages(analysis: dict, side: str) -> list[Passage]:
    """The passages of one side ("added"/"removed") that touch AI, one per paragraph."""
    by_text: dict[str, dict] = {}
    for finding in analysis.get(side) or ():
        text = (finding.get("text") or "").strip()
        if not text:
            continue
        entry = by_text.setdefault(text, {"codes": [], "phrases": [], "negated": True})
        if finding.get("category") not in entry["codes"]:
            entry["codes"].append(finding.get("category", ""))
        entry["phrases"] += list(finding.get("phrases") or ())
        entry["negated"] = entry["negated"] and bool(finding.get("negated"))
    return [
        Passage(
            html=_highlight(text, entry["phrases"]),
            text=text,
            categories=_category_labels(entry["codes"]),
            negated=entry["negated"],
        )
        for text, entry in by_text.items()
    ]


def change_context(change: Change, *, with_diff: bool = True) -> dict:
    document = change.document
    diff_html: SafeString | None = None
    diff_text = ""
    diff_too_long = False
    try:
        diff = Diff.from_json(change.diff)
    except (ValueError, KeyError, TypeError):
        diff = None
    if with_diff and diff is not None and not diff.is_empty:
        html = render_email_html(diff)
        if len(html) <= settings.ALERTS_EMAIL_DIFF_MAX_CHARS:
            diff_html = mark_safe(html)  # noqa: S308 - diff_render escapes all document text
            diff_text = render_text(diff)
        else:
            diff_too_long = True
    analysis = change.ai_analysis or {}
    return {
        "change": change,
        "platform": document.platform,
        "document": document,
        "url": change_url(change),
        "categories": _category_labels(change.ai_categories or []),
        "added_passages": ai_passages(analysis, "added"),
        "removed_passages": ai_passages(analysis, "removed"),
        "diff_html": diff_html,
        "diff_text": diff_text,
        "diff_too_long": diff_too_long,
        "statements": list(change.statements.all()),
    }


# Rendered sections by everything they are made of: a digest fan-out renders the same few
# changes once per worker process instead of once per chunk of subscribers.
_SECTIONS: OrderedDict[tuple, ChangeSection] = OrderedDict()
_SECTIONS_MAX = 256


def _section_key(change: Change, with_diff: bool) -> tuple:
    document = change.document
    return (
        change.pk,
        with_diff,
        change.analyzed_at,
        change.observed_at,
        change.headline,
        change.summary,
        change.ai_relevant,
        change.words_added,
        change.words_removed,
        document.title,
        document.kind,
        document.platform.name,
        tuple((s.pk, s.date, s.title, s.outlet, s.source_url) for s in change.statements.all()),
        settings.SITE_URL,
        settings.ALERTS_EMAIL_DIFF_MAX_CHARS,
    )


def change_section(change: Change, *, with_diff: bool = True) -> ChangeSection:
    # A change without an analysis time could be re-analysed unnoticed: never cached.
    key = _section_key(change, with_diff) if change.analyzed_at else None
    if key is not None and (cached := _SECTIONS.get(key)) is not None:
        _SECTIONS.move_to_end(key)
        return cached
    context = {"site_url": settings.SITE_URL, **change_context(change, with_diff=with_diff)}
    section = ChangeSection(
        change_id=change.pk,
        platform=change.document.platform.name,
        document=change.document.title,
        ai_relevant=change.ai_relevant,
        url=context["url"],
        html=mark_safe(render_to_string("emails/alert-change-body.html#change", context)),  # noqa: S308
        text=render_to_string("emails/alert-change-body.txt#change", context),
    )
    if key is not None:
        _SECTIONS[key] = section
        if len(_SECTIONS) > _SECTIONS_MAX:
            _SECTIONS.popitem(last=False)
    return section


# --- the messages -------------------------------------------------------------------------


def _links(recipient: Recipient) -> dict:
    return {"manage_url": recipient.manage_url, "unsubscribe_url": recipient.unsubscribe_url}


def change_alert_message(*, recipient: Recipient, section: ChangeSection) -> EmailMultiAlternatives:
    return make_message(
        template="alert-change",
        to=recipient.email,
        context={"section": section, **_links(recipient)},
        headers=list_headers(recipient),
    )


def digest_message(
    *,
    recipient: Recipient,
    sections: Sequence[ChangeSection],
    kind: str,
    period_start: datetime | None,
    period_end: datetime,
) -> EmailMultiAlternatives:
    context = {
        "sections": sections,
        "kind": kind,  # "daily" / "weekly"
        "count": len(sections),
        "ai_count": sum(1 for s in sections if s.ai_relevant),
        "platforms": _join_names([s.platform for s in sections]),
        "period_start": period_start,
        "period_end": period_end,
        **_links(recipient),
    }
    return make_message(
        template="alert-digest",
        to=recipient.email,
        context=context,
        headers=list_headers(recipient),
    )


def confirm_message(subscriber: Subscriber) -> EmailMultiAlternatives:
    return make_message(
        template="alert-confirm",
        to=subscriber.email,
        context={
            "confirm_url": confirm_url(subscriber),
            "preferences": describe_preferences(subscriber),
            "valid_days": max(1, settings.ALERTS_CONFIRM_MAX_AGE.days),
        },
        headers={"Auto-Submitted": "auto-generated"},
    )


def manage_message(subscriber: Subscriber) -> EmailMultiAlternatives:
    return make_message(
        template="alert-manage",
        to=subscriber.email,
        context={
            "preferences": describe_preferences(subscriber),
            "manage_url": manage_url(subscriber),
            "unsubscribe_url": unsubscribe_url(subscriber),
        },
        headers={"Auto-Submitted": "auto-generated"},
    )


def incident_message(*, incident, recipients: Sequence[str], event: str) -> EmailMultiAlternatives:
    document = incident.document
    try:
        admin_path = reverse("admin:platforms_document_change", args=[document.pk])
    except NoReverseMatch:  # pragma: no cover - admin not installed
        admin_path = "/admin/"
    return make_message(
        template="admin-document-recovered" if event == "closed" else "admin-document-incident",
        to=recipients,
        context={
            "incident": incident,
            "document": document,
            "platform": document.platform,
            "admin_url": absolute_url(admin_path),
        },
        headers={"Auto-Submitted": "auto-generated"},
    )
