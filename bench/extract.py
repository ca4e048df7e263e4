"""Extraction speed on realistic pages: every corpus version wrapped in noisy HTML.

Run from the repo root: `.venv/bin/python bench/extract.py [--rounds N]`.
Prints CPU ms per page (best of rounds) overall and per 100 KB of page, plus a stage
breakdown. Page building is not timed; only `extract()` is.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import html_to_markdown as h2m
from selectolax.lexbor import LexborHTMLParser

from snapshots.extract import ExtractRules, _conversion_options, extract, html_to_text
from tests.corpus import versions
from tests.pages import wrap_in_noisy_html

BASE_URL = "https://example.com/legal/privacy"


def _time_per_page(pages: list[str], fn: Callable[[str], object], rounds: int) -> float:
    """Best round's mean CPU seconds per page.

    CPU time of this process, and the best round, because the bench machine is shared:
    wall time and medians measure the neighbours as much as the code.
    """
    samples = []
    for _ in range(rounds):
        gc.collect()
        start = time.process_time()
        for page in pages:
            fn(page)
        samples.append((time.process_time() - start) / len(pages))
    return min(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    pages = [wrap_in_noisy_html(v.text(), seed=n) for n, v in enumerate(versions())]
    sizes = [len(p.encode()) for p in pages]
    mean_kb = statistics.mean(sizes) / 1000
    rules = ExtractRules()
    selected = ExtractRules(select=("article",), remove=(".copy-link",))

    def full(page: str) -> object:
        return extract(
            page, content_type="text/html; charset=utf-8", rules=rules, base_url=BASE_URL
        )

    def with_select(page: str) -> object:
        return extract(page, content_type="text/html", rules=selected, base_url=BASE_URL)

    def as_bytes(page: str) -> object:
        return extract(page.encode(), content_type="text/html", rules=rules, base_url=BASE_URL)

    fragments = [LexborHTMLParser(p).css_first("main").html or "" for p in pages]
    options = _conversion_options()

    full(pages[0])  # warm caches (option objects, compiled patterns)
    total = _time_per_page(pages, full, args.rounds)
    print(
        f"pages: {len(pages)} corpus versions, mean {mean_kb:.0f} KB (min {min(sizes) // 1000}, "
        f"max {max(sizes) // 1000} KB); CPU time, best of {args.rounds} rounds"
    )
    print(
        f"extract (str, no rules):       {total * 1000:6.2f} ms/page  "
        f"{total * 1000 * 100 / mean_kb:6.2f} ms/100 KB  {1 / total:5.0f} pages/s/core"
    )
    t = _time_per_page(pages, as_bytes, args.rounds)
    print(f"extract (bytes, no rules):     {t * 1000:6.2f} ms/page")
    t = _time_per_page(pages, with_select, args.rounds)
    print(f"extract (select + remove):     {t * 1000:6.2f} ms/page")
    print("stages:")
    t = _time_per_page(pages, LexborHTMLParser, args.rounds)
    print(f"  selectolax parse:            {t * 1000:6.2f} ms/page")
    t = _time_per_page(
        pages, lambda p: html_to_text(p, rules=rules, base_url=BASE_URL), args.rounds
    )
    print(f"  html_to_text (no normalize): {t * 1000:6.2f} ms/page")
    t = _time_per_page(fragments, lambda f: h2m.convert(f, options), args.rounds)
    print(f"  html-to-markdown on <main>:  {t * 1000:6.2f} ms/page")


if __name__ == "__main__":
    main()
