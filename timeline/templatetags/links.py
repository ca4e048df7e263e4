"""Links to third-party addresses: only http(s) ever becomes an href.

Document, homepage, statement and capture URLs are validated on the way in, but rows can
also come from imports, the shell or older data; a javascript: URL must never be clickable.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django import template
from django.forms.utils import flatatt
from django.utils.html import conditional_escape, format_html

register = template.Library()


@register.filter
def web_url(value: object) -> str:
    """The URL if it is an absolute http(s) address, else an empty string."""
    text = "" if value is None else str(value)
    try:
        parts = urlsplit(text)  # strips control characters the way browsers do
    except ValueError:
        return ""
    if parts.scheme.lower() in {"http", "https"} and parts.netloc:
        return text
    return ""


@register.simple_tag
def outbound_link(url: object, text: object = "", **attrs: str) -> str:
    """<a href rel="noopener nofollow"> to a third-party http(s) URL; just the text otherwise."""
    label = url if text in ("", None) else text
    href = web_url(url)
    if not href:
        return conditional_escape(label)
    extra = flatatt({name.replace("_", "-"): value for name, value in attrs.items()})
    return format_html('<a href="{}" rel="noopener nofollow"{}>{}</a>', href, extra, label)
