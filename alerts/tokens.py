"""Signed links: confirmation (expires, works once), manage and unsubscribe (die on unsubscribe).

django.core.signing with one salt per purpose, so a token made for one page is refused by
every other. Tokens carry ids and counters only, never the address.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from django.conf import settings
from django.core import signing

Purpose = Literal["confirm", "manage", "unsubscribe"]


class TokenError(Exception):
    """Base: the link cannot be used."""


class TokenInvalid(TokenError):
    """Tampered with, truncated, or made for another purpose (400)."""


class TokenExpired(TokenError):
    """Signed by us but too old (410); `payload` is still readable to offer a new link."""

    def __init__(self, payload: TokenPayload) -> None:
        super().__init__("expired")
        self.payload = payload


class TokenUsed(TokenError):
    """Valid, but already used or replaced by a newer link (410)."""


@dataclass(frozen=True)
class TokenPayload:
    subscriber_id: int
    value: str  # confirm: the nonce; manage/unsubscribe: the token version


def _salt(purpose: Purpose) -> str:
    return f"clausewatch.alerts.{purpose}"


def make_token(purpose: Purpose, *, subscriber_id: int, value: str | int) -> str:
    return signing.dumps({"s": subscriber_id, "v": str(value)}, salt=_salt(purpose))


def _max_age(purpose: Purpose) -> float:
    age = settings.ALERTS_CONFIRM_MAX_AGE if purpose == "confirm" else settings.ALERTS_LINK_MAX_AGE
    return age.total_seconds()


def _payload(data: object) -> TokenPayload:
    if not isinstance(data, dict) or not isinstance(data.get("s"), int):
        raise TokenInvalid("malformed")
    return TokenPayload(subscriber_id=data["s"], value=str(data.get("v", "")))


def read_token(purpose: Purpose, token: str) -> TokenPayload:
    """The payload of a token we signed for `purpose`; raises TokenInvalid or TokenExpired."""
    if len(token) > 500:
        raise TokenInvalid("too long")
    try:
        return _payload(signing.loads(token, salt=_salt(purpose), max_age=_max_age(purpose)))
    except signing.SignatureExpired:
        # The signature is good, only the age is wrong: read it again without the age check.
        payload = _payload(signing.loads(token, salt=_salt(purpose)))
        raise TokenExpired(payload) from None
    except signing.BadSignature:
        raise TokenInvalid("bad signature") from None
    except (ValueError, UnicodeDecodeError):
        raise TokenInvalid("malformed") from None
