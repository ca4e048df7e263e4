"""The public pages in a real Chromium: htmx filtering, history, the diff toggle, no-JS."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from snapshots.models import Change, Version
from tests.factories import StatementFactory
from tests.timeline.builders import AI_CLAUSE, BASE, START, history, texts

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

_MIDDLE = "".join(f"Paragraph {n} about billing and payments.\n\n" for n in range(4))
BEFORE = f"# Terms of Use\n\n## Accounts\n\nKeep your password safe.\n\n{_MIDDLE}## Licence\n\nYou keep the rights to your uploads.\n"
AFTER = (
    f"# Terms of Use\n\n## Accounts\n\nKeep your password secret and safe.\n\n{_MIDDLE}## Licence\n\n"
    "You keep the rights to your uploads.\n\n"
    "You explicitly agree that your Content may be used to inform, train, develop or serve as "
    "input to artificial intelligence or machine intelligence technologies.\n"
)


@pytest.fixture
def data():
    sound = history(
        [BEFORE, AFTER],
        platform__name="Soundwave",
        platform__slug="soundwave",
        title="Terms of Use",
        start=START,
    )[0]
    Change.objects.filter(pk=sound.pk).update(headline="Soundwave may use uploads to train AI")
    Version.objects.filter(pk=sound.new_version_id).update(stated_effective=date(2024, 3, 1))
    statement = StatementFactory(
        platform=sound.document.platform,
        date=(START + timedelta(days=8)).date(),
        title="Soundwave says it has never trained AI on artists' music",
        summary="The company said the clause was about recommendations and fraud detection.",
        outlet="Soundwave (company blog)",
    )
    statement.changes.add(sound)
    others = history(
        texts(6, ai_every=3),
        platform__name="Clipstream",
        platform__slug="clipstream",
        title="Privacy Policy",
        kind="privacy_policy",
        start=START - timedelta(days=60),
        step=timedelta(days=9),
    )
    history(
        [BASE, BASE + AI_CLAUSE],
        platform__name="Reddit",
        platform__slug="reddit",
        title="User Agreement",
        start=START + timedelta(days=20),
    )
    return {"sound": sound, "others": others, "statement": statement}


def titles(page) -> list[str]:
    return page.locator(".entries .entry-title").all_inner_texts()


def test_filters_update_the_list_with_htmx_and_push_the_url(live_server, page, data, screenshot):
    page.goto(live_server.url + "/")
    screenshot(page, "timeline")
    everything = titles(page)
    assert len(everything) > 5
    page.evaluate("window.__no_reload = true")

    page.get_by_label("AI-relevant changes only").check()
    page.wait_for_url(re.compile(r"\?ai=1$"))
    page.wait_for_function(
        f"document.querySelectorAll('.entries .entry').length < {len(everything)}"
    )
    assert page.evaluate("window.__no_reload") is True  # swapped in place, not reloaded
    ai_only = titles(page)
    assert "Soundwave may use uploads to train AI" in ai_only
    # Screen readers hear the new count from a status region that stays in the page.
    assert "match these filters" in page.locator("#timeline-status").inner_text()

    page.get_by_role("checkbox", name="Clipstream", exact=True).check()
    page.wait_for_url(re.compile(r"ai=1&platform=clipstream$"))
    page.wait_for_function("!document.body.innerText.includes('Soundwave may use uploads')")
    assert page.evaluate("window.__no_reload") is True
    assert all("Clipstream" not in t for t in titles(page))  # titles are change summaries
    assert page.locator(".entry-meta", has_text="Soundwave").count() == 0


def test_back_and_forward_restore_the_filtered_view(live_server, page, data):
    page.goto(live_server.url + "/")
    everything = titles(page)
    page.get_by_label("AI-relevant changes only").check()
    page.wait_for_url(re.compile(r"\?ai=1$"))
    page.wait_for_function(
        f"document.querySelectorAll('.entries .entry').length < {len(everything)}"
    )
    filtered = titles(page)

    page.go_back()
    page.wait_for_url(live_server.url + "/")
    page.wait_for_function(
        f"document.querySelectorAll('.entries .entry').length == {len(everything)}"
    )
    assert titles(page) == everything
    assert not page.get_by_label("AI-relevant changes only").is_checked()

    page.go_forward()
    page.wait_for_url(re.compile(r"\?ai=1$"))
    page.wait_for_function(
        f"document.querySelectorAll('.entries .entry').length == {len(filtered)}"
    )
    assert titles(page) == filtered
    assert page.get_by_label("AI-relevant changes only").is_checked()


def test_a_shared_filtered_link_opens_the_same_view(live_server, page, data):
    page.goto(live_server.url + "/?platform=reddit&platform=soundwave&ai=1")
    assert page.get_by_role("checkbox", name="Reddit", exact=True).is_checked()
    assert page.get_by_role("checkbox", name="Soundwave", exact=True).is_checked()
    metas = page.locator(".entry-meta").all_inner_texts()
    assert metas and all("Reddit" in m or "Soundwave" in m for m in metas)


def test_searching_narrows_the_list(live_server, page, data):
    page.goto(live_server.url + "/")
    page.get_by_label("Search changed text and statements").fill("machine intelligence")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"q=machine(\+|%20)intelligence"))
    page.wait_for_function("document.querySelectorAll('.entries .entry').length == 1")
    assert titles(page) == ["Soundwave may use uploads to train AI"]


def test_paging_keeps_real_links_and_updates_in_place(live_server, page, data, monkeypatch):
    monkeypatch.setattr("timeline.views.PAGE_SIZE", 3)
    page.goto(live_server.url + "/")
    first = titles(page)
    older = page.get_by_role("link", name="Older →")
    assert "after=" in older.get_attribute("href")
    page.evaluate("window.__no_reload = true")
    older.click()
    page.wait_for_url(re.compile(r"after="))
    page.wait_for_function(
        "(t) => !document.querySelector('#results').innerText.includes(t)", arg=first[0]
    )
    assert page.evaluate("window.__no_reload") is True
    assert titles(page) != first


def test_the_diff_view_toggles_without_a_reload(live_server, page, data, screenshot):
    change = data["sound"]
    page.goto(live_server.url + change.get_absolute_url())
    assert page.locator(".dateline").inner_text().startswith("Effective 1 Mar 2024, detected")
    assert page.locator(".diff-inline").count() == 1
    screenshot(page, "change-inline")
    page.evaluate("window.__no_reload = true")

    page.get_by_role("link", name="Side by side").click()
    page.wait_for_url(re.compile(r"\?view=side$"))
    page.locator(".diff-sbs").wait_for()
    assert page.evaluate("window.__no_reload") is True
    screenshot(page, "change-side-by-side")

    page.get_by_role("link", name="AI clauses only").click()
    page.wait_for_url(re.compile(r"view=side&scope=ai$"))
    page.wait_for_function("!document.querySelector('#diff').innerText.includes('secret')")
    assert "artificial intelligence" in page.locator("#diff").inner_text()

    page.go_back()
    page.wait_for_url(re.compile(r"\?view=side$"))
    page.locator(".diff-sbs").wait_for()
    assert "secret" in page.locator("#diff").inner_text()


def test_keyboard_users_can_reach_and_use_the_filters(live_server, page, data):
    page.goto(live_server.url + "/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.className")
    assert focused == "skip-link"
    outline = "getComputedStyle(document.activeElement).outlineStyle"
    assert page.evaluate(outline) == "solid"  # a visible focus ring
    page.get_by_label("Search changed text and statements").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "ai"
    assert page.evaluate(outline) == "solid"
    page.keyboard.press("Space")
    page.wait_for_url(re.compile(r"\?ai=1$"))
    assert page.get_by_label("AI-relevant changes only").is_checked()


def test_filters_work_without_javascript(live_server, page_without_js, data, screenshot):
    page = page_without_js
    page.goto(live_server.url + "/")
    everything = titles(page)
    page.get_by_label("AI-relevant changes only").check()
    page.get_by_role("checkbox", name="Clipstream", exact=True).check()
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url(re.compile(r"ai=1"))
    assert "platform=clipstream" in page.url
    filtered = titles(page)
    assert 0 < len(filtered) < len(everything)
    assert page.get_by_role("checkbox", name="Clipstream", exact=True).is_checked()
    change = data["sound"]
    page.goto(live_server.url + change.get_absolute_url())
    page.get_by_role("link", name="Side by side").click()
    page.locator(".diff-sbs").wait_for()
    screenshot(page, "no-js-change-side")


def test_the_other_pages_render(live_server, page, data, screenshot):
    change = data["sound"]
    for name, path in [
        ("platform", "/platforms/clipstream/"),
        ("document", f"/documents/{change.document_id}/"),
        (
            "compare",
            f"/documents/{change.document_id}/compare/?from={change.old_version_id}&to={change.new_version_id}&view=side",
        ),
        ("ai-explorer", "/ai/"),
        ("platforms", "/platforms/"),
        ("data", "/data/"),
    ]:
        response = page.goto(live_server.url + path)
        assert response.status == 200, path
        screenshot(page, name)
    page.goto(live_server.url + "/platforms/clipstream/")
    assert page.locator("svg.bar-chart title").count() >= 1
    # CSP: no violations were reported while rendering (inline styles or scripts).
    errors = []
    page.on(
        "console",
        lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    page.goto(live_server.url + "/")
    page.get_by_label("AI-relevant changes only").check()
    page.wait_for_url(re.compile(r"\?ai=1$"))
    assert errors == []
