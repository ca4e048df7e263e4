"""snapshots/ai_clauses.py: AI passages of a version, and whether a change touches them."""

from __future__ import annotations

import time

import pytest

from bench import ai_quality
from snapshots.ai_clauses import (
    CATEGORIES,
    ChangeAnalysis,
    Finding,
    analyze_change,
    analyze_paragraph,
    analyze_text,
    split_paragraphs,
)
from tests.corpus import OTA_DIR, documents

needs_corpus = pytest.mark.skipif(
    not (OTA_DIR / "manifest.json").exists(), reason="shared corpus not available"
)

TRAINING = "We may use the posts you share publicly to train our artificial intelligence models."


def categories(text: str) -> dict[str, bool]:
    return {f.category: f.negated for f in analyze_paragraph(text)}


# --- categories ----------------------------------------------------------------------------


def test_it_has_stable_category_slugs_with_summary_labels():
    assert set(CATEGORIES) == {
        "training",
        "third_party_ai",
        "generative_features",
        "consent",
        "scraping",
        "likeness",
        "ai_generated_content",
        "ai_analysis",
    }
    assert CATEGORIES["training"] == "training AI models on user content"
    assert all(label and label == label.strip() for label in CATEGORIES.values())


@pytest.mark.parametrize(
    ("text", "category"),
    [
        (TRAINING, "training"),
        ("Your reviews may become training data for our language models.", "training"),
        ("We license public posts to AI companies.", "third_party_ai"),
        ("Partners receiving your photos may use them to train their AI models.", "third_party_ai"),
        ("Our generative AI tools turn a sketch into a finished image.", "generative_features"),
        ("You own the Outputs you create with the assistant.", "generative_features"),
        ("You can opt out of AI training in your privacy settings.", "consent"),
        ("You must not scrape or crawl the service.", "scraping"),
        ("Accessing the site with bots or other automated means is forbidden.", "scraping"),
        ("We never make a digital replica of a performer's voice.", "likeness"),
        ("Deepfakes of private individuals will be removed.", "likeness"),
        ("Label realistic AI-generated videos before posting them.", "ai_generated_content"),
        ("We use machine learning to estimate your age.", "ai_analysis"),
    ],
)
def test_it_finds_each_category(text, category):
    assert category in categories(text)


@pytest.mark.parametrize(
    "text",
    [
        "Files made in Adobe Illustrator (AI) are accepted.",
        "Export the artwork as AI files.",
        "Our office is next to the train station.",
        "Take the train to the airport.",
        "We record your device model and operating system.",
        "Transfers rely on the standard model clauses.",
        "Email us to maintain your subscription.",
        "We have an office in Dubai.",
        "We use cookies to keep you signed in.",
        "We use automated systems to detect spam.",
        "Our algorithms sort posts by date.",
        "Employees receive training on privacy.",
        "We use pattern recognition to group photos by face.",
        "You can use your voice to search.",
    ],
)
def test_it_ignores_unrelated_senses(text):
    assert analyze_paragraph(text) == []


def test_it_treats_ml_for_spam_detection_as_analysis_not_training():
    found = categories("We use machine learning to detect spam in your messages.")

    assert found == {"ai_analysis": False}


# --- negation ------------------------------------------------------------------------------


def test_it_keeps_a_promise_not_to_train_as_a_negated_finding():
    [finding] = analyze_paragraph("We do not use your private messages to train AI models.")

    assert finding.category == "training"
    assert finding.negated


def test_it_does_not_negate_a_use_conditioned_on_not_opting_out():
    text = (
        "If you do not opt out, the recipients may use your information to train their "
        "artificial intelligence models."
    )

    assert categories(text) == {"third_party_ai": False, "consent": False}


def test_it_does_not_negate_a_clause_whose_not_bears_on_another_verb():
    text = "Turning it off does not remove data already used to train our AI models."

    assert categories(text)["training"] is False


def test_it_negates_a_prohibition_stated_after_the_phrase():
    assert categories("Scraping of profiles is strictly prohibited.") == {"scraping": True}


def test_it_negates_only_the_categories_a_negation_governs():
    text = "We do not sell your data to AI developers, but we train our AI models on your posts."

    assert categories(text) == {"third_party_ai": True, "training": False}


# --- explainability, paragraphs, determinism -------------------------------------------------


def test_it_reports_the_matched_phrases_as_they_appear_in_the_paragraph():
    [finding] = analyze_paragraph(TRAINING, index=7)

    assert finding.phrases == ("train our artificial intelligence models",)
    assert finding.paragraph_index == 7
    assert finding.text == TRAINING
    assert 0 < finding.score <= 1


def test_it_boosts_the_score_when_user_content_is_mentioned():
    [plain] = analyze_paragraph("We train AI models.")
    [with_content] = analyze_paragraph("We train AI models on your posts.")

    assert with_content.score > plain.score


def test_it_splits_blank_lines_list_items_and_table_cells_into_paragraphs():
    text = (
        "Intro line\ncontinued.\n  \n* First item\n* Second item\n  wrapped\n\n"
        "| Purpose | Data |\n| --- | --- |\n| **Develop**<br><br>* We train AI models.<br>* "
        "We fix bugs. | Posts |\n\n## Heading"
    )

    assert split_paragraphs(text) == [
        "Intro line\ncontinued.",
        "* First item",
        "* Second item\n  wrapped",
        "Purpose",
        "Data",
        "**Develop**",
        "* We train AI models.",
        "* We fix bugs.",
        "Posts",
        "## Heading",
    ]


def test_it_numbers_findings_by_paragraph_in_a_version():
    text = "Welcome.\n\n* We keep your data safe.\n* We train AI models on your posts.\n"

    [finding] = analyze_text(text)

    assert finding.paragraph_index == 2
    assert finding.text == "* We train AI models on your posts."


def test_it_ignores_words_inside_link_targets():
    text = "See [Google Search](https://example.com/crawling-indexing/train-ai-models) for more."

    assert analyze_paragraph(text) == []


@needs_corpus
def test_it_explains_every_finding_of_the_corpus_and_matches_paragraph_analysis():
    for versions in documents().values():
        text = versions[-1].text()
        paragraphs = split_paragraphs(text)
        findings = analyze_text(text)
        one_by_one = [f for i, p in enumerate(paragraphs) for f in analyze_paragraph(p, i)]

        assert findings == one_by_one  # the document-wide prefilter drops nothing
        assert findings == analyze_text(text)  # deterministic
        for finding in findings:
            assert finding.text == paragraphs[finding.paragraph_index]
            assert finding.phrases
            assert all(phrase in finding.text for phrase in finding.phrases)


# --- robustness and speed ------------------------------------------------------------------


def test_it_handles_a_one_megabyte_paragraph():
    paragraph = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit " * 20_000)[:1_000_000]
    paragraph += " We may train AI models on your posts."

    start = time.perf_counter()
    found = analyze_paragraph(paragraph)
    elapsed = time.perf_counter() - start

    assert [f.category for f in found] == ["training"]
    assert elapsed < 2.0


def test_it_handles_cjk_and_rtl_text():
    cjk = "我们可能会使用您公开发布的内容来训练AI模型。\n\n個人情報を保護します。"
    arabic = "قد نستخدم المحتوى الذي تنشره لتدريب نماذج الذكاء الاصطناعي."
    rtl = arabic + " \u200fנשמור על פרטיותך."  # noqa: RUF001

    assert isinstance(analyze_text(cjk), list)
    assert analyze_text(rtl) == []
    assert analyze_change([(rtl, cjk)]).to_json()["ai_relevant"] in (True, False)


def test_it_analyses_a_fifty_thousand_word_document_quickly():
    document = "\n\n".join(
        f"Section {i}. We keep records of orders, deliveries and support requests for "
        f"accounting, and may train AI models on public reviews number {i}."
        if i % 50 == 0
        else f"Section {i}. We keep records of orders, deliveries and support requests for "
        f"accounting purposes and share them with couriers where needed number {i}."
        for i in range(2_000)
    )
    assert len(document.split()) >= 40_000

    start = time.perf_counter()
    findings = analyze_text(document)
    elapsed = time.perf_counter() - start

    assert len(findings) == 40
    assert elapsed < 0.5  # ~20 ms on an idle core; generous for a shared CI runner


# --- changes -------------------------------------------------------------------------------


def test_it_flags_an_added_training_clause():
    result = analyze_change([(None, TRAINING)])

    assert result.ai_relevant
    assert result.categories == ("training",)
    assert [f.category for f in result.added] == ["training"]
    assert result.removed == []


def test_it_flags_a_removed_clause():
    result = analyze_change([("We license your posts to AI companies.", None)])

    assert result.categories == ("third_party_ai",)
    assert [f.category for f in result.removed] == ["third_party_ai"]


def test_it_ignores_a_typo_fixed_elsewhere_in_an_ai_sentence():
    old = "We may use the posts you share pubicly to train our artificial intelligence models."

    result = analyze_change([(old, TRAINING)])

    assert not result.ai_relevant
    assert result.categories == ()
    assert [f.category for f in result.added] == ["training"]  # still shown for highlighting


def test_it_ignores_link_and_spelling_changes_in_an_ai_paragraph():
    old = "We [analyze](https://a.example/1) your posts with AI models that recognize spam."
    new = "We [analyse](https://b.example/2) your posts with AI models that recognise spam."

    assert not analyze_change([(old, new)]).ai_relevant


def test_it_ignores_a_renamed_section_and_a_renamed_product():
    pairs = [
        ("## How we use data", "## How we use information"),
        (
            "Public data helps train our AI models for Bard and Translate.",
            "Public data helps train our AI models for Gemini Apps and Translate.",
        ),
    ]

    assert not analyze_change(pairs).ai_relevant


def test_it_flags_a_reworded_ai_phrase():
    old = "Public data helps train our language models."
    new = "Public data helps train our AI models."

    assert analyze_change([(old, new)]).categories == ("training",)


def test_it_flags_a_negation_flip():
    old = "We do not use your posts to train AI models."
    new = "We may use your posts to train AI models."

    assert analyze_change([(old, new)]).categories == ("training",)


def test_it_flags_a_new_kind_of_content_in_an_ai_sentence():
    old = "We may use your posts to train AI models."
    new = "We may use your posts and your private messages to train AI models."

    assert analyze_change([(old, new)]).categories == ("training",)


def test_it_flags_a_sentence_added_to_an_ai_paragraph_only_if_it_is_about_ai():
    base = "We may use your posts to train AI models."

    assert not analyze_change([(base, base + " Contact us with questions.")]).ai_relevant
    assert analyze_change([(base, base + " You can opt out of AI training.")]).categories == (
        "consent",
        "training",
    )


def test_it_treats_a_moved_paragraph_as_unchanged():
    pairs = [(TRAINING, None), ("Intro.", "Intro, updated."), (None, TRAINING)]

    assert not analyze_change(pairs).ai_relevant


def test_it_ignores_a_copied_section_when_given_both_versions():
    old_text = f"# Policy\n\n{TRAINING}\n\nWe keep data for a year."
    new_text = f"# Upcoming policy\n\n{TRAINING}\n\nWe keep data for two years.\n\n{old_text}"
    pairs = [(None, "# Upcoming policy"), (None, TRAINING), (None, "We keep data for two years.")]

    assert analyze_change(pairs).ai_relevant  # without the texts the copy looks new
    assert not analyze_change(pairs, old_text=old_text, new_text=new_text).ai_relevant


def test_it_returns_nothing_for_no_changes():
    assert analyze_change([]) == ChangeAnalysis(
        ai_relevant=False, categories=(), added=[], removed=[]
    )


def test_it_round_trips_through_json():
    result = analyze_change([("We train AI models.", TRAINING), (None, "Scraping is banned.")])

    data = result.to_json()

    assert data["ai_relevant"] is True
    assert data["categories"] == ["scraping", "training"]
    assert ChangeAnalysis.from_json(data) == result
    assert isinstance(result.added[0], Finding)


# --- labelled data -------------------------------------------------------------------------


def test_it_has_enough_written_passages_for_every_category():
    passages = ai_quality.load_passages()

    assert len(passages) >= 120
    assert sum(1 for p in passages if not p.categories) >= 30
    for category in CATEGORIES:
        assert sum(1 for p in passages if category in p.categories) >= 10, category
    assert all(p.negated <= p.categories for p in passages)


def test_it_meets_precision_and_recall_on_the_written_passages():
    scores = ai_quality.passage_scores(ai_quality.load_passages())

    for category, score in scores.items():
        assert score.precision >= 0.9, (category, score)
        assert score.recall >= 0.9, (category, score)


def test_it_gets_negation_right_on_the_written_passages():
    passages = [p for p in ai_quality.load_passages() if p.categories]
    right = 0
    for passage in passages:
        got = ai_quality.predicted(passage)
        right += all(got.get(c) == (c in passage.negated) for c in passage.categories)

    assert right / len(passages) >= 0.9


@needs_corpus
def test_it_has_a_label_for_every_real_change_of_the_corpus():
    changes = {(c.old, c.new) for c in ai_quality.corpus_changes()}

    assert set(ai_quality.load_labels()) == changes
    assert len(changes) >= 100


@needs_corpus
def test_it_flags_the_known_ai_changes_of_the_corpus():
    labels = ai_quality.load_labels()
    known = {
        "twitter/privacy-policy/2023-08-23T034134.md": "training",
        "twitter/privacy-policy/2024-10-21T181533.md": "third_party_ai",
        "linkedin/privacy-policy/2024-09-19T061013.md": "training",
        "google/privacy-policy/2023-06-29T183422.md": "training",
    }
    for change in ai_quality.corpus_changes():
        if change.new in known:
            assert known[change.new] in labels[(change.old, change.new)].categories
            assert known[change.new] in ai_quality.analyze(change).categories


@needs_corpus
def test_it_meets_precision_and_recall_on_real_corpus_changes():
    result = ai_quality.corpus_result()

    assert result.score.precision >= 0.95, result.misses
    assert result.score.recall >= 0.95, result.misses
