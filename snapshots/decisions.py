"""What a newly extracted text means for a document's record. Pure: no Django, no I/O.

The rules, in order:
- the same text as the current version: unchanged (a held text, if any, is dropped);
- the held text seen again: a shrink hold is confirmed and published; a page that looked
  like an error, login, captcha or cookie wall stays held until an admin approves it;
- the text the latest published change replaced (A in A → B), while the current text is
  younger than the flip-flop window: a flip-flop (A → B → A). The excursion A → B is
  retracted and the return is not published either;
- the text of the latest retracted excursion coming back from where it started
  (A → B → A → B) within the window: the original A → B is restored, so the record
  keeps its first-seen date, and the return is not published;
- a page that looks like a wall, or a text that lost more than the shrink threshold of its
  words: held as suspicious;
- anything else: published.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Action(StrEnum):
    FIRST = "first"  # the document's first version: a baseline, no change
    UNCHANGED = "unchanged"
    PUBLISH = "publish"
    HOLD = "hold"
    STILL_HELD = "still_held"
    CONFIRM_HELD = "confirm_held"
    FLIP_FLOP = "flip_flop"
    FLIP_BACK = "flip_back"


SHRINK_REASON = "shrink"


@dataclass(frozen=True)
class VersionRef:
    id: int
    sha256: str
    observed_at: datetime
    words: int


@dataclass(frozen=True)
class ChangeRef:
    """A change seen as (old text, new text); `at` is when it was retracted, for retractions."""

    id: int
    old_sha256: str
    new_sha256: str
    at: datetime | None = None


@dataclass(frozen=True)
class HeldRef:
    id: int
    sha256: str
    reason: str


@dataclass(frozen=True)
class History:
    current: VersionRef | None  # the latest version of the chain (not held)
    published: ChangeRef | None = None  # the latest published change
    retracted: ChangeRef | None = None  # the latest retracted change
    held: HeldRef | None = None


@dataclass(frozen=True)
class Policy:
    shrink_threshold: float = 0.5
    flip_flop_window: timedelta = timedelta(days=7)


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str = ""
    discard_held: bool = False


def decide(
    *,
    sha256: str,
    words: int,
    signal: str | None,
    history: History,
    now: datetime,
    policy: Policy,
) -> Decision:
    held = history.held
    current = history.current
    # Whatever happens, a held text that we are not seeing again is superseded.
    discard = held is not None and held.sha256 != sha256

    if held is not None and held.sha256 == sha256:
        if held.reason == SHRINK_REASON:
            return Decision(Action.CONFIRM_HELD, reason="the shorter text was seen again")
        return Decision(Action.STILL_HELD, reason=held.reason)

    if current is None:
        if signal:
            return Decision(Action.HOLD, reason=signal, discard_held=discard)
        return Decision(Action.FIRST, discard_held=discard)

    if sha256 == current.sha256:
        return Decision(Action.UNCHANGED, discard_held=discard)

    young = now - current.observed_at <= policy.flip_flop_window
    published, retracted = history.published, history.retracted
    if (
        young
        and published is not None
        and published.new_sha256 == current.sha256
        and sha256 == published.old_sha256
    ):
        reason = f"returned to the previous text after {_human(now - current.observed_at)}"
        return Decision(Action.FLIP_FLOP, reason=reason, discard_held=discard)
    if (
        retracted is not None
        and retracted.at is not None
        and now - retracted.at <= policy.flip_flop_window
        and retracted.old_sha256 == current.sha256
        and retracted.new_sha256 == sha256
    ):
        return Decision(
            Action.FLIP_BACK, reason="the withdrawn text came back", discard_held=discard
        )

    if signal:
        return Decision(Action.HOLD, reason=signal, discard_held=discard)

    lost = 1 - words / current.words if current.words else 0.0
    if lost > policy.shrink_threshold:
        return Decision(Action.HOLD, reason=SHRINK_REASON, discard_held=discard)
    return Decision(Action.PUBLISH, discard_held=discard)


def _human(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours < 48:
        return f"{hours:.0f} hours"
    return f"{hours / 24:.0f} days"
