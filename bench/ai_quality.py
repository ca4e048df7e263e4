"""Quality and speed of snapshots/ai_clauses.py.

    .venv/bin/python bench/ai_quality.py

Prints precision/recall/F1 per category on the written passages (tests/data/ai_passages.toml),
precision/recall of "AI-relevant change" over the real changes of the shared corpus
(labels: tests/data/corpus_ai_labels.toml; pairs from snapshots.diffing, whole texts passed
as in production), the list of misses, and the speed. The test suite imports the loaders
and scorers from here, so the figures printed are the ones the thresholds are checked on.
"""

from __future__ import annotations

import itertools
import sys
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script: make `snapshots` and `tests` importable
    sys.path.insert(0, str(REPO))

from snapshots import ai_clauses  # noqa: E402
from snapshots.diffing import compute_diff  # noqa: E402
from tests.corpus import OTA_DIR, documents  # noqa: E402

DATA = REPO / "tests" / "data"


# --- written passages ----------------------------------------------------------------------


@dataclass(frozen=True)
class Passage:
    text: str
    categories: frozenset[str]
    negated: frozenset[str]


def load_passages() -> list[Passage]:
    data = tomllib.loads((DATA / "ai_passages.toml").read_text(encoding="utf-8"))
    return [
        Passage(p["text"], frozenset(p["categories"]), frozenset(p.get("negated", ())))
        for p in data["passage"]
    ]


@dataclass(frozen=True)
class Score:
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def predicted(passage: Passage) -> dict[str, bool]:
    """category -> negated, for one passage analysed as one paragraph."""
    return {f.category: f.negated for f in ai_clauses.analyze_paragraph(passage.text)}


def passage_scores(passages: list[Passage]) -> dict[str, Score]:
    scores = {}
    results = [(p, predicted(p)) for p in passages]
    for category in ai_clauses.CATEGORIES:
        tp = sum(1 for p, got in results if category in p.categories and category in got)
        fp = sum(1 for p, got in results if category not in p.categories and category in got)
        fn = sum(1 for p, got in results if category in p.categories and category not in got)
        scores[category] = Score(tp, fp, fn)
    return scores


def passage_misses(passages: list[Passage]) -> list[str]:
    out = []
    for p in passages:
        got = predicted(p)
        wrong_negation = {c for c in p.categories & got.keys() if got[c] != (c in p.negated)}
        if set(got) != p.categories or wrong_negation:
            out.append(
                f"expected {sorted(p.categories)} negated {sorted(p.negated)}; "
                f"got {sorted(got)} negated {sorted(c for c, n in got.items() if n)}: {p.text}"
            )
    return out


# --- corpus changes ------------------------------------------------------------------------


@dataclass(frozen=True)
class CorpusChange:
    old: str  # path relative to ota/
    new: str
    old_text: str
    new_text: str


@dataclass(frozen=True)
class Label:
    ai_relevant: bool
    categories: frozenset[str]
    reason: str


def corpus_changes() -> Iterator[CorpusChange]:
    """Every consecutive pair of recorded versions whose texts differ, document by document."""
    for versions in documents().values():
        for before, after in itertools.pairwise(versions):
            old_text, new_text = before.text(), after.text()
            if old_text != new_text:
                yield CorpusChange(
                    str(before.path.relative_to(OTA_DIR)),
                    str(after.path.relative_to(OTA_DIR)),
                    old_text,
                    new_text,
                )


def load_labels() -> dict[tuple[str, str], Label]:
    data = tomllib.loads((DATA / "corpus_ai_labels.toml").read_text(encoding="utf-8"))
    return {
        (c["old"], c["new"]): Label(c["ai_relevant"], frozenset(c["categories"]), c["reason"])
        for c in data["change"]
    }


@cache
def changed_pairs(change: CorpusChange) -> tuple[tuple[str | None, str | None], ...]:
    """The diff engine's changed blocks, computed once per change (the diff is the slow part)."""
    return tuple(compute_diff(change.old_text, change.new_text).changed_pairs())


def analyze(change: CorpusChange, *, with_texts: bool = True) -> ai_clauses.ChangeAnalysis:
    pairs = changed_pairs(change)
    if not with_texts:
        return ai_clauses.analyze_change(pairs)
    return ai_clauses.analyze_change(pairs, old_text=change.old_text, new_text=change.new_text)


@dataclass(frozen=True)
class CorpusResult:
    score: Score
    category_agreement: int  # relevant changes whose categories equal the labelled ones
    misses: list[str]


def corpus_result(*, with_texts: bool = True) -> CorpusResult:
    labels = load_labels()
    tp = fp = fn = agree = 0
    misses = []
    for change in corpus_changes():
        label = labels[(change.old, change.new)]
        got = analyze(change, with_texts=with_texts)
        if got.ai_relevant and label.ai_relevant:
            tp += 1
            agree += frozenset(got.categories) == label.categories
        elif got.ai_relevant:
            fp += 1
        elif label.ai_relevant:
            fn += 1
        if got.ai_relevant != label.ai_relevant or (
            label.ai_relevant and frozenset(got.categories) != label.categories
        ):
            misses.append(
                f"{change.old} -> {Path(change.new).name}: labelled {label.ai_relevant} "
                f"{sorted(label.categories)}, got {got.ai_relevant} {list(got.categories)} "
                f"({label.reason})"
            )
    return CorpusResult(Score(tp, fp, fn), agree, misses)


# --- speed ---------------------------------------------------------------------------------


def fifty_thousand_words() -> str:
    """A 50,000-word document of distinct real paragraphs (newest versions first)."""
    seen: set[str] = set()
    paragraphs: list[str] = []
    words = 0
    for versions in documents().values():
        for version in reversed(versions):
            for paragraph in ai_clauses.split_paragraphs(version.text()):
                if paragraph in seen:
                    continue
                seen.add(paragraph)
                paragraphs.append(paragraph)
                words += len(paragraph.split())
                if words >= 50_000:
                    return "\n\n".join(paragraphs)
    return "\n\n".join(paragraphs)


def best_ms(fn: Callable[[], object], repeat: int = 9) -> tuple[float, float]:
    """(best wall time, best CPU time) in milliseconds. CPU time is the figure to compare on a
    busy shared machine, where wall time also counts the wait for a core."""
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return min(wall), min(cpu)


# --- report --------------------------------------------------------------------------------


def main() -> None:
    passages = load_passages()
    print(f"Written passages: {len(passages)}")
    print(f"  {'category':22} {'P':>5} {'R':>5} {'F1':>5}   tp fp fn")
    for category, s in passage_scores(passages).items():
        print(
            f"  {category:22} {s.precision:5.2f} {s.recall:5.2f} {s.f1:5.2f}"
            f"   {s.tp:2} {s.fp:2} {s.fn:2}"
        )
    for miss in passage_misses(passages):
        print("  miss:", miss)

    result = corpus_result()
    s = result.score
    total = len(load_labels())
    print(f"\nCorpus changes: {total} ({s.tp + s.fn} labelled AI-relevant)")
    print(
        f"  AI-relevant change: precision {s.precision:.2f}  recall {s.recall:.2f}"
        f"  (tp {s.tp}, fp {s.fp}, fn {s.fn}); categories exact on "
        f"{result.category_agreement}/{s.tp} true positives"
    )
    for miss in result.misses:
        print("  miss:", miss)
    s = corpus_result(with_texts=False).score
    print(
        f"  same, changed pairs only (no whole texts): precision {s.precision:.2f}  recall "
        f"{s.recall:.2f} (tp {s.tp}, fp {s.fp}, fn {s.fn}): duplicated sections look new"
    )

    document = fifty_thousand_words()
    wall, cpu = best_ms(lambda: ai_clauses.analyze_text(document))
    print(
        f"\nSpeed: {len(document.split())}-word document (distinct corpus paragraphs): "
        f"{wall:.1f} ms wall, {cpu:.1f} ms CPU (best of 9)"
    )
    changes = list(corpus_changes())
    pairs = [changed_pairs(c) for c in changes]
    n = len(changes)

    def all_changes() -> None:
        for change, changed in zip(changes, pairs, strict=True):
            ai_clauses.analyze_change(changed, old_text=change.old_text, new_text=change.new_text)

    wall, cpu = best_ms(all_changes, repeat=3)
    print(
        f"  analyze_change with both texts: {wall / n:.2f} ms wall, {cpu / n:.2f} ms CPU per "
        f"change (mean over the {n} corpus changes; diffing not included)"
    )
    wall, cpu = best_ms(lambda: [ai_clauses.analyze_change(p) for p in pairs], repeat=3)
    print(f"  analyze_change pairs only: {wall / n:.2f} ms wall, {cpu / n:.2f} ms CPU per change")


if __name__ == "__main__":
    main()
