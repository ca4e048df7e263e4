"""Field validators with messages an admin can act on."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

_well_formed = URLValidator(schemes=["http", "https"])


def validate_document_url(value: str) -> None:
    try:
        parts = urlsplit(value)
    except ValueError as exc:
        raise ValidationError(f"This is not a valid URL: {exc}.") from None
    if parts.scheme.lower() not in {"http", "https"}:
        raise ValidationError(
            "Document URLs must start with http:// or https:// (got %(scheme)s:).",
            params={"scheme": parts.scheme or "no scheme"},
            code="scheme",
        )
    if parts.username is not None or parts.password is not None:
        raise ValidationError(
            "Document URLs must not contain a user name or password.", code="credentials"
        )
    if not parts.hostname:
        raise ValidationError("Document URLs need a host name.", code="host")
    if any(ch.isspace() for ch in value):
        raise ValidationError("Document URLs must not contain spaces.", code="space")
    try:
        _well_formed(value)
    except ValidationError:
        raise ValidationError(
            "This is not a well-formed web address (check the host name and port).", code="invalid"
        ) from None


def validate_selectors(value: list[str]) -> None:
    from snapshots.extract import validate_selector

    _validate_list(value, "selector")
    for selector in value:
        try:
            validate_selector(selector)
        except ValueError as exc:
            raise ValidationError(
                "The CSS selector %(selector)r does not parse: %(error)s",
                params={"selector": selector, "error": exc},
                code="selector",
            ) from None


def validate_patterns(value: list[str]) -> None:
    from snapshots.extract import validate_pattern

    _validate_list(value, "pattern")
    for pattern in value:
        try:
            validate_pattern(pattern)
        except ValueError as exc:
            raise ValidationError(
                "The ignore pattern %(pattern)r is not a valid regular expression: %(error)s",
                params={"pattern": pattern, "error": exc},
                code="pattern",
            ) from None


def _validate_list(value: object, what: str) -> None:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValidationError(f"Expected a list of non-empty {what}s.", code="list")
