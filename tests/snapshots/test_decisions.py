from __future__ import annotations

from datetime import UTC, datetime, timedelta

from snapshots.decisions import Action, ChangeRef, HeldRef, History, Policy, VersionRef, decide

T0 = datetime(2024, 1, 1, tzinfo=UTC)
POLICY = Policy(shrink_threshold=0.5, flip_flop_window=timedelta(days=7))


def ref(id_: int, sha: str, *, at: datetime = T0, words: int = 1000) -> VersionRef:
    return VersionRef(id=id_, sha256=sha, observed_at=at, words=words)


def published(old: str, new: str) -> ChangeRef:
    return ChangeRef(id=7, old_sha256=old, new_sha256=new)


def retracted(old: str, new: str, at: datetime) -> ChangeRef:
    return ChangeRef(id=8, old_sha256=old, new_sha256=new, at=at)


def run(sha: str, history: History, *, words: int = 1000, signal: str | None = None, now=None):
    return decide(
        sha256=sha,
        words=words,
        signal=signal,
        history=history,
        now=now or T0 + timedelta(days=1),
        policy=POLICY,
    )


def test_it_records_the_first_text_as_a_baseline():
    assert run("a", History(None)).action == Action.FIRST


def test_it_holds_a_first_text_that_looks_like_a_wall():
    decision = run("a", History(None), signal="captcha")
    assert (decision.action, decision.reason) == (Action.HOLD, "captcha")


def test_it_sees_the_same_text_as_unchanged():
    assert run("a", History(ref(1, "a"))).action == Action.UNCHANGED


def test_it_publishes_a_new_text():
    assert run("b", History(ref(1, "a")), words=990).action == Action.PUBLISH


def test_it_holds_a_text_that_lost_more_than_half_its_words():
    decision = run("b", History(ref(1, "a", words=1000)), words=400)
    assert (decision.action, decision.reason) == (Action.HOLD, "shrink")
    assert run("b", History(ref(1, "a", words=1000)), words=500).action == Action.PUBLISH


def test_it_confirms_a_shrink_hold_when_the_next_check_sees_it_again():
    history = History(ref(1, "a"), held=HeldRef(2, "b", "shrink"))
    assert run("b", history, words=400).action == Action.CONFIRM_HELD


def test_it_keeps_a_wall_held_until_an_admin_approves():
    history = History(ref(1, "a"), held=HeldRef(2, "b", "login_wall"))
    assert run("b", history, words=30).action == Action.STILL_HELD


def test_it_drops_a_held_text_when_the_old_text_returns():
    decision = run("a", History(ref(1, "a"), held=HeldRef(2, "b", "shrink")))
    assert decision.action == Action.UNCHANGED
    assert decision.discard_held


def test_it_drops_a_held_text_superseded_by_another():
    decision = run("c", History(ref(1, "a"), held=HeldRef(2, "b", "shrink")))
    assert decision.action == Action.PUBLISH
    assert decision.discard_held


def test_it_calls_a_quick_return_to_the_previous_text_a_flip_flop():
    history = History(ref(2, "b", at=T0), published=published("a", "b"))
    decision = run("a", history, now=T0 + timedelta(hours=30))
    assert decision.action == Action.FLIP_FLOP
    assert decision.reason == "returned to the previous text after 30 hours"


def test_it_publishes_a_return_to_the_previous_text_after_the_window():
    history = History(ref(2, "b", at=T0), published=published("a", "b"))
    assert run("a", history, now=T0 + timedelta(days=8)).action == Action.PUBLISH


def test_it_restores_the_withdrawn_change_when_its_text_comes_back():
    # A → B (withdrawn) → A → B within the window.
    history = History(
        ref(3, "a", at=T0), published=published("z", "a"), retracted=retracted("a", "b", at=T0)
    )
    assert run("b", history, now=T0 + timedelta(days=2)).action == Action.FLIP_BACK
    assert run("b", history, now=T0 + timedelta(days=8)).action == Action.PUBLISH
    assert run("c", history, now=T0 + timedelta(days=2)).action == Action.PUBLISH


def test_it_treats_a_flip_back_and_forth_as_one_flip_flop():
    # Google, February 2021: 7 → 8 → 7 → 8 → 7 within days, then 9.
    history = History(ref(4, "8", at=T0), published=published("7", "8"), retracted=None)
    assert run("7", history, now=T0 + timedelta(days=7)).action == Action.FLIP_FLOP


def test_it_prefers_the_flip_flop_rule_over_the_shrink_rule():
    # Twitter, August 2023: a doubled page (current + upcoming policy) reverted the next day.
    history = History(ref(2, "b", at=T0, words=9078), published=published("a", "b"))
    decision = run("a", history, words=4386, now=T0 + timedelta(hours=30))
    assert decision.action == Action.FLIP_FLOP
