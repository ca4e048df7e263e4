"""Backfill of one document with N captures from a loopback fake Wayback Machine, at the
allowed rates (WAYBACK_CDX_PER_MINUTE, WAYBACK_CAPTURES_PER_SECOND; real clock, real sleeps).

    .venv/bin/python bench/backfill.py [--captures 200] [--page-size 25]

The archive is tests/snapshots/fake_wayback.py serving Google's privacy-policy history from
the corpus, each text captured several times with different noise (distinct digests, so the
CDX collapse keeps them all). A small CDX page size makes the listing take several CDX
requests, so the CDX limit is exercised too. The database is a fresh SQLite file in a
temporary directory, unless DATABASE_URL is set. Prints the total time, what was recorded,
and the rates the fake server saw: the most requests in any 60 s window (CDX) and in any
1 s window (captures), the averages, and whether any limit was exceeded.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def most_in_window(times: list[float], window: float) -> int:
    """The most requests that arrived within any half-open window of `window` seconds."""
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--captures", type=int, default=200)
    parser.add_argument("--page-size", type=int, default=25, help="captures per CDX page")
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="clausewatch-bench-backfill-")
    os.environ.setdefault("VAR_DIR", tmp)
    os.environ["FETCH_ALLOW_PRIVATE"] = "1"
    os.environ["WAYBACK_CDX_PAGE_SIZE"] = str(args.page_size)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import logging

    import django

    django.setup()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    from django.conf import settings
    from django.core.management import call_command

    from platforms.models import Document, Platform
    from snapshots.backfill import document_backfill
    from snapshots.models import Change, Version
    from tests.corpus import documents
    from tests.pages import wrap_in_noisy_html
    from tests.snapshots.fake_wayback import fake_wayback

    call_command("migrate", verbosity=0)
    url = "https://policies.example/privacy"
    platform, _ = Platform.objects.get_or_create(
        slug="bench", defaults={"name": "Bench", "homepage": "https://policies.example/"}
    )
    Document.objects.filter(platform=platform, url=url).delete()
    doc = Document.objects.create(
        platform=platform, kind="privacy_policy", title="Privacy Policy", url=url
    )

    versions = documents()[("Google", "Privacy Policy")]
    per_version = -(-args.captures // len(versions))  # ceil
    with fake_wayback() as wayback:
        n = 0
        for i, version in enumerate(versions):
            following = versions[i + 1].committed_at if i + 1 < len(versions) else None
            gap = (following - version.committed_at) if following else timedelta(days=30)
            text = version.text()
            for k in range(per_version):
                if n == args.captures:
                    break
                when = version.committed_at + gap * k / per_version
                wayback.add(when, url, wrap_in_noisy_html(text, seed=n))
                n += 1
        os.environ["WAYBACK_URL"] = wayback.base_url
        settings.WAYBACK_URL = wayback.base_url

        started = time.monotonic()
        report = document_backfill(document_id=doc.pk)
        total = time.monotonic() - started

        cdx = sorted(t for t, _ in wayback.cdx_log)
        caps = sorted(t for t, _, _ in wayback.capture_log)

    cdx_limit = settings.WAYBACK_CDX_PER_MINUTE
    capture_limit = settings.WAYBACK_CAPTURES_PER_SECOND
    cdx_peak = most_in_window(cdx, 60.0)
    capture_peak = most_in_window(caps, 1.0)
    capture_span = caps[-1] - caps[0] if len(caps) > 1 else 0.0
    cdx_span = cdx[-1] - cdx[0] if len(cdx) > 1 else 0.0
    print(f"captures served by the fake archive: {n} ({len(versions)} distinct corpus texts)")
    print(f"report: {report.summary()}")
    print(
        f"recorded: {Version.objects.filter(document=doc).count()} versions, "
        f"{Change.objects.filter(document=doc, published_at__isnull=False).count()} published "
        f"changes, {Change.objects.filter(document=doc, alertable=True).count()} alertable"
    )
    print(f"total time: {total:.1f} s ({total / max(1, len(caps)) * 1000:.0f} ms per capture)")
    print(
        f"CDX requests: {len(cdx)} (page size {args.page_size}); most in any 60 s window: "
        f"{cdx_peak} (limit {cdx_limit:g}/min); average "
        f"{(len(cdx) - 1) / cdx_span * 60 if cdx_span else 0:.1f}/min"
    )
    print(
        f"capture fetches: {len(caps)}; most in any 1 s window: {capture_peak} "
        f"(limit {capture_limit:g}/s); average {(len(caps) - 1) / capture_span if capture_span else 0:.2f}/s"
    )
    gaps = sorted(b - a for a, b in itertools.pairwise(caps))
    if gaps:
        print(
            f"capture arrivals: smallest gap {gaps[0] * 1000:.0f} ms, "
            f"median {gaps[len(gaps) // 2] * 1000:.0f} ms"
        )
    exceeded = cdx_peak > cdx_limit or capture_peak > capture_limit
    print("limits exceeded: " + ("YES" if exceeded else "no"))
    sys.exit(1 if exceeded else 0)


if __name__ == "__main__":
    main()
