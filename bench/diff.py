"""Benchmark the diff engine (snapshots/diffing.py) and print its figures.

    .venv/bin/python bench/diff.py [--repeat N]

1. Every consecutive pair of the real corpus (../shared/corpus, read in place): median,
   p95 and worst milliseconds per pair, and the ratio of our median to the median of
   `git diff --no-index --word-diff` on the same pairs (written to temp files).
2. Synthetic 50,000-word documents built from the corpus's own paragraphs, with 1 %, 10 %
   and 50 % of the paragraphs rewritten (every 4th word replaced) and one section moved.

Each timing is the best of --repeat runs, to keep scheduler noise out. Every diff is also
checked for exactness (both texts rebuilt from it) and for the `bounded` flag.
Goals: median <= 20 ms per real pair, worst <= 500 ms, synthetic cases well under 500 ms.
"""

from __future__ import annotations

import argparse
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from snapshots.diffing import Diff, block_kind, body, compute_diff, split_blocks  # noqa: E402
from tests.corpus import documents  # noqa: E402

FULL = 10**9


def best_ms(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best * 1000


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


def reassemble(diff: Diff) -> tuple[str, str]:
    old, new = [], []
    for hunk in diff.hunks:
        for b in hunk.blocks:
            if b.op in ("equal", "delete", "replace", "move_from"):
                old.append(b.old_text or "")
            if b.op in ("equal", "insert", "replace", "move_to"):
                new.append(b.new_text or "")
    return "".join(old), "".join(new)


def check_exact(old: str, new: str) -> bool:
    diff = compute_diff(old, new, context=FULL)
    if diff.is_empty:
        return [body(b) for b in split_blocks(old)] == [body(b) for b in split_blocks(new)]
    return reassemble(diff) == (old, new)


def git_ms(old: str, new: str, tmp: Path, repeat: int) -> float:
    a, b = tmp / "old.md", tmp / "new.md"
    a.write_text(old, encoding="utf-8")
    b.write_text(new, encoding="utf-8")
    cmd = ["git", "diff", "--no-index", "--no-color", "--word-diff=plain", str(a), str(b)]
    return best_ms(lambda: subprocess.run(cmd, capture_output=True, check=False), repeat)


def real_pairs(repeat: int) -> None:
    pairs = []
    for (service, kind), versions in documents().items():
        texts = [v.text() for v in versions]
        for k, (old, new) in enumerate(pairwise(texts)):
            pairs.append((f"{service} {kind} #{k + 1}", old, new))
    ours: list[tuple[float, str]] = []
    bounded = inexact = 0
    for label, old, new in pairs:
        ours.append((best_ms(lambda o=old, n=new: compute_diff(o, n), repeat), label))
        bounded += compute_diff(old, new).bounded
        inexact += not check_exact(old, new)
    times = [t for t, _ in ours]
    worst, worst_label = max(ours)
    print(f"Real corpus: {len(pairs)} consecutive pairs (3 documents)")
    print(
        f"  compute_diff ms/pair: median {statistics.median(times):.1f}  "
        f"p95 {percentile(times, 0.95):.1f}  worst {worst:.1f} ({worst_label})"
    )
    print(f"  exact: {len(pairs) - inexact}/{len(pairs)}   bounded: {bounded}")
    if shutil.which("git") is None:
        print("  git not found: no comparison")
        return
    with tempfile.TemporaryDirectory() as tmp:
        git = [git_ms(old, new, Path(tmp), repeat) for _, old, new in pairs]
    ratio = statistics.median(times) / statistics.median(git)
    print(
        f"  git diff --no-index --word-diff ms/pair: median {statistics.median(git):.1f}  "
        f"p95 {percentile(git, 0.95):.1f}  worst {max(git):.1f}"
    )
    print(f"  ratio of medians (ours / git): {ratio:.2f}")


def corpus_paragraphs() -> list[str]:
    """Distinct paragraphs of 15+ words from every corpus version, in a fixed order."""
    seen: dict[str, None] = {}
    for versions in documents().values():
        for version in versions:
            for block in split_blocks(version.text()):
                text = body(block)
                if block_kind(text) == "paragraph" and len(text.split()) >= 15:
                    seen.setdefault(text, None)
    return sorted(seen)


def synthetic_document(paragraphs: list[str], n_words: int) -> list[list[str]]:
    """Sections (heading + 8 paragraphs) totalling n_words, drawn in a seeded order."""
    rng = random.Random(50_000)
    pool = list(paragraphs)
    rng.shuffle(pool)
    sections: list[list[str]] = []
    total = 0
    k = 0
    while total < n_words:
        section = [f"## Section {len(sections) + 1}"]
        for _ in range(8):
            paragraph = pool[k % len(pool)]
            if k >= len(pool):  # pool exhausted: vary the repeat so it stays distinct
                paragraph = f"{paragraph} (Copy {k // len(pool)}.)"
            section.append(paragraph)
            total += len(paragraph.split())
            k += 1
        sections.append(section)
    return sections


def rewrite(paragraph: str, rng: random.Random, vocabulary: list[str]) -> str:
    words = paragraph.split(" ")
    for k in range(1, len(words), 4):
        words[k] = rng.choice(vocabulary)
    return " ".join(words)


def synthetic(repeat: int) -> None:
    paragraphs = corpus_paragraphs()
    sections = synthetic_document(paragraphs, 50_000)
    old = "\n\n".join(b for s in sections for b in s) + "\n"
    n_words = len(old.split())
    vocabulary = sorted({w for p in paragraphs[:200] for w in p.split() if w.isalpha()})
    n_paragraphs = sum(len(s) - 1 for s in sections)
    print(
        f"\nSynthetic: {n_words} words, {len(sections)} sections, {n_paragraphs} paragraphs "
        f"(from {len(paragraphs)} distinct corpus paragraphs); one section moved"
    )
    for rate in (0.01, 0.10, 0.50):
        rng = random.Random(int(rate * 1000))
        positions = [(s, p) for s in range(len(sections)) for p in range(1, len(sections[s]))]
        chosen = set(rng.sample(positions, round(rate * len(positions))))
        edited = [
            [rewrite(b, rng, vocabulary) if (s, p) in chosen else b for p, b in enumerate(sec)]
            for s, sec in enumerate(sections)
        ]
        moved = edited.pop(len(edited) // 4)  # a whole section, to three quarters down
        edited.insert(3 * len(edited) // 4, moved)
        new = "\n\n".join(b for s in edited for b in s) + "\n"
        ms = best_ms(lambda n=new: compute_diff(old, n), repeat)
        diff = compute_diff(old, new)
        st = diff.stats
        print(
            f"  {rate:4.0%} rewritten ({len(chosen)} paragraphs): {ms:6.1f} ms  "
            f"modified {st.blocks_modified}, moved {st.blocks_moved}, added {st.blocks_added}, "
            f"removed {st.blocks_removed}, +{st.words_added}/-{st.words_removed} words, "
            f"{len(diff.hunks)} hunks; exact {check_exact(old, new)}, bounded {diff.bounded}"
        )
    few = sections[:]
    few[10] = [*few[10][:3], few[10][3].replace(" ", " not ", 1), *few[10][4:]]
    new = "\n\n".join(b for s in few for b in s) + "\n"
    ms = best_ms(lambda: compute_diff(old, new), repeat)
    print(f"  one word inserted: {ms:6.1f} ms, stats {compute_diff(old, new).stats}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing (best is kept)")
    args = parser.parse_args()
    print(f"Python {platform.python_version()} on {platform.machine()}, repeat {args.repeat}\n")
    real_pairs(args.repeat)
    synthetic(args.repeat)


if __name__ == "__main__":
    main()
