"""The timeline's filters, parsed once from a query string for pages, the API, feeds and CSV.

Pages show invalid values as form errors and ignore them; the API answers 400 with the same
messages. Nothing a visitor types reaches the database unparsed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django import forms
from django.http import QueryDict

from platforms.kinds import DocumentKind

MAX_QUERY_LENGTH = 200
MAX_PLATFORMS = 50
EARLIEST = date(1990, 1, 1)
LATEST = date(2100, 12, 31)
TRUE_VALUES = ("1", "true", "yes", "on")
FALSE_VALUES = ("0", "false", "no", "off", "")


@dataclass(frozen=True)
class Filters:
    platforms: tuple[str, ...] = ()  # slugs
    kind: str = ""
    document: int | None = None
    ai: bool | None = None  # None: all; True: AI-relevant only; False: not AI-relevant (API)
    since: date | None = None
    until: date | None = None
    q: str = ""
    errors: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def statements_included(self) -> bool:
        """Statements belong to a platform, not to a document: a document or document-kind
        filter, or an explicit "not AI-relevant", leaves them out."""
        return not self.kind and self.document is None and self.ai is not False

    @property
    def is_filtered(self) -> bool:
        return bool(
            self.platforms
            or self.kind
            or self.document is not None
            or self.ai is not None
            or self.since
            or self.until
            or self.q
        )

    def query_items(self) -> list[tuple[str, str]]:
        """The canonical query string pairs (for links that keep the filters)."""
        items = [("platform", slug) for slug in self.platforms]
        if self.kind:
            items.append(("kind", self.kind))
        if self.document is not None:
            items.append(("document", str(self.document)))
        if self.ai is not None:
            items.append(("ai", "1" if self.ai else "0"))
        if self.since:
            items.append(("since", self.since.isoformat()))
        if self.until:
            items.append(("until", self.until.isoformat()))
        if self.q:
            items.append(("q", self.q))
        return items

    def cache_key(self) -> str:
        return "&".join(f"{k}={v}" for k, v in self.query_items())


class _TimelineForm(forms.Form):
    kind = forms.ChoiceField(choices=[("", "Any"), *DocumentKind.choices], required=False)
    document = forms.IntegerField(required=False, min_value=1, max_value=2**62)
    since = forms.DateField(required=False, input_formats=["%Y-%m-%d"])
    until = forms.DateField(required=False, input_formats=["%Y-%m-%d"])
    q = forms.CharField(required=False, max_length=MAX_QUERY_LENGTH, strip=True)

    def clean_since(self):
        return _in_range(self.cleaned_data.get("since"))

    def clean_until(self):
        return _in_range(self.cleaned_data.get("until"))


def _in_range(value: date | None) -> date | None:
    if value is not None and not (EARLIEST <= value <= LATEST):
        raise forms.ValidationError(f"Enter a date between {EARLIEST} and {LATEST}.")
    return value


def parse_filters(params: QueryDict, *, known_platforms: set[str] | None = None) -> Filters:
    """Filters from a query string; every invalid value is dropped and explained in `errors`."""
    errors: dict[str, str] = {}
    form = _TimelineForm(params)
    form.is_valid()
    for name, messages in form.errors.items():
        errors[name] = " ".join(messages)
    data = {k: v for k, v in form.cleaned_data.items() if k not in form.errors}

    platforms: list[str] = []
    for slug in params.getlist("platform"):
        slug = slug.strip()
        if not slug:
            continue
        if len(slug) > 60 or (known_platforms is not None and slug not in known_platforms):
            errors["platform"] = "Unknown platform."
            continue
        if slug not in platforms:
            platforms.append(slug)
    if len(platforms) > MAX_PLATFORMS:
        errors["platform"] = f"Choose at most {MAX_PLATFORMS} platforms."
        platforms = platforms[:MAX_PLATFORMS]

    ai: bool | None = None
    raw_ai = params.get("ai", "").strip().lower()
    if raw_ai in TRUE_VALUES:
        ai = True
    elif raw_ai in ("0", "false", "no", "off"):
        ai = False
    elif raw_ai not in FALSE_VALUES:
        errors["ai"] = "Use ai=1 or ai=0."

    since, until = data.get("since"), data.get("until")
    if since and until and since > until:
        errors["until"] = "The end date is before the start date."
        until = None

    return Filters(
        platforms=tuple(platforms),
        kind=data.get("kind") or "",
        document=data.get("document"),
        ai=ai,
        since=since,
        until=until,
        q=" ".join((data.get("q") or "").split()),
        errors=errors,
    )
