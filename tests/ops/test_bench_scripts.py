"""The benchmark scripts import, and refuse round lists that would measure the wrong thing.

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


def test_rounds_alternate_for_dynamic_pages() -> None:
    from bench.pipeline import checked_rounds

    assert checked_rounds("0,1,0,1,2,3,4,4,4") == [0, 1, 0, 1, 2, 3, 4, 4, 4]
    assert checked_rounds("3,4,4,4") == [3, 4, 4, 4]  # static rounds repeat by design


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("0,1,1", "round 1 twice in a row"),
        ("0,0", "round 0 twice in a row"),
        ("0,5", "outside 0-4"),
        ("0,-1", "outside 0-4"),
        ("0,one", "not a comma-separated list"),
        ("", "not a comma-separated list"),
    ],
)
def test_rounds_that_would_mislabel_a_round_are_refused(spec: str, message: str) -> None:
    from bench.pipeline import checked_rounds

    with pytest.raises(SystemExit, match=message):
        checked_rounds(spec)


def test_page_server_serves_new_bytes_in_each_dynamic_round_and_the_same_in_static_ones() -> None:
    from bench.pageserver import VARIANTS, Server, build_pages

    pages = build_pages(20_000, limit=3)
    assert len(pages) == 3
    assert all(len(variants) == VARIANTS for variants in pages)
    server = Server(pages)
    bodies = {}
    for round_no in (0, 1, 2, 3, 4):
        server.round = round_no
        bodies[round_no] = server.body_for(1)
    assert bodies[0] != bodies[1]  # another noise variant: a dynamic page
    assert bodies[3] == bodies[4]  # the same bytes: a static page
    assert b"section 1" in bodies[2] and b"section 1" not in bodies[1]  # the edit
