"""Find the passages of a terms or privacy document that touch how people's work may be used for AI.

Pure (no Django, no model weights, no network): compiled regular expressions over normalized
Markdown; deterministic; explainable; a 50,000-word document takes a few tens of milliseconds.
Bump SCHEMA_VERSION whenever the rules change: stored analyses and caches are keyed by it.

Paragraphs. A version's text is cut into paragraphs on blank lines (whitespace-only lines
count as blank); every Markdown list item, ATX heading and table row is a paragraph of its
own, and a table row is further cut at its cells and `<br>` list items, so one clause of a
big legal-grounds table is one paragraph.

Matching. Link destinations `](...)`, bare URLs and HTML tags are blanked out first (same
length, so offsets still point into the original text): words in URLs are not clauses.
Every rule lists "needles", substrings it cannot match without; a document is swept for the
needles once (found first in its vocabulary, then located), and only the paragraphs and
sentences holding one reach the regular expressions. Each rule is a regex with a weight and
optional context (must also hit the same sentence) or veto (must not). Findings are one per
(paragraph, category); `phrases` are the exact matched substrings of the paragraph, so each
finding can be shown and highlighted.

Scope: explicit AI vocabulary. "AI" only as an upper-case token (not in "maintain",
"email", "Dubai", ".ai" files, or next to "Illustrator"); "model" only next to a training
verb or AI words ("device model", "model clauses" are not AI); "train" not as a railway
noun ("the train", "train station"). Plain "automated systems", "algorithms", "pattern
recognition" or "speech recognition" are not AI vocabulary here: they describe software in
general and would flag decades of unchanged privacy policies.

Categories are listed in CATEGORIES. Decisions behind the less obvious ones:
* `training`: the service (or its group) trains or improves AI/ML models, or uses content as
  training data. Third parties training *their* models is `third_party_ai`, and a model type
  inside a training phrase ("train generative models") belongs to the training phrase.
* `generative_features`: AI features that produce something for users (assistants, chat,
  generation, translation, summaries, suggestions), their inputs and outputs, and named
  generative-AI products (Bard, Gemini, Grok, ChatGPT, Copilot, ...). In change signatures
  all product names are one token, so a rebrand (Bard -> Gemini Apps) is not news, while a
  first mention of such a product is.
* `ai_analysis` (added for the corpus: Google's "machine learning technology to determine if
  you are likely over 18", LinkedIn's "insights with the help of AI ... and inferences"):
  AI/ML that decides or infers something about people or their content (age, interests,
  moderation, spam or abuse detection, ranking). ML used on user data for such
  non-generative purposes is *not* `training` unless the text says models are trained or
  improved with the data.
* `consent`: a consent/opt-out/opt-in/setting word in the same sentence as another AI
  finding, not the service's own permission ("without our written permission").
* `likeness`: deepfakes, digital replicas, voice cloning, synthetic media on their own;
  "likeness", "voice", "face" only next to AI or synthesis vocabulary.
* `ai_generated_content`: "AI-generated <something>" always; "made/created with AI" and
  "synthetic images" only next to a rule word (label, disclose, ban, must, remove, ...).

Negation. "no"/"nor" and prohibitions ("prohibit", "ban", "barred", "block") negate their
clause; "not"/"never"/"n't" negate the verb after them, which must be the phrase itself or a
verb carrying it ("we do not *use* your posts to train ..."), so "does not remove data
already used to train our AI" is no promise; "is prohibited", "will never be used" after the
phrase negate it too. Cues inside a condition ("if you do not opt out, ...", "users who do
not opt out") or a short quotation ("mark it 'do not train'") negate nothing. A finding is
negated when all its phrases are: "we do not use your content to train AI models" is a
`training` finding with negated=True, news in its own right.

Score (0-1). The strongest phrase's weight (0.6 for a product name or a generic AI use, up
to 0.9 for "train ... AI models" or "deepfake"), plus 0.1 when the paragraph also mentions
users' content or data ("your posts", "personal data", "publicly available information"),
plus 0.05 for each further distinct phrase of the category (at most 0.1), capped at 1.

Change relevance (analyze_change). Each changed paragraph with findings gets a signature:
the multiset of (category, negated, canonical phrase) plus the user-data nouns of its AI
sentences (so "your posts" -> "your posts and private messages" is news). Canonical phrases
are lower-cased, punctuation- and spelling-folded (analyse/analyze), product names folded.
1. Paragraphs that are copies are dropped: a removed paragraph whose normalized text is
   still in the new version, an added one that was already in the old version (pass
   old_text/new_text; without them, only copies within the changed blocks are seen). Pages
   that show "upcoming" and "current" policies one after the other double and halve all the
   time; that repeats clauses, it does not change them.
2. The change is AI-relevant when the remaining old and new signatures differ; its
   categories are those of the differing elements. So a typo or link fixed in an AI
   paragraph, a section renamed, a sentence without AI words added to an AI paragraph, or a
   product rebranded is not AI-relevant, while a new clause, a removed clause, a flipped
   negation, a new data type or a reworded AI phrase ("language models" -> "AI models") is.
`added`/`removed` still list every finding in the new/old text of the changed blocks (for
highlighting); their paragraph_index is the index of the changed pair they came from.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

SCHEMA = "clausewatch.ai"
SCHEMA_VERSION = 1

CATEGORIES: dict[str, str] = {
    "training": "training AI models on user content",
    "third_party_ai": "sharing or licensing content to third parties for AI",
    "generative_features": "generative AI features and their inputs and outputs",
    "consent": "consent, opt-outs and settings for AI use",
    "scraping": "scraping, crawling and data mining",
    "likeness": "voice, likeness and synthetic media",
    "ai_generated_content": "rules for AI-generated content",
    "ai_analysis": "AI analysis of users' data",
}


# --- public data ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    category: str
    score: float
    phrases: tuple[str, ...]
    negated: bool
    paragraph_index: int
    text: str

    def to_json(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "score": self.score,
            "phrases": list(self.phrases),
            "negated": self.negated,
            "paragraph_index": self.paragraph_index,
            "text": self.text,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Finding:
        return cls(
            category=data["category"],
            score=float(data["score"]),
            phrases=tuple(data["phrases"]),
            negated=bool(data["negated"]),
            paragraph_index=int(data["paragraph_index"]),
            text=data["text"],
        )


@dataclass(frozen=True)
class ChangeAnalysis:
    ai_relevant: bool
    categories: tuple[str, ...]
    added: list[Finding]
    removed: list[Finding]

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "version": SCHEMA_VERSION,
            "ai_relevant": self.ai_relevant,
            "categories": list(self.categories),
            "added": [f.to_json() for f in self.added],
            "removed": [f.to_json() for f in self.removed],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChangeAnalysis:
        return cls(
            ai_relevant=bool(data.get("ai_relevant", False)),
            categories=tuple(data.get("categories", ())),
            added=[Finding.from_json(f) for f in data.get("added", ())],
            removed=[Finding.from_json(f) for f in data.get("removed", ())],
        )


# --- vocabulary ----------------------------------------------------------------------------

_I = re.IGNORECASE

# "AI" only as an upper-case token bounded by non-ASCII-alphanumerics: "maintain", "email",
# "Dubai" never match, while CJK text around "AI" still does.
_AI_ABBR = r"(?-i:(?<![A-Za-z0-9.])(?:AI|A\.I\.|GenAI)(?![A-Za-z0-9]))"
_AI = (
    # The lookahead lets the engine skip most positions at once (re has no literal prefilter).
    rf"(?=[AaGgMmDdNnLlFf])(?:{_AI_ABBR}|artificial[\s-]+intelligence|machine[\s-]+learning"
    r"|deep[\s-]+learning"
    r"|neural[\s-]+net(?:work)?s?|large[\s-]+language[\s-]+models?|language[\s-]+models?"
    r"|foundation(?:al)?[\s-]+models?|(?-i:(?<![A-Za-z0-9])LLMs?(?![A-Za-z0-9]))"
    r"|(?-i:(?<=AI/)ML|(?<![A-Za-z0-9/])ML(?=[\s-](?:models?|systems?|algorithms?|based|powered"
    r"|technolog))))"
)
_PRODUCTS = (
    r"(?-i:\b(?:Bard|Gemini(?:\s+Apps?)?|Grok|ChatGPT|Copilot|Meta\s+AI|DALL[-·]?E|Midjourney"
    r"|Stable\s+Diffusion)\b)"
)
_MODEL_NOUN = r"(?:models?|systems?|algorithms?|technolog(?:y|ies)|classifiers?)"
# What a training verb may train: AI vocabulary ("our machine learning or artificial
# intelligence models"), or plain models/algorithms/classifiers, but not "model clauses".
_TRAIN_TARGET = (
    rf"(?:{_AI}(?:[\s-]+(?:or|and)[\s-]+{_AI})?(?:\s*\((?-i:AI|ML|LLMs?)\))?"
    rf"(?:[\s-]+{_MODEL_NOUN})?"
    r"|models?\b(?![\s-]+(?:clauses?|contract\w*|numbers?|years?|names?|releases?))"
    r"|algorithms?|classifiers?|(?:image|text|video|music|art)[\s-]+generators?|chatbots?)"
)
# Words between a verb and its object: not across clause punctuation or quotes, so
# "'do not train' to keep it out of our model" is not "train ... model".
_GAP_SEP = r"[^\w.;:!?'\"\u2018\u2019\u201c\u201d]+"
_GAP = rf"(?:{_GAP_SEP}[\w\u2019'-]+){{0,%d}}?{_GAP_SEP}"
_FEATURE_NOUN = (
    r"(?:features?|tools?|assistants?|chatbots?|chats?|agents?|companions?|products?|services"
    r"|apps?|applications?|capabilit(?:y|ies)|experiences?|functionalit(?:y|ies)|characters?"
    r"|bots?|suggestions?|replies|translations?|summar(?:y|ies)|captions?|drafts?|writing"
    r"|editing|edits?|search|overviews?)"
)
# AI words used as a modifier of something that is not analysis ("AI features",
# "AI-generated", "AI companies") are left to the categories about those things.
_NOT_ANALYSIS = (
    rf"(?![\s-]+(?:{_FEATURE_NOUN}|companies|developers|providers|labs?|generated|created"
    r"|made|training|principles|polic(?:y|ies)|act|regulations?)\b)"
)
_THIRD_PARTY = (
    r"\bthird[\s-]+part(?:y|ies)(?:[\s-]+(?:collaborators?|partners?|companies|developers"
    r"|providers|services))?\b|\b(?:business|research|data|licensing|commercial)\s+partners?\b"
    r"|\bpartners\b|\bcollaborators?\b|\b(?:other|outside|tech|technology|(?-i:AI))\s+companies\b"
    r"|\bresearchers\b|\blicensees?\b|\bdata\s+brokers?\b|\brecipients\b|\bbuyers?\b"
)
_TRANSFER = (
    r"\b(?:shar(?:e|es|ed|ing)|disclos\w+|licen[cs]\w*|sell\w*|sold|transfer\w*|provid\w+"
    r"|mak\w+\s+(?:\w+\s+){0,4}?available|giv\w+\s+(?:\w+\s+){0,2}?access)\b"
)

# Substrings a rule cannot match without (upper-case ones are searched case-sensitively):
# Python's re has no multi-literal search, so str.find is what keeps documents fast.
# Few and short on purpose: each is one pass over the text ("model" stands for "language
# models", "foundation models", ...).
_AI_NEEDLES = (
    "AI",
    "GenAI",
    "A.I.",
    "artificial",
    "machine",
    "deep",
    "neural",
    "language model",
    "language-model",
    "foundation",
    "LLM",
    "ML",
)
_PRODUCT_NEEDLES = (
    "Bard",
    "Gemini",
    "Grok",
    "ChatGPT",
    "Copilot",
    "DALL",
    "Midjourney",
    "Stable Diffusion",
)
# Lower-case needles must start a word ("mining" must not fire on "determining"), so the
# hyphenated and prefixed forms are listed too.
_TRAIN_NEEDLES = (
    "train",
    "retrain",
    "pretrain",
    "re-train",
    "pre-train",
    "fine-tun",
    "fine tun",
    "finetun",
)
_SYNTH_NEEDLES = (
    *_AI_NEEDLES,
    *_PRODUCT_NEEDLES,
    "generated by",
    "generated with",
    "generated using",
    "synthe",
    "replica",
    "clon",
    "imitat",
    "simulat",
    "altered",
    "manipulat",
    "digitally",
)


class _Needles:
    """Substrings: lower-case ones looked up in the lowered text, others case-sensitively."""

    def __init__(self, needles: Iterable[str]) -> None:
        unique = tuple(dict.fromkeys(needles))
        self.all = frozenset(unique)
        self.folded = tuple(n for n in unique if n == n.lower())
        self.exact = tuple(n for n in unique if n != n.lower())
        self.probes = tuple((n, False) for n in self.folded) + tuple((n, True) for n in self.exact)

    def any_in(self, text: str, lowered: str) -> bool:
        return any(n in lowered for n in self.folded) or any(n in text for n in self.exact)

    def found_in(self, text: str, lowered: str) -> frozenset[str]:
        return frozenset(
            [n for n in self.folded if n in lowered] + [n for n in self.exact if n in text]
        )


@dataclass(frozen=True)
class _Rule:
    category: str
    needles: _Needles
    pattern: re.Pattern[str]
    weight: float
    context: tuple[re.Pattern[str], ...] = ()  # each must also hit the same sentence
    veto: re.Pattern[str] | None = None  # must not hit the same sentence


def _rule(
    category: str,
    needles: tuple[str, ...],
    pattern: str,
    weight: float,
    context: str | tuple[str, ...] = (),
    veto: str | None = None,
) -> _Rule:
    contexts = (context,) if isinstance(context, str) else context
    return _Rule(
        category,
        _Needles(needles),
        re.compile(pattern, _I),
        weight,
        tuple(re.compile(c, _I) for c in contexts),
        re.compile(veto, _I) if veto else None,
    )


_TRAIN_VERB = (
    r"\b(?<!\bthe )(?<!\bby )(?<!\ba )(?<!\bnext )(?<!\blast )"
    r"(?:(?:re|pre)-?)?train(?:s|ed|ing)?\b"
    r"(?![\s-]+(?:stations?|tickets?|journeys?|lines?|times|schedules?|platforms?|rides?|travel))"
    r"|\bfine[\s-]?tun(?:e|es|ed|ing)\b"
)
# Verbs, not nouns: "AI developers" must not read as "develop ... AI models".
_BUILD_VERB = (
    r"\b(?:improv(?:e|es|ed|ing)|develop(?:s|ed|ing)?|build(?:s|ing)?|built"
    r"|refin(?:e|es|ed|ing)|enhanc(?:e|es|ed|ing)|teach(?:es|ing)?|taught|creat(?:e|es|ed|ing))\b"
)
_ANALYSIS_NOUN = (
    r"(?:detection|moderation|filter\w*|screening|classification|ranking|recommendations?"
    r"|review|verification|fraud|spam|scoring|profiling|age\s+estimation|inferences?)\b"
)
_RULE_WORDS = (
    r"\b(?:label\w*|disclos\w*|identif\w*|mark\w*|watermark\w*|tag\w*|prohibit\w*|ban\w*|allow\w*"
    r"|permit\w*|must|may\s+not|polic(?:y|ies)|rules?|guidelines?|remov\w*|report\w*|detect\w*"
    r"|flag\w*|post\w*|upload\w*|publish\w*|monetiz\w*|monetis\w*|indicat\w*|declar\w*|notif\w*"
    r"|C2PA|credentials?|misleading|deceptive|impersonat\w*|eligib\w*|accept\w*|submi\w*"
    r"|entr(?:y|ies))\b"
)
_SYNTH_CONTEXT = (
    rf"{_AI}|{_PRODUCTS}|\bgenerated\s+(?:by|with|using)\b|\bsynthe\w+|\breplica\w*|\bclon\w+"
    r"|\bimitat\w+|\bsimulat\w+|\baltered\b|\bmanipulat\w+|\bdeep[\s-]?fake\w*|\bdigitally\b"
)
_ANALYSIS_VERB = (
    r"\b(?:infer\w*|predict\w*|estimat\w*|determin\w*|detect\w*|classif\w*|profil\w*|analy[sz]\w*"
    r"|recommend\w*|personali[sz]\w*|moderat\w*|rank\w*|assess\w*|decid\w*|decisions?|identif\w*"
    r"|recogni[sz]\w*|review\w*|flag\w*|scor\w*|insights?|understand\w*|verif\w*|prevent\w*"
    r"|protect\w*|filter\w*|target\w*|tailor\w*|categori[sz]\w*|sort\w*|match\w*|spam|fraud"
    r"|transcri\w*)"
)

_RULES: tuple[_Rule, ...] = (
    # training
    _rule("training", _TRAIN_NEEDLES, rf"(?:{_TRAIN_VERB}){_GAP % 6}{_TRAIN_TARGET}", 0.9),
    _rule(
        "training",
        ("train", "fine-tun"),
        # passive: "our generative AI features were trained on ...", "models are trained"
        rf"(?:{_AI}|\bmodels?\b)(?:[\s-]+[\w-]+){{0,2}}?\s+(?:is|are|was|were|been|being|get|gets"
        r"|got)\s+(?:\w+\s+)?(?:(?:re|pre)-?)?(?:trained|fine-?tuned)\b",
        0.9,
    ),
    _rule(
        "training",
        ("training",),
        rf"(?:{_AI}|{_PRODUCTS})(?:[\s-]+models?)?[\s-]+training\b"
        r"(?![\s-]+(?:courses?|sessions?|programs?|programmes?|materials?|videos?|classes"
        r"|workshops?|modules?))",
        0.9,
    ),
    _rule(
        "training",
        ("model training", "models training", "model-training"),
        r"\bmodels?[\s-]+training\b",
        0.8,
    ),
    _rule(
        "training",
        (*_AI_NEEDLES, "model"),  # "feed", "fed" and "input" are far commoner
        # "feed your manuscripts into any AI model"
        r"\b(?:feed|feeds|feeding|fed|ingest\w*|input|inputs|inputting)\b"
        rf"{_GAP % 5}(?:into|to)\s+(?:\w+\s+){{0,2}}?(?:{_AI}|models?\b)",
        0.8,
    ),
    _rule(
        "training",
        ("training",),
        rf"\btraining\s+(?:of|for)\s+(?:\w+\s+){{0,2}}?(?:{_AI}|models?\b)",
        0.85,
    ),
    _rule(
        "training",
        ("training",),
        r"\btraining[\s-]+(?:data(?:[\s-]?sets?)?|datasets?|sets?|corpus|corpora|examples)\b",
        0.75,
    ),
    _rule(
        "training",
        _AI_NEEDLES,
        rf"{_BUILD_VERB}{_GAP % 4}{_AI}"
        rf"(?:[\s-]+(?:or|and)[\s-]+{_AI})?[\s-]+{_MODEL_NOUN}",
        0.8,
    ),
    _rule(
        "training",
        _AI_NEEDLES,
        # "develop and improve AI at the company", "improve its artificial intelligence"; not
        # "develop AI features" (a feature) nor "improve AI-generated captions"
        r"\b(?:improv(?:e|es|ed)|develop(?:s|ed)?|builds?|built|refin(?:e|es|ed)"
        rf"|enhanc(?:e|es|ed)|teach(?:es)?|taught)\b{_GAP % 3}{_AI}"
        r"(?=\s*(?:$|[.,;:!?)]|(?:at|for|in|on|with|and|or|to|that|which|across|responsibly)\b))",
        0.75,
    ),
    _rule(
        "training",
        ("models",),
        rf"{_BUILD_VERB}\W+(?:and\W+\w+\W+)?"
        r"(?:our|its|their|these|those|the|new)\W+(?:own\W+)?"
        r"(?!(?:business|pricing|operating|subscription|revenue|role|device|product)\b)"
        r"(?:[\w-]+\W+)?models\b",
        0.7,
    ),
    # third parties
    _rule(
        "third_party_ai",
        (*_AI_NEEDLES, "model developers"),
        rf"(?:{_AI})[\s-]+(?:companies|developers|providers|labs?|vendors|firms|startups"
        r"|partners)\b|\bthird[\s-]+party\s+(?:{_AI})(?:[\s-]+\w+)?|\bmodel\s+developers\b",
        0.9,
    ),
    _rule(
        "third_party_ai",
        _AI_NEEDLES,  # the context needs AI words too, and they are the rarer needle
        # "share your posts with research partners", "make logs available to researchers"
        rf"{_TRANSFER}{_GAP % 8}(?:with|to)\W+(?:[\w\u2019'-]+\W+){{0,3}}?(?:{_THIRD_PARTY})",
        0.85,
        context=_AI,
    ),
    # generative features
    _rule(
        "generative_features",
        ("generative", "AI"),
        rf"\bgenerative[\s-]+(?:{_AI}|models?|{_FEATURE_NOUN}|technolog(?:y|ies)|systems?"
        r"|content)\b|(?-i:\b[Gg]en[\s-]?AI\b)",
        0.85,
    ),
    _rule(
        "generative_features",
        _AI_NEEDLES,
        rf"{_AI}[\s-]+(?:powered[\s-]+|based[\s-]+)?{_FEATURE_NOUN}\b",
        0.7,
    ),
    _rule(
        "generative_features",
        _AI_NEEDLES,
        # "AI-powered translation"; "AI-powered moderation" is analysis (below)
        rf"{_AI}[\s-]+(?:powered|driven|enabled|assisted)\b"
        rf"(?![\s-]+(?:\w+[\s-]+)?{_ANALYSIS_NOUN})",
        0.7,
    ),
    _rule(
        "generative_features",
        _AI_NEEDLES + _PRODUCT_NEEDLES,
        r"\b(?:translat\w+|summar\w+|caption\w*|draft\w*)\s+(?:\w+\s+){0,3}?"
        r"(?:with\s+the\s+help\s+of"
        rf"|by|with|using|through)\s+(?:\w+\s+){{0,2}}?(?:{_AI}|{_PRODUCTS})",
        0.7,
    ),
    _rule(
        "generative_features",
        _AI_NEEDLES + _PRODUCT_NEEDLES,
        r"\b(?:interactions?|conversations?|chats?|prompts?|inputs?|queries)\s+(?:with|to|into)"
        rf"\s+(?:\w+\s+){{0,2}}?(?:{_AI}|{_PRODUCTS})"
        r"|\b(?:outputs?|responses?|generations?|answers?)\s+(?:\w+\s+){0,1}?(?:generated|produced"
        rf"|created|written)\s+by\s+(?:\w+\s+){{0,2}}?(?:{_AI}|{_PRODUCTS})",
        0.75,
    ),
    _rule("generative_features", ("prompt",), r"\bprompts\b", 0.7, context=_AI),
    _rule(
        "generative_features",
        _PRODUCT_NEEDLES,
        _PRODUCTS,
        0.6,
        veto=(
            r"\b(?:constellation|zodiac|horoscopes?|astrolog\w*|twins|spacecraft|NASA"
            r"|crypto\w*|exchange|poet\w*|Shakespeare|Avon)\b"
        ),
    ),
    _rule(
        "generative_features",
        ("chatbot", "generator", "generation", "LLM", "language model", "language-model"),
        r"\bchatbots?\b|\b(?:image|text|video|music|art)[\s-]+generat(?:or|ors|ion)\b"
        r"|(?-i:\bLLMs?\b)|\blarge[\s-]+language[\s-]+models?\b",
        0.8,
    ),
    _rule(
        "generative_features",
        ("Output", "prompt and", "prompts and", "prompt or", "prompts or"),
        r"\b(?:own|owns|ownership|rights?|title)\s+(?:\w+\s+){0,3}?(?-i:Outputs?)\b"
        r"|(?-i:\bOutputs?\b)\s+(?:\w+\s+){0,4}?(?:belongs?|owned)\b"
        r"|\b(?:prompts?|inputs?)\s+(?:and|or)\s+(?:the\s+)?(?:outputs?|responses?|results)\b",
        0.7,
    ),
    # AI-generated content
    _rule(
        "ai_generated_content",
        (*_AI_NEEDLES, "machine-", "machine gen", "computer-", "computer gen"),
        # "AI-generated music", "machine-generated spam": content, whatever the sentence says
        rf"(?:{_AI}|\bmachine|\bcomputer)[\s-]+(?:generated|created|made|manipulated|altered"
        r"|edited)\b",
        0.85,
    ),
    _rule(
        "ai_generated_content",
        (*_AI_NEEDLES, *_PRODUCT_NEEDLES, "generative", "synthe", "realistic"),
        # "made with AI", "synthetic images": only with a rule nearby, since "responses
        # generated by the assistant" is about a generative feature
        r"\b(?:generated|created|made|produced|altered|manipulated|edited|synthesi[sz]ed|written"
        r"|illustrated|composed|drawn|designed)\s+(?:\w+\s+){0,1}?(?:by|with|using|through)\s+"
        rf"(?:\w+\s+){{0,2}}?(?:{_AI}|generative\b|{_PRODUCTS})"
        r"(?:[\s-]+(?:AI|tools?|models?|apps?|features?|software|systems?|technolog(?:y|ies)))*"
        r"|\bsynthetic(?:ally[\s-]+generated)?[\s-]+(?:content|images?|videos?|audio|text"
        r"|posts?|material)\b|\baltered\s+or\s+synthetic\b"
        r"|\brealistic[\s-]+(?:altered|synthetic)\b",
        0.85,
        context=_RULE_WORDS,
    ),
    _rule(
        "ai_generated_content",
        (*_AI_NEEDLES, "synthe", "content credentials", "C2PA"),
        rf"\bmade\s+with\s+{_AI}|(?:{_AI}|synthetic)[\s-]+(?:labels?|disclosures?|watermarks?"
        r"|info\b)|\bcontent\s+credentials\b|\bC2PA\b"
        rf"|{_AI}\s+(?:was|were|is|are|has\s+been|have\s+been)\s+used\s+to\s+(?:write|create"
        r"|generate|illustrate|produce|make|draw|compose|design|edit)\b",
        0.85,
    ),
    # likeness
    _rule(
        "likeness",
        (
            *_AI_NEEDLES,
            "digital double",
            "digital likeness",
            "clon",
            "synthe",
            "replica",
            "face swap",
            "faceswap",
            "face-swap",
        ),
        r"\bdeep[\s-]?fak\w*|\bdigital[\s-]+(?:replicas?|doubles?|clones?|likeness(?:es)?)\b"
        r"|\bvoice[\s-]?(?:clon\w*|replicas?|synthesis)\b|\bclon\w+\s+(?:\w+\s+){0,2}?voices?\b"
        r"|\bsynthetic[\s-]+(?:voices?|media|likeness(?:es)?|faces?|performers?|avatars?)\b"
        rf"|\bface[\s-]?swap\w*|{_AI}[\s-]+(?:avatars?|clones?|voices?|likeness(?:es)?|replicas?"
        r"|personas?)\b",
        0.9,
    ),
    _rule(
        "likeness",
        _SYNTH_NEEDLES,  # rarer than "voice" or "face", and the context needs them anyway
        r"\blikeness(?:es)?\b|\bvoices?\b|\bfaces?\b|\bfacial\b|\bpersonas?\b"
        r"|\bimage\s+of\s+(?:you|yourself)\b|\bname,?\s+image\b",
        0.75,
        context=_SYNTH_CONTEXT,
    ),
    # scraping
    _rule(
        "scraping",
        ("scrap", "web-scrap", "screen-scrap", "anti-scrap"),
        r"\b(?:web[\s-]?|screen[\s-]?)?scrap(?:e|es|ed|ing|ers?)\b",
        0.9,
    ),
    _rule("scraping", ("crawler", "web-crawl"), r"\b(?:web[\s-]?)?crawlers?\b", 0.85),
    _rule(
        "scraping",
        ("crawl",),
        # the verb needs something crawlable nearby: "crawl under the stage" is not scraping
        r"(?<!\bpub )(?<!\bbar )\bcrawl(?:s|ed|ing)?\b",
        0.85,
        context=(
            r"\b(?:sites?|services?|pages?|web\w*|content|data|profiles?|internet|platform"
            r"|index\w*|search\w*|bots?|robots?|spiders?|apps?|articles?|posts?|urls?|links"
            r"|listings?|automated)\b|" + _AI
        ),
    ),
    _rule(
        "scraping",
        ("mining", "data-mining", "TDM", "harvest"),
        r"\b(?:text\s+and\s+)?data[\s-]mining\b|(?-i:\bTDM\b)"
        r"|\bharvest(?:s|ed|ing)?\b(?:\W+\w+){0,3}?\W+(?:data|content|information|e-?mail"
        r"\s+addresses|profiles|images|works)\b",
        0.85,
    ),
    _rule(
        "scraping",
        ("automated", "robot", "bots", "spider"),  # not "bot": it is in "both"
        r"\bautomated[\s-]+(?:means|methods|tools|scripts|software|programs|queries|access"
        r"|(?:data\s+)?collection|extraction|downloading)\b|\b(?:ro)?bots?\b|\bspiders?\b",
        0.8,
        context=(
            r"\b(?:access\w*|collect\w*|extract\w*|cop(?:y|ies|ying)|download\w*|index\w*"
            r"|crawl\w*|scrap\w*|harvest\w*|mine|mining)\b"
        ),
    ),
    _rule(
        "scraping",
        ("robots", "noai", "noimageai", "ai.txt"),
        r"\brobots\.txt\b|\brobots\s+exclusion\b|\bnoai\b|\bnoimageai\b|\bai\.txt\b",
        0.85,
    ),
    # AI applied to users' data
    _rule(
        "ai_analysis",
        _AI_NEEDLES,
        rf"{_AI}[\s-]+(?:powered|driven|enabled|assisted|based)[\s-]+(?:\w+[\s-]+)?"
        rf"{_ANALYSIS_NOUN}",
        0.6,
    ),
    _rule(
        "ai_analysis",
        _AI_NEEDLES,
        # "we may analyze your content using techniques such as machine learning"
        r"\b(?:analy[sz]\w*|scan\w*|review\w*|process\w*|classif\w*)\s+(?:[\w\u2019'-]+\s+){0,4}?"
        rf"(?:using|with|through|via|by)\s+(?:[\w\u2019'-]+\s+){{0,3}}?{_AI}{_NOT_ANALYSIS}",
        0.6,
    ),
    _rule(
        "ai_analysis",
        _AI_NEEDLES,
        r"\b(?:use|uses|used|using|rely|relies|relying|apply|applies|applied"
        r"|employ(?:s|ed|ing)?|leverag(?:e|es|ed|ing)|deploy(?:s|ed|ing)?)\b(?:\s+on)?\s+"
        r"(?:(?!train|fine|improv|develop|build)\w+\s+){0,2}?"
        rf"{_AI}{_NOT_ANALYSIS}"
        rf"(?:[\s-]+{_MODEL_NOUN})?|\b(?:with\s+the\s+(?:help|assistance)\s+of|powered\s+by"
        rf"|by\s+means\s+of|through\s+the\s+use\s+of|assisted\s+by)\s+(?:\w+\s+){{0,1}}?{_AI}"
        rf"{_NOT_ANALYSIS}",
        0.6,
        context=_ANALYSIS_VERB,
    ),
    _rule(
        "ai_analysis",
        _AI_NEEDLES,
        rf"{_AI}{_NOT_ANALYSIS}(?:[\s-]+{_MODEL_NOUN})?\s+(?:\w+\s+){{0,2}}?"
        r"(?:infers?|inferred|predicts?|predicted|estimates?|estimated|determines?|detects?"
        r"|detected|classif\w+|profil\w+|analy[sz]\w+|recommend\w*|personali[sz]\w+|moderat\w+"
        r"|ranks?|ranked|assess\w*|decides?|decided|identif\w+|recogni[sz]\w+|reviews?|reviewed"
        r"|flags?|flagged|scores?|scored|transcrib\w+|verif(?:y|ies|ied|ying))\b"
        r"|\b(?:analy[sz]ed|transcribed|reviewed|moderated|scanned|screened|classified|detected"
        r"|flagged|tagged|sorted|processed|verified|checked)\s+(?:by|with|using)\s+"
        rf"(?:\w+\s+){{0,2}}?{_AI}{_NOT_ANALYSIS}",
        0.6,
    ),
)


def _minimal(needles: Iterable[str]) -> tuple[str, ...]:
    """Drop needles that contain a shorter one ("training" when "train" is there)."""
    needles = list(dict.fromkeys(needles))
    folded = {n for n in needles if n == n.lower()}
    return tuple(
        n
        for n in needles
        if not any(o != n and o in n.lower() for o in folded)
        and not any(o != n and o in n for o in needles if o != o.lower())
    )


# Every needle of every rule (per sentence), and the shortest ones (per document).
_EVERY_NEEDLE = _Needles(n for r in _RULES for n in (*r.needles.folded, *r.needles.exact))
_ALL_NEEDLES = _Needles(_minimal(n for r in _RULES for n in (*r.needles.folded, *r.needles.exact)))


_CONSENT = re.compile(
    r"\bopt(?:s|ed|ing)?[\s-]?(?:out|in)\b|\bopt[\s-]?(?:outs|ins)\b|\bconsent\w*"
    r"|\bpermission\b|\b(?:privacy\s+|data\s+)?settings?\b|\btoggle\b"
    r"|\bturn(?:s|ed|ing)?\s+(?:\w+\s+)?off\b|\bswitch(?:es|ed)?\s+off\b|\bdisabl\w+"
    r"|\bobject(?:ion)?\s+to\b|\bright\s+to\s+object\b|\bwithdraw\w*|\bchoose\s+(?:whether|not)\b"
    r"|\bcontrols?\s+(?:over|whether|how)\b|\bDo\s+Not\s+Train\b"
    r"|\b(?:can|may)\s+(?:stop|prevent|block|limit|restrict)\b",
    _I,
)
_CONSENT_WEIGHT = 0.8
# "without our written permission" is the service's consent, not a control users have.
_OUR = re.compile(r"\bour\b(?:\W+\w+){0,2}?\W*$", _I)

# User content and data: boosts the score and, inside AI sentences, belongs to the signature.
_DATA = re.compile(
    r"\b(?=[yumctpi])(?:your|users?['\u2019]?|members?['\u2019]?|creators?['\u2019]?|their)"
    r"\s+(?:own\s+)?"
    r"(?:public\s+|private\s+)?"
    r"(?:content|posts?|photos?|pictures?|videos?|images?|messages?|data|information|works?"
    r"|uploads?|creations?|recordings?|profiles?|interactions?|activity|conversations?|chats?"
    r"|prompts?|art(?:work)?s?|music|writings?|code|comments?|tweets?|voice|likeness)\b"
    r"|\buser[\s-]+(?:generated\s+)?(?:content|data)\b|\bpersonal\s+(?:data|information)\b"
    r"|\bpublicly[\s-]+(?:available|accessible|shared)\s+(?:\w+\s+)?(?:information|data|content"
    r"|sources)\b|\binformation\s+(?:that\s+)?we\s+collect\b|\bprivate\s+messages\b"
    r"|\binformation\s+that(?:['\u2019]s|\s+is)\s+publicly\s+(?:available|accessible)\b"
    r"|\bpublic\s+(?:posts|content|profiles)\b|\bcontent\s+(?:that\s+)?you\s+(?:post|share"
    r"|upload|create|submit|provide)\w*\b",
    _I,
)

# --- negation ------------------------------------------------------------------------------

# "no"/"none"/"nor" and prohibitions negate their whole clause ("no AI training", "we prohibit
# scraping"); "not"/"never"/"n't" negate the verb that follows them, which must be the AI
# phrase itself or a verb that carries it ("do not *use* your posts to train", "will not
# *share*"), so "does not remove data already used to train our AI" is not a promise.
_NEG_CLAUSE = re.compile(
    r"\b(?:no|none|neither|nor|prohibit\w*|forbid\w*|ban|bans|banned|barred|disallow\w*"
    r"|refrain\w*|block|blocks|blocked|blocking)\b",
    _I,
)
_NEG_VERB = re.compile(r"\b(?:not|never|cannot)\b|n[\u2019']t\b", _I)
_NEG_IDIOM = re.compile(
    r"\bnot\s+(?:limited|only|just|necessarily)\b|\bwhether\s+or\s+not\b|\bif\s+not\b"
    r"|\bno\s+(?:matter|later|less|more\s+than|fewer)\b|\bnot\s+to\s+exceed\b",
    _I,
)
# A short quotation ("mark it as 'do not train'") names a label; its "not" negates nothing.
_QUOTED = re.compile(
    "(?<![\\w])['\u2018\"\u201c][^'\u2019\"\u201d\n]{1,40}['\u2019\"\u201d](?![\\w])"
)
_WORD = re.compile(r"[\w\u2019'-]+")
_NEUTRAL_WORDS = frozenset(
    [
        "be",
        "been",
        "being",
        "is",
        "are",
        "was",
        "were",
        "ever",
        "yet",
        "longer",
        "currently",
        "knowingly",
        "intentionally",
        "directly",
        "otherwise",
        "automatically",
        "actively",
        "routinely",
        "also",
        "from",
        "to",
        "able",
        "going",
        "and",
        "or",
        "will",
        "would",
        "shall",
        "can",
        "could",
        "may",
        "might",
        "do",
        "does",
        "did",
        "have",
        "has",
        "had",
        "not",
        "never",
        "cannot",
        "don't",
        "won't",
        "doesn't",
        "isn't",
        "aren't",
        "wasn't",
        "weren't",
        "ourselves",
        "itself",
        "themselves",
        "it",
        "them",
        "us",
    ]
)
_CARRIER_VERB = re.compile(
    r"(?:use[sd]?|using|(?:re|pre)?-?train\w*|fine-?tun\w*|shar\w+|sell\w*|sold|licen[cs]\w*"
    r"|disclos\w*|provid\w*|giv\w+|gave|transfer\w*|mak\w+|made|allow\w*|permit\w*|creat\w*"
    r"|generat\w*|produc\w*|post\w*|upload\w*|publish\w*|includ\w*|feed\w*|fed|scrap\w*"
    r"|crawl\w*|harvest\w*|collect\w*|access\w*|cop(?:y|ies|ied|ying)|min(?:e|ed|ing)"
    r"|develop\w*|build\w*|built|improv\w*|employ\w*|rel(?:y|ies|ied)|appl(?:y|ies|ied)"
    r"|deploy\w*|leverag\w*|lets?|process\w*|analy[sz]\w*|infer\w*|monetis\w*|monetiz\w*"
    r"|distribut\w*|show\w*|display\w*|replicat\w*|clon\w*|imitat\w*|simulat\w*|synthesi[sz]\w*"
    r"|teach\w*|taught|offer\w*|sav\w+|stor\w+|keep\w*|kept|retain\w*|opt\w*|object\w*)",
    _I,
)
_CONDITIONAL = re.compile(r"\b(?:if|unless|until|whether|when|where|should\s+you)\b", _I)
_WHO_DO = re.compile(r"\bwho\s+(?:do\s+|does\s+|did\s+)?$", _I)  # "users who do not opt out"
_CONTROL_VERB = re.compile(r"opt\w*|object\w*|consent\w*|disabl\w*|turn\w*|switch\w*", _I)
_CLAUSE_BREAK = re.compile(
    r"[;:]|,\s*(?:but|however|whereas|while|although|except|yet)\b"
    r"|\b(?:but|however|whereas|although)\b"
    r"|,\s*(?:and|so)\s+(?=(?:we|you|they|it|our|the|this|these|such)\b)",
    _I,
)
# Negation after the phrase: "scraping ... is prohibited", "your likeness will never be used".
_POST_NEG = re.compile(
    r"[^.;:]{0,60}?\b(?:(?:is|are|be|been|remains?)\s+(?:strictly\s+|expressly\s+)?"
    r"(?:prohibited|forbidden|banned|not\s+(?:permitted|allowed|eligible|accepted|tolerated))"
    r"|(?:will|would|shall|is|are|was|were|may|can)\s*(?:not|never|n[\u2019']t)\s+"
    r"(?:be\s+|ever\s+)*(?:used|shared|sold|licen[cs]ed|disclosed|included|provided|processed"
    r"|fed|made\s+available))\b",
    _I,
)

# --- text helpers --------------------------------------------------------------------------

_LINK_TARGET = re.compile(r"\]\((?:[^()\s]|\([^()\s]*\))*(?:\s+\"[^\"]*\")?\)")
_BARE_URL = re.compile(r"\b(?=[hw])(?:https?://|www\.)[^\s)\]>]+", _I)
_HTML_TAG = re.compile(r"</?[A-Za-z][^<>]{0,200}>")
_AI_NOT = re.compile(r"(?-i:\bAI)(?=\s+(?:files?|format|documents?)\b)|(?<=\.)ai\b")
_ILLUSTRATOR = re.compile(r"\bIllustrator\b")
_AI_ABBR_RE = re.compile(_AI_ABBR)
# Starts with a character class so the engine can scan for it; abbreviations do not end one.
_SENTENCE_END = re.compile(
    r"[.!?\n](?<!\be\.g\.)(?<!\bi\.e\.)(?<!\betc\.)(?<!\bInc\.)(?<!\bLtd\.)(?<!\bvs\.)"
    r"(?<!\bNo\.)(?<!\bU\.S\.)(?<!\bMr\.)(?<!\bMs\.)(?<!\bDr\.)"
    r"(?:(?<=\n)(?=\s*(?:[*+-]|\d+[.)])\s)|(?<!\n)(?=[\s*_\"\u201d\u2019)\]]*(?:\s|$)))",
)


def _blank(match: re.Match[str]) -> str:
    return " " * len(match.group(0))


def _mask(text: str) -> str:
    """Same-length copy without link targets, URLs, HTML tags or non-AI "AI"s."""
    masked = _LINK_TARGET.sub(lambda m: "]" + " " * (len(m.group(0)) - 1), text)
    masked = _BARE_URL.sub(_blank, masked)
    masked = _HTML_TAG.sub(_blank, masked)
    return _AI_NOT.sub(_blank, masked)


_MAX_SENTENCE = 2_000  # characters; a longer "sentence" is a run-on or broken markup


def _sentences(masked: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for m in _SENTENCE_END.finditer(masked):
        spans.extend(_bounded(masked, start, m.end()))
        start = m.end()
    spans.extend(_bounded(masked, start, len(masked)))
    return [(s, e) for s, e in spans if masked[s:e].strip()]


def _bounded(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Cut an overlong span at whitespace: every rule then sees at most _MAX_SENTENCE
    characters, which keeps a megabyte without full stops linear instead of quadratic."""
    spans = []
    while end - start > _MAX_SENTENCE:
        cut = text.rfind(" ", start + _MAX_SENTENCE // 2, start + _MAX_SENTENCE)
        cut = cut + 1 if cut != -1 else start + _MAX_SENTENCE
        spans.append((start, cut))
        start = cut
    spans.append((start, end))
    return spans


_FOLD_SPELLING = re.compile(r"(?<=\w)([iy])s(e|ed|es|ing|ation|ations)\b")
_NON_WORD = re.compile(r"[^\w]+")
_PRODUCT_RE = re.compile(_PRODUCTS, _I)


def _canon(phrase: str) -> str:
    """Comparison key of a phrase: case, punctuation, -ise/-ize and product names folded."""
    text = _PRODUCT_RE.sub(" aiproduct ", phrase.replace("\u2019", "'"))
    text = _FOLD_SPELLING.sub(r"\1z\2", text.lower())
    return _NON_WORD.sub(" ", text).strip()


def _norm(paragraph: str) -> str:
    """Comparison key of a whole paragraph: what a reader sees, without markup or URLs."""
    return _canon(_mask(paragraph))


# --- paragraphs ----------------------------------------------------------------------------

_BLANK_LINES = re.compile(r"\n[ \t\u00a0\u3000]*(?:\n[ \t\u00a0\u3000]*)+")
_LIST_ITEM = re.compile(r"[ \t]*(?:[*+-]|\d{1,9}[.)])[ \t]+\S")
_HEADING = re.compile(r" {0,3}#{1,6}[ \t]")
_TABLE_ROW = re.compile(r"[ \t]*\|")
_TABLE_RULE = re.compile(r"[ \t|:\-]*$")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")
_BR = re.compile(r"<br\s*/?>", _I)
_NO_WORDS = re.compile(r"[\W_]*$")


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs of a normalized Markdown text, in order (see the module docstring)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    out: list[str] = []
    for block in _BLANK_LINES.split(text):
        if "\n" in block or "|" in block:
            _split_block(block.split("\n"), out)
        else:  # most blocks are one plain line: skip the line machinery
            stripped = block.strip()
            if stripped and not _NO_WORDS.match(stripped):
                out.append(stripped)
    return out


def _split_block(lines: Iterable[str], out: list[str]) -> None:
    current: list[str] = []

    def flush() -> None:
        joined = "\n".join(current).strip()
        if joined and not _NO_WORDS.match(joined):
            out.append(joined)
        current.clear()

    for line in lines:
        if _TABLE_ROW.match(line):
            flush()
            if not _TABLE_RULE.match(line):
                _split_table_row(line, out)
        elif _HEADING.match(line):
            flush()
            current.append(line)
            flush()
        elif not line.strip():
            flush()
        else:
            if _LIST_ITEM.match(line):
                flush()
            current.append(line)
    flush()


def _split_table_row(row: str, out: list[str]) -> None:
    for cell in _CELL_SPLIT.split(row.strip().strip("|")):
        _split_block(_BR.split(cell), out)


# --- analysis ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Hit:
    category: str
    start: int
    end: int
    weight: float
    negated: bool
    key: str  # canonical phrase


def analyze_paragraph(paragraph: str, index: int = 0) -> list[Finding]:
    """AI findings of one paragraph (the text is analysed as given, not split further)."""
    return [finding for finding, _ in _analyze(paragraph, index)]


def analyze_text(text: str) -> list[Finding]:
    """AI findings of every paragraph of a version, in document order."""
    paragraphs = split_paragraphs(text)
    findings: list[Finding] = []
    for i in _candidates(paragraphs):
        findings.extend(f for f, _ in _analyze(paragraphs[i], i, prefiltered=True))
    return findings


def _candidates(pieces: Sequence[str]) -> list[int]:
    """Indexes of the pieces (paragraphs, sentences) that contain some needle.

    Scanning the whole text once per needle costs more than the rest of the analysis, so the
    needles are first looked up in the text's vocabulary (distinct words, sorted; lower-case
    needles are word prefixes, found by bisection, upper-case ones substrings), and only the
    needles present are located, with one str.find sweep over all pieces at once."""
    if len(pieces) < 64:  # a few pieces: checking each directly is cheaper
        return [i for i, p in enumerate(pieces) if _ALL_NEEDLES.any_in(p, p.lower())]
    joined = "\n".join(pieces)
    present = _present_needles(joined)
    if not present:
        return []
    lowered = joined.lower() if any(not exact for _, exact in present) else ""
    starts = list(accumulate((len(p) + 1 for p in pieces[:-1]), initial=0))
    hit: set[int] = set()
    for needle, exact in present:
        haystack = joined if exact else lowered
        pos = haystack.find(needle)
        while pos != -1:
            i = bisect_right(starts, pos) - 1
            hit.add(i)
            # one hit per piece is enough: jump to the next one
            pos = haystack.find(needle, starts[i + 1]) if i + 1 < len(starts) else -1
    return sorted(hit)


_PUNCTUATION = "*_[](){}<>\"'\u201c\u201d\u2018\u2019.,;:!?|#`~"


def _present_needles(text: str) -> list[tuple[str, bool]]:
    words = {w.strip(_PUNCTUATION) for w in set(text.split())}
    exact_vocabulary = "\n".join(words)
    folded = sorted({w.lower() for w in words})
    present = []
    for needle, exact in _ALL_NEEDLES.probes:
        if exact:
            found = all(part in exact_vocabulary for part in needle.split())
        else:
            found = all(_has_prefix(folded, part) for part in needle.split())
        if found:
            present.append((needle, exact))
    return present


def _has_prefix(sorted_words: list[str], prefix: str) -> bool:
    i = bisect_left(sorted_words, prefix)
    return i < len(sorted_words) and sorted_words[i].startswith(prefix)


def _analyze(
    paragraph: str, index: int, *, prefiltered: bool = False
) -> list[tuple[Finding, Counter[tuple[str, bool, str]]]]:
    """Findings of a paragraph, each with its signature elements (see analyze_change)."""
    if not prefiltered and not _ALL_NEEDLES.any_in(paragraph, paragraph.lower()):
        return []
    masked = _mask(paragraph)
    lowered = masked.lower()
    third_party = any(n in lowered for n in _THIRD_PARTY_NEEDLES) and bool(
        _THIRD_PARTY_RE.search(masked)
    )
    spans = _sentences(masked)
    hits: list[_Hit] = []
    data_by_sentence: list[tuple[tuple[int, int], list[str]]] = []
    for i in _candidates([masked[s:e] for s, e in spans]):
        start, end = spans[i]
        sentence = masked[start:end]
        if _ILLUSTRATOR.search(sentence):
            sentence = _AI_ABBR_RE.sub(_blank, sentence)
        found = _sentence_hits(sentence, start, paragraph, third_party)
        if found:
            hits.extend(found)
            data = [_canon(m.group(0)) for m in _DATA.finditer(sentence)]
            data_by_sentence.append(((start, end), data))
    if not hits:
        return []
    mentions_data = _DATA.search(masked) is not None
    return _findings(paragraph, index, hits, data_by_sentence, mentions_data)


def _sentence_hits(sentence: str, offset: int, paragraph: str, third_party: bool) -> list[_Hit]:
    raw: list[tuple[str, int, int, float]] = []
    present = _EVERY_NEEDLE.found_in(sentence, sentence.lower())
    for rule in _RULES:
        if present.isdisjoint(rule.needles.all) or not rule.pattern.search(sentence):
            continue
        if not all(c.search(sentence) for c in rule.context):
            continue
        if rule.veto is not None and rule.veto.search(sentence):
            continue
        raw.extend(
            (rule.category, m.start(), m.end(), rule.weight)
            for m in rule.pattern.finditer(sentence)
        )
    if not raw:
        return []
    raw = _resolve(raw, sentence, third_party)
    raw.extend(
        ("consent", m.start(), m.end(), _CONSENT_WEIGHT)
        for m in _CONSENT.finditer(sentence)
        if not _OUR.search(sentence, max(0, m.start() - 30), m.start())
    )
    clauses = _clause_starts(sentence)
    hits = []
    for category, s, e, weight in raw:
        negated = _is_negated(sentence, s, e, clauses, control=category == "consent")
        text = paragraph[offset + s : offset + e]
        hits.append(_Hit(category, offset + s, offset + e, weight, negated, _canon(text)))
    return hits


_THIRD_PARTY_NEEDLES = (
    "third",
    "partner",
    "collaborator",
    "compan",
    "researcher",
    "licensee",
    "broker",
    "recipient",
    "buyer",
)
_PRIORITY = ("training", "third_party_ai", "likeness", "ai_generated_content", "scraping")
_THEIR = re.compile(r"\btheir\b", _I)
_WE = re.compile(r"\b(?:we|us)\b", _I)
_OUR_WORD = re.compile(r"\bour\b", _I)
_THIRD_PARTY_RE = re.compile(_THIRD_PARTY, _I)


def _resolve(
    raw: list[tuple[str, int, int, float]], sentence: str, third_party: bool
) -> list[tuple[str, int, int, float]]:
    """Keep one owner per span: longest match wins within a category; a training phrase
    owns the AI words inside it; training done by third parties is third_party_ai."""
    cue = _THIRD_PARTY_RE.search(sentence)
    out: list[tuple[str, int, int, float]] = []
    for category, s, e, w in raw:
        if category == "training" and third_party and _done_by_third_party(sentence, s, e, cue):
            category = "third_party_ai"
        out.append((category, s, e, w))
    strong = [(s, e) for c, s, e, _ in out if c in _PRIORITY]
    kept: list[tuple[str, int, int, float]] = []
    for item in sorted(out, key=lambda h: (h[1], -(h[2] - h[1]))):
        category, s, e, _ = item
        if category not in _PRIORITY and any(a <= s < b for a, b in strong):
            continue  # e.g. "LLMs" in "train our LLMs" belongs to training, not to a feature
        if any(k[0] == category and k[1] <= s and e <= k[2] for k in kept):
            continue
        kept.append(item)
    return kept


def _done_by_third_party(sentence: str, start: int, end: int, cue: re.Match[str] | None) -> bool:
    """ "to train their models", "train third-party generators", or training named after
    the third party with no "we"/"us" in between and no "our" in the phrase."""
    if _THEIR.search(sentence, start, end) or _THIRD_PARTY_RE.search(sentence, start, end):
        return True
    return bool(
        cue
        and cue.end() <= start
        and not _WE.search(sentence, cue.end(), start)
        and not _OUR_WORD.search(sentence, start, end)
    )


def _clause_starts(sentence: str) -> list[int]:
    return [0] + [m.end() for m in _CLAUSE_BREAK.finditer(sentence)]


def _is_negated(sentence: str, start: int, end: int, clauses: list[int], *, control: bool) -> bool:
    """Is the phrase at sentence[start:end] negated or prohibited? (rules above _NEG_CLAUSE)"""
    clause_start = clauses[bisect_right(clauses, start) - 1]
    before = _QUOTED.sub(_blank, _NEG_IDIOM.sub(_blank, sentence[clause_start:start]))
    for cue in (*_NEG_CLAUSE.finditer(before), *_NEG_VERB.finditer(before)):
        lead = before[: cue.start()]
        lead = lead[lead.rfind(",") + 1 :]
        if _CONDITIONAL.search(lead) or _WHO_DO.search(lead):
            continue  # "if you do not opt out, ..." is a condition, not a promise
        if control and _CONDITIONAL.search(before, cue.end()):
            continue  # "we will not ... unless you opt in": the opt-in is offered
        if cue.re is _NEG_VERB and not _governs(sentence, clause_start + cue.end(), start, control):
            continue
        return True
    return bool(_POST_NEG.match(sentence, end))


def _governs(sentence: str, cue_end: int, phrase_start: int, control: bool) -> bool:
    """Does a "not" ending at cue_end bear on the phrase starting at phrase_start?"""
    for word in _WORD.finditer(sentence, cue_end, phrase_start + 1):
        if word.start() >= phrase_start:
            return True  # "we do not train AI models on ...": the phrase itself is negated
        text = word.group().lower()
        if text in _NEUTRAL_WORDS:
            continue
        if not control and _CONTROL_VERB.fullmatch(text):
            return False  # "users who do not opt out" still have their data used
        return bool(_CARRIER_VERB.fullmatch(text))
    return True


def _findings(
    paragraph: str,
    index: int,
    hits: list[_Hit],
    data_by_sentence: list[tuple[tuple[int, int], list[str]]],
    mentions_data: bool,
) -> list[tuple[Finding, Counter[tuple[str, bool, str]]]]:
    by_category: dict[str, list[_Hit]] = {}
    for hit in sorted(hits, key=lambda h: (h.start, h.end)):
        by_category.setdefault(hit.category, []).append(hit)
    out = []
    for category in CATEGORIES:  # fixed order: deterministic output
        group = by_category.get(category)
        if not group:
            continue
        negated = all(h.negated for h in group)
        phrases = tuple(dict.fromkeys(paragraph[h.start : h.end] for h in group))
        best = max(h.weight for h in group)
        score = best + (0.1 if mentions_data else 0.0) + 0.05 * min(2, len(phrases) - 1)
        signature: Counter[tuple[str, bool, str]] = Counter(
            (category, h.negated, h.key) for h in group
        )
        for (s, e), data in data_by_sentence:
            if any(s <= h.start < e for h in group):
                signature.update((category, negated, "data:" + d) for d in data)
        finding = Finding(
            category=category,
            score=round(min(1.0, score), 2),
            phrases=phrases,
            negated=negated,
            paragraph_index=index,
            text=paragraph,
        )
        out.append((finding, signature))
    return out


# --- changes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Unit:
    norm: str
    phrases: tuple[str, ...]
    signature: Counter[tuple[str, bool, str]]


def analyze_change(
    changed_pairs: Sequence[tuple[str | None, str | None]],
    *,
    old_text: str | None = None,
    new_text: str | None = None,
) -> ChangeAnalysis:
    """Does this change touch AI clauses? (rule in the module docstring)

    changed_pairs: (old block, new block) per changed block, as from
    `compute_diff(old, new).changed_pairs()`. old_text/new_text (the two whole versions) are
    optional but let copies of unchanged clauses (duplicated or collapsed sections) be
    recognised as such.
    """
    added: list[Finding] = []
    removed: list[Finding] = []
    old_units: list[_Unit] = []
    new_units: list[_Unit] = []
    for i, (old, new) in enumerate(changed_pairs):
        _collect(old, i, removed, old_units)
        _collect(new, i, added, new_units)
    in_new = _copies(old_units, new_text, new_units)
    in_old = _copies(new_units, old_text, old_units)
    before: Counter[tuple[str, bool, str]] = Counter()
    after: Counter[tuple[str, bool, str]] = Counter()
    for unit in old_units:
        if unit.norm not in in_new:
            before.update(unit.signature)
    for unit in new_units:
        if unit.norm not in in_old:
            after.update(unit.signature)
    differing = (before - after) + (after - before)
    categories = tuple(sorted({element[0] for element in differing}))
    return ChangeAnalysis(
        ai_relevant=bool(categories), categories=categories, added=added, removed=removed
    )


def _collect(block: str | None, index: int, findings: list[Finding], units: list[_Unit]) -> None:
    if not block:
        return
    for paragraph in split_paragraphs(block):
        analysed = _analyze(paragraph, index)
        if not analysed:
            continue
        signature: Counter[tuple[str, bool, str]] = Counter()
        phrases: list[str] = []
        for finding, elements in analysed:
            findings.append(finding)
            signature.update(elements)
            phrases.extend(finding.phrases)
        units.append(_Unit(_norm(paragraph), tuple(phrases), signature))


def _copies(units: list[_Unit], other_text: str | None, other_units: list[_Unit]) -> set[str]:
    """Normalized paragraphs of the other version that could be copies of these units.

    Without the other version's text, only the other side's changed paragraphs are known.
    With it, only its paragraphs that contain one of the units' phrases are normalized:
    a copy contains them too (modulo case), and most changes have no AI paragraph at all.
    """
    if not units:
        return set()
    if other_text is None:
        return {u.norm for u in other_units}
    keys = {phrase.lower() for unit in units for phrase in unit.phrases}
    return {_norm(p) for p in split_paragraphs(other_text) if any(key in p.lower() for key in keys)}
