from __future__ import annotations

import json
import random
import time
from itertools import pairwise

import pytest

from snapshots.diffing import (
    Diff,
    DiffStats,
    body,
    compute_diff,
    count_words,
    display_segments,
    split_blocks,
    tokenize,
)
from tests.corpus import documents

FULL = 10**9  # context that puts every block of both documents in the diff


def reassemble(diff: Diff) -> tuple[str, str]:
    """The old and new texts back from a diff computed with context=FULL."""
    old: list[str] = []
    new: list[str] = []
    for hunk in diff.hunks:
        for block in hunk.blocks:
            if block.segments:
                seg_old = "".join(t for op, t in block.segments if op != "insert")
                seg_new = "".join(t for op, t in block.segments if op != "delete")
                assert (seg_old, seg_new) == (block.old_text, block.new_text)
                if block.op == "replace":
                    old.append(seg_old)
                new.append(seg_new)
                continue
            if block.op in ("equal", "delete", "move_from"):
                old.append(block.old_text or "")
            if block.op in ("equal", "insert", "move_to"):
                new.append(block.new_text or "")
    return "".join(old), "".join(new)


def assert_minimal_marks(diff: Diff) -> None:
    """Nothing unchanged is marked as changed."""
    for hunk in diff.hunks:
        for block in hunk.blocks:
            if block.op == "equal":
                assert body(block.old_text or "") == body(block.new_text or "")
            if block.op == "replace":
                assert body(block.old_text or "") != body(block.new_text or "")
            ops = [op for op, _ in block.segments]
            assert all(a != b for a, b in pairwise(ops)), "unmerged segments"
            for (op1, t1), (op2, t2) in pairwise(block.segments):
                assert not ({op1, op2} == {"insert", "delete"} and t1 == t2)


def words(rng: random.Random, n: int) -> str:
    syllables = ["ka", "lo", "mi", "ter", "sun", "da", "vel", "or", "pri", "na", "con", "sent"]
    return " ".join(
        "".join(rng.choice(syllables) for _ in range(rng.randint(1, 3))) for _ in range(n)
    )


def synthetic(seed: int, n_words: int) -> list[str]:
    """Blocks of a deterministic document: a heading every 8 paragraphs of 60 words."""
    rng = random.Random(seed)
    blocks: list[str] = []
    while len(blocks) * 60 < n_words:
        if len(blocks) % 9 == 0:
            blocks.append(f"## Section {len(blocks) // 9 + 1}")
        blocks.append(words(rng, 60).capitalize() + ".")
    return blocks


def doc(*blocks: str) -> str:
    return "\n\n".join(blocks) + "\n"


# --- the real corpus ----------------------------------------------------------------------


def test_it_reassembles_every_consecutive_corpus_pair_exactly():
    pairs = 0
    for versions in documents().values():
        texts = [v.text() for v in versions]
        for old, new in pairwise(texts):
            diff = compute_diff(old, new, context=FULL)
            pairs += 1
            if diff.is_empty:  # only the blank lines between blocks may differ
                assert [body(b) for b in split_blocks(old)] == [body(b) for b in split_blocks(new)]
                continue
            assert reassemble(diff) == (old, new)
            assert_minimal_marks(diff)
            assert Diff.from_json(json.loads(json.dumps(diff.to_json()))) == diff
    assert pairs >= 100


# --- shape --------------------------------------------------------------------------------


def test_it_returns_an_empty_diff_for_identical_texts():
    text = doc("# Terms", "We may use your content.")
    diff = compute_diff(text, text)
    assert diff.is_empty
    assert diff.stats == DiffStats()
    assert diff.changed_pairs() == []


def test_it_treats_windows_and_unix_line_endings_as_equal():
    unix = doc("# Terms", "Line one\nline two.", "*   item")
    assert compute_diff(unix.replace("\n", "\r\n"), unix).is_empty
    assert compute_diff(unix.replace("\n", "\r"), unix).is_empty


def test_it_splits_headings_list_items_and_table_rows_into_blocks():
    text = (
        "Title\n=====\n\nIntro line one\nline two.\n\n## Sharing\n"
        "*   first item\n    continued\n*   second item\n1. numbered\n\n"
        "| a | b |\n| --- | --- |\n| 1 | 2 |\n"
    )
    blocks = split_blocks(text)
    assert "".join(blocks) == text
    assert [body(b) for b in blocks] == [
        "Title\n=====",
        "Intro line one\nline two.",
        "## Sharing",
        "*   first item\n    continued",
        "*   second item",
        "1. numbered",
        "| a | b |",
        "| --- | --- |",
        "| 1 | 2 |",
    ]


def test_it_shows_a_lightly_edited_paragraph_as_a_word_edit():
    old = doc("## Use", "We may use your content to improve our services.")
    new = doc("## Use", "We may use your content to train AI models and improve our services.")
    diff = compute_diff(old, new)
    [hunk] = diff.hunks
    [block] = [b for b in hunk.blocks if b.op != "equal"]
    assert block.op == "replace"
    assert [s for s in block.segments if s[0] != "equal"] == [("insert", "train AI models and ")]
    assert diff.stats.words_added == 4
    assert diff.stats.words_removed == 0
    assert diff.stats.blocks_modified == 1


def test_it_shows_a_rewritten_paragraph_as_delete_and_insert():
    old = doc("## Use", "We never look at what you upload.")
    new = doc("## Use", "Uploaded material trains generative models by default.")
    ops = [b.op for b in compute_diff(old, new).hunks[0].blocks]
    assert ops == ["equal", "delete", "insert"]


def test_it_pairs_edited_blocks_inside_a_run_of_changes():
    old = doc("A", "First paragraph about cookies and tracking.", "Second one about ads.", "Z")
    new = doc(
        "A",
        "A brand new paragraph.",
        "First paragraph about cookies and device tracking.",
        "Second one about personalised ads.",
        "Z",
    )
    ops = [b.op for b in compute_diff(old, new).hunks[0].blocks]
    assert ops == ["equal", "insert", "replace", "replace", "equal"]


def test_it_keeps_context_and_merges_nearby_hunks():
    blocks = [f"Paragraph number {i} says something." for i in range(20)]
    edited = list(blocks)
    edited[3] = "Paragraph number 3 says something else."
    edited[5] = "Paragraph number 5 says something else."
    edited[15] = "Paragraph number 15 says something else."
    diff = compute_diff(doc(*blocks), doc(*edited), context=1)
    assert [len(h.blocks) for h in diff.hunks] == [5, 3]
    assert [(h.old_start, h.new_start) for h in diff.hunks] == [(2, 2), (14, 14)]
    assert len(compute_diff(doc(*blocks), doc(*edited), context=0).hunks) == 3


def test_it_names_the_section_of_each_hunk():
    old = doc("# Policy", "Intro.", "## Sharing", "We share with partners.", "## Ads", "Ad text.")
    new = doc("# Policy", "Intro!", "## Sharing", "We share with nobody.", "## Ads")
    sections = [h.section for h in compute_diff(old, new, context=0).hunks]
    assert sections == ["Policy", "Sharing", "Ads"]  # the removal: heading of the old text
    assert compute_diff("Before any heading.\n", "Before any heading!\n").hunks[0].section == ""


def test_it_treats_blank_line_differences_between_blocks_as_layout():
    assert compute_diff("One.\n\nTwo.\n", "One.\n\n\n\nTwo.").is_empty


def test_it_diffs_empty_to_full_and_back():
    full = doc("# Terms", "We may use your content.", "*   one", "*   two")
    added = compute_diff("", full)
    assert added.stats.blocks_added == 4
    assert added.stats.words_added == count_words(full) == 8
    assert reassemble(compute_diff("", full, context=FULL)) == ("", full)
    removed = compute_diff(full, "")
    assert removed.stats.blocks_removed == 4
    assert removed.stats.words_removed == 8
    assert removed.hunks[0].section == "Terms"
    assert reassemble(compute_diff(full, "", context=FULL)) == (full, "")


# --- moves --------------------------------------------------------------------------------


def test_it_shows_reordered_sections_as_moves():
    rng = random.Random(7)
    sections = {name: [f"## {name}", words(rng, 30), words(rng, 25)] for name in "ABCD"}
    old = doc(*(b for name in "ABCD" for b in sections[name]))
    new = doc(*(b for name in "BADC" for b in sections[name]))
    diff = compute_diff(old, new)
    stats = diff.stats
    assert stats.words_added == stats.words_removed == 0
    assert stats.blocks_added == stats.blocks_removed == stats.blocks_modified == 0
    assert stats.blocks_moved == 6  # two sections of three blocks
    ops = {b.op for h in diff.hunks for b in h.blocks}
    assert ops <= {"equal", "move_from", "move_to"}
    move_ids = {b.move_id for h in diff.hunks for b in h.blocks if b.move_id}
    assert len(move_ids) == 2  # one move per section, not per block
    assert diff.changed_pairs() == []
    assert reassemble(compute_diff(old, new, context=FULL)) == (old, new)


def test_it_shows_an_edited_move_with_its_word_changes():
    rng = random.Random(3)
    moved = words(rng, 40)
    edited = moved.replace(" ", " really ", 1)
    others = [words(rng, 20) for _ in range(6)]
    old = doc(moved, *others)
    new = doc(*others, edited)
    diff = compute_diff(old, new)
    [move_to] = [b for h in diff.hunks for b in h.blocks if b.op == "move_to"]
    # The blank line after it changed too (it is now last): kept exact, not displayed.
    assert [s for s in display_segments(move_to) if s[0] != "equal"] == [("insert", "really ")]
    assert diff.stats.blocks_moved == 1
    assert diff.stats.words_added == 1
    assert diff.changed_pairs() == [(moved, edited)]


# --- words and scripts --------------------------------------------------------------------


def test_it_counts_words_like_a_word_processor():
    assert count_words("Don\u2019t opt-out of 1,000 things, e.g. cookies.") == 7
    assert count_words('See [our policy](https://example.com/a-b?x=1 "Title here").') == 3
    assert count_words("Line<br>break <b>bold</b>") == 3
    assert count_words("我们使用AI模型") == 7  # each ideograph is a word, "AI" one
    assert count_words("東京に住む") == 5
    assert count_words("مَرْحَبًا بِالْعَالَم") == 2  # harakat stay inside their word
    assert count_words("שָׁלוֹם עוֹלָם") == 2
    assert count_words("हिन्दी भाषा") == 2  # vowel signs too
    assert count_words("한국어 문장입니다") == 2  # Korean is written with spaces


def test_it_tokenizes_reversibly():
    text = "A <script>alert('x')</script> \u2018quoted\u2019 — 中文 عربي\u200f\t\n  end"
    assert "".join(tokenize(text)) == text


def test_it_diffs_cjk_by_character():
    diff = compute_diff("我们不会使用您的内容。\n", "我们会使用您的内容训练模型。\n")
    [block] = diff.hunks[0].blocks
    assert [s for s in block.segments if s[0] != "equal"] == [
        ("delete", "不"),
        ("insert", "训练模型"),
    ]
    assert (diff.stats.words_added, diff.stats.words_removed) == (4, 1)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("نحن لا نستخدم بياناتك.\n", "نحن نستخدم بياناتك لتدريب النماذج.\n"),
        ("אנחנו לא משתמשים בתוכן שלך.\n", "אנחנו משתמשים בתוכן שלך לאימון AI.\n"),
        (
            "Mixed: English, عربي, עברית, 中文 and हिन्दी.\n",
            "Mixed: English, עברית, 中文 & हिन्दी!\n",
        ),
        ("\u202bRTL embedding\u202c text\n", "\u202bRTL embedding\u202c texts\n"),
    ],
)
def test_it_keeps_right_to_left_and_mixed_scripts_exact(old, new):
    diff = compute_diff(old, new, context=FULL)
    assert reassemble(diff) == (old, new)
    assert_minimal_marks(diff)
    assert diff.stats.blocks_modified == 1


# --- hostile and large inputs -------------------------------------------------------------


def test_it_keeps_html_as_plain_text():
    old = doc("<script>alert(1)</script>", "[x](javascript:alert(1)) <!-- hidden -->")
    new = doc("<script>alert(2)</script>", "[x](javascript:alert(1)) <!-- shown -->")
    diff = compute_diff(old, new, context=FULL)
    assert reassemble(diff) == (old, new)
    assert diff.changed_pairs()[0] == ("<script>alert(1)</script>", "<script>alert(2)</script>")


def test_it_diffs_a_one_megabyte_paragraph_exactly_and_quickly():
    rng = random.Random(11)
    paragraph = words(rng, 170_000)  # ~1 MB, one block
    assert len(paragraph) > 1_000_000
    middle = len(paragraph) // 2
    middle = paragraph.index(" ", middle)
    edited = paragraph[:middle] + " not" + paragraph[middle:]
    start = time.perf_counter()
    diff = compute_diff(doc("# Big", paragraph), doc("# Big", edited), context=FULL)
    assert time.perf_counter() - start < 5
    assert reassemble(diff) == (doc("# Big", paragraph), doc("# Big", edited))
    [block] = [b for b in diff.hunks[0].blocks if b.op != "equal"]
    assert [t.strip() for op, t in block.segments if op != "equal"] == ["not"]
    assert (diff.stats.words_added, diff.stats.words_removed) == (1, 0)


def test_it_bounds_the_work_on_repetitive_input_and_stays_exact():
    same = ["Same paragraph here."] * 4000
    old = doc(*same)
    new = doc(*[b for pair in zip(same[:2000], ["Other one."] * 2000, strict=True) for b in pair])
    start = time.perf_counter()
    diff = compute_diff(old, new, context=FULL)
    assert time.perf_counter() - start < 5
    assert reassemble(diff) == (old, new)
    assert diff.stats.blocks_added == 2000  # the 2,000 kept paragraphs are matched, not moved
    assert diff.stats.blocks_removed == 2000
    assert diff.stats.blocks_moved == 0
    assert not diff.bounded


def test_it_says_when_the_work_bound_was_reached():
    def text(flip: bool) -> str:  # 250 runs of "a b a b ..." against "b a b a ..."
        runs = [" ".join(["a b", "b a"][(k + flip) % 2] for _ in range(100)) for k in range(250)]
        return " ".join(f"u{k} {run}" for k, run in enumerate(runs)) + "\n"

    old, new = text(False), text(True)
    start = time.perf_counter()
    diff = compute_diff(old, new, context=FULL)
    assert time.perf_counter() - start < 5
    assert diff.bounded  # part shown as rewritten, and said so
    assert reassemble(diff) == (old, new)
    assert Diff.from_json(diff.to_json()).bounded


def test_it_gives_a_small_exact_diff_for_a_50000_word_document_with_few_edits():
    blocks = synthetic(1, 50_000)
    edited = list(blocks)
    rng = random.Random(2)
    for k in (40, 300, 610):
        edited[k] = edited[k].replace(" ", " " + words(rng, 2) + " ", 1)
    edited.insert(500, "A new paragraph about training AI models.")
    old, new = doc(*blocks), doc(*edited)
    start = time.perf_counter()
    diff = compute_diff(old, new)
    assert time.perf_counter() - start < 1
    assert diff.stats == DiffStats(
        words_added=13, words_removed=0, blocks_added=1, blocks_modified=3
    )
    assert sum(len(h.blocks) for h in diff.hunks) <= 4 * 3
    assert reassemble(compute_diff(old, new, context=FULL)) == (old, new)


# --- storage and API ----------------------------------------------------------------------


def test_it_round_trips_through_json():
    rng = random.Random(5)
    moved = words(rng, 30)
    keep = [words(rng, 20) for _ in range(4)]
    old = doc("# T", moved, keep[0], "Para <b>one</b>.", "Gone.", keep[1], keep[2], keep[3])
    new = doc("# T", keep[0], "Para <b>two</b>.", keep[1], "Added.", keep[2], keep[3], moved)
    diff = compute_diff(old, new)
    data = json.loads(json.dumps(diff.to_json()))
    assert data["schema"] == "clausewatch.diff"
    assert data["version"] == 1
    assert Diff.from_json(data) == diff
    assert {b.op for h in diff.hunks for b in h.blocks} >= {"replace", "move_from", "move_to"}


def test_it_rejects_an_unknown_schema_version():
    data = compute_diff("a\n", "b\n").to_json()
    data["version"] = 99
    with pytest.raises(ValueError, match="unsupported diff format"):
        Diff.from_json(data)


def test_it_lists_changed_pairs():
    old = doc("# T", "Kept.", "Edited here.", "Removed here.")
    new = doc("# T", "Kept.", "Edited there.", "Added here too, longer.")
    assert compute_diff(old, new).changed_pairs() == [
        ("Edited here.", "Edited there."),
        ("Removed here.", None),
        (None, "Added here too, longer."),
    ]


def test_it_filters_hunks_and_recounts_stats():
    old = doc("## AI", "We train models.", "## Ads", "We show ads.", "x", "y", "z", "w")
    new = doc("## AI", "We train AI models.", "## Ads", "We show many ads.", "x", "y", "z")
    diff = compute_diff(old, new, context=0)
    assert len(diff.hunks) == 3
    ai_only = diff.filter_hunks(lambda h: h.section == "AI")
    assert [h.section for h in ai_only.hunks] == ["AI"]
    assert ai_only.stats == DiffStats(words_added=1, blocks_modified=1)
    assert diff.stats.blocks_removed == 1
