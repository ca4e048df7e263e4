"""The benchmark scripts import, and the pipeline bench labels each round by what it measures.

bench/load.py once imported a helper that bench/pipeline.py had renamed, and nothing noticed
until the script was run by hand: the benchmarks are only run on a quiet machine, never in CI.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "bench"
SCRIPTS = sorted(
    path.stem
    for path in BENCH.glob("*.py")
    # Django settings and a URLconf for bench/timeline.py's own server, not scripts.
    if path.stem not in {"timeline_settings", "timeline_urls"}
)


def test_every_script_is_listed() -> None:
    assert {"pipeline", "pageserver", "load", "extract"} <= set(SCRIPTS)


# In another process: some scripts set their own environment (database, Redis) on import.
_IMPORT_ALL = """
import importlib, json, sys, traceback
failed = {}
for name in sys.argv[1:]:
    try:
        module = importlib.import_module("bench." + name)
        if not callable(getattr(module, "main", None)):
            failed[name] = "no main()"
    except Exception:
        failed[name] = traceback.format_exc(limit=3)
print(json.dumps(failed))
"""


def test_every_script_imports_and_has_a_main() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _IMPORT_ALL, *SCRIPTS],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    failed = json.loads(done.stdout.strip().splitlines()[-1])
    assert failed == {}


@pytest.mark.parametrize(
    ("spec", "labels"),
    [
        (
            "0,1,0,1,2,3,4,4",
            ["first check", *["unchanged, dynamic"] * 3, "changed", "static, first pass"]
            + ["unchanged, static"] * 2,
        ),
        # The same round twice serves the same bytes twice: a static round, whatever its number.
        ("0,1,1", ["first check", "unchanged, dynamic", "unchanged, static"]),
        ("0,0", ["first check", "unchanged, static"]),
        # Back to round 0 or 1 after round 2 takes the clause out again: an earlier text.
        ("0,2,0,1", ["first check", "changed", "changed back", "unchanged, dynamic"]),
        ("3,0", ["first check", "changed"]),
        # Static pages first: round 3 is then a first check; round 3 after round 1 a change.
        ("3,4,4", ["first check", "unchanged, static", "unchanged, static"]),
        ("0,1,3,4", ["first check", "unchanged, dynamic", "changed", "unchanged, static"]),
        # New noisy bytes of the static text: another unchanged dynamic round.
        ("3,2", ["first check", "unchanged, dynamic"]),
    ],
)
def test_each_round_is_labelled_by_what_changed_since_the_one_before(
    spec: str, labels: list[str]
) -> None:
    from bench.pipeline import checked_rounds, round_label

    rounds = checked_rounds(spec)
    got = [round_label(rounds[:i], r) for i, r in enumerate(rounds)]
    assert got == labels


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("0,5", "outside 0-4"),
        ("0,-1", "outside 0-4"),
        ("0,one", "not a comma-separated list"),
        ("", "not a comma-separated list"),
    ],
)
def test_a_bad_round_list_is_refused(spec: str, message: str) -> None:
    from bench.pipeline import checked_rounds

    with pytest.raises(SystemExit, match=message):
        checked_rounds(spec)


def test_page_server_serves_what_its_rounds_say() -> None:
    """round_content (which labels the bench's rounds) against the bytes actually served."""
    from bench.pageserver import VARIANTS, Server, build_pages, round_content
    from snapshots.extract import ExtractRules, extract

    pages = build_pages(20_000, limit=3)
    assert len(pages) == 3
    assert all(len(variants) == VARIANTS for variants in pages)
    server = Server(pages)
    rounds = range(5)
    for doc in range(6):
        served = {}
        for round_no in rounds:
            server.round = round_no
            body = server.body_for(doc)
            text = extract(body, content_type="text/html; charset=utf-8", rules=ExtractRules())
            served[round_no] = (text, body)
        for a in rounds:
            for b in rounds:
                same_text, same_bytes = (served[a][i] == served[b][i] for i in range(2))
                assert same_text == (round_content(a)[0] == round_content(b)[0]), (doc, a, b)
                assert same_bytes == (round_content(a)[1] == round_content(b)[1]), (doc, a, b)
