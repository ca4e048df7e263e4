from __future__ import annotations

import random
from itertools import pairwise

from snapshots.diffing import compute_diff
from snapshots.summary import MAX_LENGTH, summarize_change
from tests.corpus import documents


def doc(*blocks: str) -> str:
    return "\n\n".join(blocks) + "\n"


def words(seed: int, n: int) -> str:
    rng = random.Random(seed)
    return " ".join(f"w{rng.randint(0, 9999)}" for _ in range(n))


USE = "## How we use your information"


def test_it_summarizes_additions_and_edits_in_one_section_with_topics():
    old = doc("# Privacy", USE, "We use information to provide our services.", "## Sharing", "No.")
    new = doc(
        "# Privacy",
        USE,
        "We use information to provide and improve our services.",
        "We may train AI models on content you post.",
        "You can opt out in settings.",
        "## Sharing",
        "No.",
    )
    diff = compute_diff(old, new)
    assert summarize_change(diff, topics=["training AI models on user content"]) == (
        "Adds 2 paragraphs and edits 1 in 'How we use your information' "
        "about training AI models on user content"
    )
    assert summarize_change(diff) == (
        "Adds 2 paragraphs and edits 1 in 'How we use your information' (+17 / \u22120 words)"
    )


def test_it_summarizes_a_removal():
    old = doc("# P", "## Sharing", "We share with partners.", "We sell nothing.")
    new = doc("# P", "## Sharing", "We sell nothing.")
    assert summarize_change(compute_diff(old, new)) == "Removes 1 paragraph in 'Sharing'"


def test_it_counts_sections_and_words_for_edits_across_sections():
    old = doc("## A", "Alpha text here.", "## B", "Beta text here.", "## C", "Gamma text here.")
    new = doc("## A", "Alpha text there.", "## B", "Beta new text here.", "## C", "Gamma text.")
    assert summarize_change(compute_diff(old, new)) == (
        "Edits 3 paragraphs in 3 sections (+2 / \u22122 words)"
    )


def test_it_summarizes_reordered_sections():
    sections = {k: [f"## {k}", words(ord(k), 30), words(ord(k) + 100, 20)] for k in "ABCD"}
    old = doc(*(b for k in "ABCD" for b in sections[k]))
    assert summarize_change(compute_diff(old, doc(*(b for k in "BADC" for b in sections[k])))) == (
        "Reorders 2 sections"
    )
    assert summarize_change(compute_diff(old, doc(*(b for k in "ACBD" for b in sections[k])))) == (
        "Moves 1 section"
    )


def test_it_summarizes_moved_paragraphs():
    paragraphs = [words(k, 25) for k in range(5)]
    new = [paragraphs[1], paragraphs[2], paragraphs[3], paragraphs[0], paragraphs[4]]
    assert summarize_change(compute_diff(doc(*paragraphs), doc(*new))) == "Moves 1 paragraph"


def test_it_names_headings_apart_from_paragraphs():
    old = doc("# P", "Intro.")
    new = doc("# P", "Intro.", "## Training", "We train models.", "On your posts.")
    assert summarize_change(compute_diff(old, new)) == (
        "Adds 2 paragraphs and 1 heading in 'Training'"
    )


def test_it_says_when_nothing_changed():
    assert summarize_change(compute_diff("Same.\n", "Same.\n")) == "No changes to the text"


def test_it_reports_changes_without_words_as_formatting():
    old = doc("## Links", "See [help](https://example.com/en-US/help).")
    new = doc("## Links", "See [help](https://example.com/en-GB/help).")
    assert summarize_change(compute_diff(old, new)) == (
        "Changes only formatting or links in 1 paragraph in 'Links'"
    )


def test_it_keeps_the_summary_within_the_limit():
    heading = "## " + "A very long section heading that goes on " * 5
    old = doc(heading, "Text.")
    new = doc(heading, "Text changed.", "More text.")
    topics = [f"topic number {k} about AI training and licensing" for k in range(6)]
    summary = summarize_change(compute_diff(old, new), topics=topics)
    assert len(summary) <= MAX_LENGTH
    assert summary.startswith("Adds 1 paragraph and edits 1 in 'A very long section heading")
    assert "about topic number 0 about AI training and licensing" in summary


def test_it_is_deterministic_and_short_for_every_corpus_change():
    for versions in documents().values():
        texts = [v.text() for v in versions]
        for old, new in pairwise(texts):
            diff = compute_diff(old, new)
            summary = summarize_change(diff, topics=["training AI models on user content"])
            assert 0 < len(summary) <= MAX_LENGTH
            assert summary == summarize_change(diff, topics=["training AI models on user content"])
            assert "\n" not in summary
