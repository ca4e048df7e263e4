"""Input validation only; the services decide what happens."""

from __future__ import annotations

import unicodedata
from email.headerregistry import AddressHeader

from django import forms
from django.core.exceptions import ValidationError

from alerts.models import Frequency
from platforms.models import Platform

SCOPE_ALL = "all"
SCOPE_SELECTED = "selected"

_LINE_BREAKS = "The email address cannot contain line breaks or control characters."


def normalize_email(raw: str) -> str:
    """Validated, lower-cased address; raises ValidationError with a message for the form.

    Line breaks and other control characters are refused before anything else (a header
    injection attempt is an error, not something to clean up), then the address must be a
    single plain addr-spec that Django's SMTP backend will accept as is.
    """
    if any(unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp"} for ch in raw):
        raise ValidationError(_LINE_BREAKS, code="control")
    value = raw.strip()
    forms.EmailField(max_length=254).clean(value)
    parsed = AddressHeader.value_parser(value)
    mailboxes = parsed.all_mailboxes
    if parsed.all_defects or len(mailboxes) != 1 or mailboxes[0].addr_spec != value:
        raise ValidationError("Enter a single plain email address.", code="invalid")
    local, _, domain = value.rpartition("@")
    return f"{local}@{domain}".lower()


class EmailInput(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 254)
        kwargs.setdefault("strip", False)  # normalize_email sees the raw value
        kwargs.setdefault(
            "widget",
            forms.EmailInput(attrs={"autocomplete": "email", "inputmode": "email"}),
        )
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        return normalize_email(value) if value else value


class PreferencesForm(forms.Form):
    scope = forms.ChoiceField(
        label="Which platforms",
        choices=[(SCOPE_ALL, "All platforms"), (SCOPE_SELECTED, "Only the platforms I choose")],
        initial=SCOPE_ALL,
        widget=forms.RadioSelect,
    )
    platforms = forms.ModelMultipleChoiceField(
        queryset=Platform.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    ai_only = forms.TypedChoiceField(
        label="Which changes",
        choices=[("1", "Only changes that touch AI"), ("0", "Every change")],
        coerce=lambda v: v == "1",
        initial="1",
        widget=forms.RadioSelect,
    )
    frequency = forms.ChoiceField(
        label="How often",
        choices=Frequency.choices,
        initial=Frequency.INSTANT,
        widget=forms.RadioSelect,
    )

    def clean(self):
        data = super().clean()
        if data.get("scope") == SCOPE_SELECTED and not data.get("platforms"):
            self.add_error("platforms", "Choose at least one platform, or choose all platforms.")
        return data

    @property
    def all_platforms(self) -> bool:
        return self.cleaned_data["scope"] == SCOPE_ALL

    @property
    def platform_ids(self) -> list[int]:
        if self.all_platforms:
            return []
        return [p.pk for p in self.cleaned_data["platforms"]]


class SubscribeForm(PreferencesForm):
    email = EmailInput(label="Your email address")

    field_order = ["email", "scope", "platforms", "ai_only", "frequency"]


class EmailForm(forms.Form):
    email = EmailInput(label="Your email address")
