"""Server time of the public timeline on a realistic PostgreSQL database, then throughput.

Run from the repo root (PostgreSQL at 127.0.0.1:5432, `wrk` for the throughput part):

    .venv/bin/python bench/timeline.py [--requests 60] [--reset] [--no-wrk]

Creates (once) a dedicated database `clausewatch_timeline_bench` holding 500 documents on 30 platforms,
100,000 changes (with their 100,500 versions, real stored diffs and AI analysis drawn from a
pool of generated edits) and 5,000 statements, then times each page with Django's test Client
in this process (middleware, ORM and templates included; production settings, DEBUG off,
cache in Redis db 15): p50/p95 over --requests requests after a warm-up, and the p50 with the
cache emptied before every request ("cold"). Finally serves the site with gunicorn and
measures requests/s with wrk on a timeline page and on a trivial Django view of the same server.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DB_NAME = "clausewatch_timeline_bench"  # bench/pipeline.py owns clausewatch_bench
SERVER = "postgres://root@127.0.0.1:5432"
ENV = {
    "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL", f"{SERVER}/{DB_NAME}"),
    "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"),
    "DEBUG": "0",
    "SECRET_KEY": "bench-only-secret-key-bench-only-secret-key-bench-only",
    "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "SECURE_SSL_REDIRECT": "0",
    "SECURE_HSTS_SECONDS": "0",
    "SITE_URL": "http://127.0.0.1:8000",
    "VAR_DIR": "/tmp/clausewatch-bench/var",
    "LOG_LEVEL": "WARNING",
}
os.environ.update(ENV)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

N_PLATFORMS = 30
N_DOCUMENTS = 500
N_CHANGES = 100_000
N_STATEMENTS = 5_000
PER_DOCUMENT = N_CHANGES // N_DOCUMENTS  # 200 changes, 201 versions per document
POOL = 600  # distinct generated edits whose diff and analysis are computed for real

# --- text generation ----------------------------------------------------------------------

SECTIONS = [
    "Your content",
    "Licence to us",
    "Privacy and data",
    "Artificial intelligence",
    "Sharing with partners",
    "Payments",
    "Termination",
    "Disputes and arbitration",
]
PLAIN = [
    "You keep ownership of the content you upload to the service.",
    "We may update these terms from time to time and will notify you of material changes.",
    "You must be at least 16 years old to create an account.",
    "Payments are processed by our payment provider and are non-refundable.",
    "Any dispute will be resolved by binding arbitration in the state of Delaware.",
    "We may suspend or terminate your account if you breach these terms.",
    "We collect the information you provide when you register, such as your email address.",
    "We use cookies to remember your preferences and measure how the service is used.",
    "You grant us a worldwide, non-exclusive, royalty-free licence to host and display your content.",
    "We share information with service providers who process it on our behalf.",
    "You may delete your account at any time from your settings.",
    "We keep logs of access to the service for security purposes.",
]
AI = [
    "We may use your content to train and improve our artificial intelligence models.",
    "Your uploads may be used to inform, train, develop or serve as input to machine learning technologies.",
    "You may opt out of the use of your content for AI training in your privacy settings.",
    "We do not allow third parties to scrape or crawl the service to train AI models.",
    "We license content to third-party AI developers and research partners.",
    "Content generated with AI tools must be labelled as AI-generated.",
    "We do not use your private messages to train generative AI features.",
    "We may create synthetic media, voice clones or digital replicas only with your consent.",
]


def _paragraph(rng: random.Random) -> str:
    return " ".join(rng.sample(PLAIN, 2))


def _document(rng: random.Random) -> list[list[str]]:
    return [[_paragraph(rng) for _ in range(3)] for _ in SECTIONS]


def _render(doc: list[list[str]]) -> str:
    parts = ["# Terms of Service\n"]
    for title, paragraphs in zip(SECTIONS, doc, strict=True):
        parts.append(f"## {title}\n")
        parts.extend(p + "\n" for p in paragraphs)
    return "\n".join(parts)


def _edit(rng: random.Random, doc: list[list[str]]) -> list[list[str]]:
    doc = [list(s) for s in doc]
    section = rng.randrange(len(doc))
    roll = rng.random()
    if roll < 0.25:  # an AI clause appears (a quarter of the changes, as in the real world)
        doc[section].insert(rng.randrange(len(doc[section]) + 1), rng.choice(AI))
    elif roll < 0.45 and len(doc[section]) > 1:
        doc[section].pop(rng.randrange(len(doc[section])))
    elif roll < 0.75:
        i = rng.randrange(len(doc[section]))
        words = doc[section][i].split()
        words[rng.randrange(len(words))] = rng.choice(["promptly", "reasonable", "applicable"])
        doc[section][i] = " ".join(words)
    else:
        doc[section].append(_paragraph(rng))
    return doc


def _pool(rng: random.Random) -> list[tuple[str, str, object]]:
    from snapshots.analysis import analyze_change_texts

    pairs = []
    for _ in range(POOL):
        old = _document(rng)
        for _ in range(rng.randrange(3)):
            old = _edit(rng, old)
        new = _edit(rng, old)
        old_text, new_text = _render(old), _render(new)
        if old_text == new_text:
            new_text += "\nA new closing paragraph.\n"
        pairs.append((old_text, new_text, analyze_change_texts(old_text, new_text)))
    return pairs


# --- database -----------------------------------------------------------------------------


def ensure_database(reset: bool) -> None:
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone()
        if exists and reset:
            conn.execute(f'DROP DATABASE "{DB_NAME}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def populate() -> None:
    from django.db import connection, transaction

    from platforms.models import Document, Platform, Statement
    from snapshots.models import Change, Version

    if Change.objects.count() >= N_CHANGES:
        print(f"database {DB_NAME}: already populated")
        return
    started = time.perf_counter()
    rng = random.Random(5)
    pool = _pool(rng)
    print(f"pool of {POOL} analysed edits: {time.perf_counter() - started:.1f} s")

    with transaction.atomic():
        platforms = Platform.objects.bulk_create(
            Platform(
                name=f"Platform {i:02d}",
                slug=f"platform-{i:02d}",
                homepage=f"https://p{i}.example/",
            )
            for i in range(N_PLATFORMS)
        )
        kinds = [
            "terms_of_service",
            "privacy_policy",
            "ai_policy",
            "developer_terms",
            "community_guidelines",
        ]
        documents = Document.objects.bulk_create(
            Document(
                platform=platforms[d % N_PLATFORMS],
                kind=kinds[d % len(kinds)],
                title=f"Document {d}",
                url=f"https://p{d % N_PLATFORMS}.example/legal/{d}",
                status="ok",
            )
            for d in range(N_DOCUMENTS)
        )
    epoch = datetime(2015, 1, 1, tzinfo=UTC)
    version_id = change_id = 0
    for d, document in enumerate(documents):
        versions, changes = [], []
        moment = epoch + timedelta(days=rng.uniform(0, 60), seconds=rng.randrange(86400))
        first = pool[rng.randrange(POOL)]
        version_id += 1
        versions.append(
            Version(
                id=version_id,
                document=document,
                text=first[0],
                sha256=f"{version_id:064x}",
                word_count=len(first[0].split()),
                observed_at=moment,
            )
        )
        for _ in range(PER_DOCUMENT):
            _, new_text, facts = pool[rng.randrange(POOL)]
            moment += timedelta(days=rng.uniform(1, 35), seconds=rng.randrange(86400))
            version_id += 1
            change_id += 1
            versions.append(
                Version(
                    id=version_id,
                    document=document,
                    previous_id=version_id - 1,
                    text=new_text,
                    sha256=f"{version_id:064x}",
                    word_count=len(new_text.split()),
                    observed_at=moment,
                )
            )
            roll = rng.random()
            kind = "technical" if roll < 0.03 else "flip_flop" if roll < 0.04 else "change"
            changes.append(
                Change(
                    id=change_id,
                    document=document,
                    old_version_id=version_id - 1,
                    new_version_id=version_id,
                    observed_at=moment,
                    kind=kind,
                    published_at=moment if kind == "change" else None,
                    **dataclasses.asdict(facts),
                    analyzed_at=moment,
                )
            )
        with transaction.atomic():
            Version.objects.bulk_create(versions, batch_size=1000)
            Change.objects.bulk_create(changes, batch_size=1000)
        if d % 50 == 49:
            print(
                f"  {d + 1} documents, {change_id} changes: {time.perf_counter() - started:.0f} s"
            )

    words = [
        "AI training",
        "opt-out",
        "licensing deal",
        "data scraping",
        "generative features",
        "privacy update",
    ]
    statements = []
    for s in range(N_STATEMENTS):
        platform = platforms[rng.randrange(N_PLATFORMS)]
        topic = rng.choice(words)
        statements.append(
            Statement(
                platform=platform,
                kind="statement" if s % 4 else "event",
                date=date(2015, 1, 1) + timedelta(days=rng.randrange(3900)),
                title=f"{platform.name} comments on {topic} ({s})",
                summary=f"The company explained its position on {topic} and what it means for creators.",
                source_url=f"https://news.example/{s}",
                outlet=rng.choice(["The Verge", "Wired", "Company blog", "Reuters"]),
            )
        )
    statements = Statement.objects.bulk_create(statements, batch_size=2000)
    links = Statement.changes.through
    published = list(Change.objects.filter(published_at__isnull=False).values_list("id", flat=True))
    links.objects.bulk_create(
        [links(statement_id=s.pk, change_id=rng.choice(published)) for s in statements[::4]],
        batch_size=2000,
    )
    with connection.cursor() as cursor:
        for table in ("snapshots_version", "snapshots_change"):
            sql = f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"  # noqa: S608 (fixed names)
            cursor.execute(sql)
    print(f"populated in {time.perf_counter() - started:.0f} s")


def vacuum() -> None:
    import psycopg

    with psycopg.connect(f"{SERVER}/{DB_NAME}", autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


# --- timing -------------------------------------------------------------------------------


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def time_pages(requests: int) -> list[tuple[str, float, float, float, float]]:
    from django.core.cache import cache
    from django.test import Client

    from platforms.models import Document, Platform
    from snapshots.models import Change
    from timeline.cursors import change_key

    client = Client()
    rng = random.Random(7)
    slug = Platform.objects.order_by("slug").values_list("slug", flat=True)[7]
    published = Change.objects.filter(published_at__isnull=False, kind="change")
    deep = published.order_by("-observed_at", "-id").only("id", "observed_at")[90_000]
    deep_token = change_key(deep.observed_at, deep.pk).token
    ids = list(published.values_list("id", flat=True)[:: max(1, N_CHANGES // 500)])
    document = Document.objects.order_by("id").values_list("id", flat=True)[3]

    scenarios: list[tuple[str, object]] = [
        ("timeline, first page", lambda: "/"),
        ("timeline, filtered (platform + AI)", lambda: f"/?platform={slug}&ai=1"),
        (
            "timeline, filtered (kind + dates)",
            lambda: "/?kind=ai_policy&since=2019-01-01&until=2020-12-31",
        ),
        ("timeline, deep page (~90,000 in)", lambda: f"/?after={deep_token}"),
        ("timeline, search 'train models'", lambda: "/?q=train+models"),
        ("timeline, search + AI filter", lambda: "/?q=arbitration&ai=1"),
        ("timeline, htmx partial", lambda: ("/?ai=1", {"HX-Request": "true"})),
        ("change page", lambda: f"/changes/{rng.choice(ids)}/"),
        (
            "change page, side by side, AI only",
            lambda: f"/changes/{rng.choice(ids)}/?view=side&scope=ai",
        ),
        ("API changes, first page", lambda: "/api/v1/changes"),
        ("API changes, platform + AI + q", lambda: f"/api/v1/changes?platform={slug}&ai=1&q=train"),
        ("API changes, deep cursor", lambda: f"/api/v1/changes?after={deep_token}"),
        ("API change with diff", lambda: f"/api/v1/changes/{rng.choice(ids)}"),
        ("API statements", lambda: "/api/v1/statements?q=licensing"),
        ("document page", lambda: f"/documents/{document}/"),
        ("platform page (chart)", lambda: f"/platforms/{slug}/"),
        ("AI clause explorer (500 documents)", lambda: "/ai/"),
        ("Atom feed, AI", lambda: "/feeds/ai.atom"),
    ]

    from django.conf import settings

    def get(target) -> float:
        url, headers = (target, {}) if isinstance(target, str) else target
        start = time.perf_counter()
        response = client.get(url, headers=headers)
        elapsed = (time.perf_counter() - start) * 1000
        if response.status_code != 200:
            raise SystemExit(f"{url}: HTTP {response.status_code}")
        return elapsed

    results = []
    cache.clear()
    for name, make in scenarios:
        settings.TIMELINE_CACHE_SECONDS = 0  # render every time: the real work of a page
        cold = []
        for _ in range(max(5, requests // 6)):
            cache.clear()
            cold.append(get(make()))
        for _ in range(3):
            get(make())
        warm = [get(make()) for _ in range(requests)]
        settings.TIMELINE_CACHE_SECONDS = 60  # the page cache on: a repeat request
        target = make()
        get(target)
        cached = [get(target) for _ in range(requests)]
        p50, p95 = _percentile(warm, 0.5), _percentile(warm, 0.95)
        results.append((name, p50, p95, statistics.median(cold), statistics.median(cached)))
    return results


# --- throughput ---------------------------------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wrk(url: str, seconds: int, connections: int) -> float:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"{url}: {errors.group(1)} failed responses\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def throughput(
    seconds: int, workers: int, connections: int, *, page_cache: bool
) -> list[tuple[str, float]]:
    import urllib.request

    from snapshots.models import Change

    change = (
        Change.objects.filter(published_at__isnull=False, kind="change").order_by("-id").first()
    )
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.timeline_settings",
        "TIMELINE_CACHE_SECONDS": "60" if page_cache else "0",
    }
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            if server.poll() is not None:
                raise SystemExit("gunicorn exited")
            try:
                urllib.request.urlopen(base + "/bench/trivial", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        targets = [
            ("trivial Django view", "/bench/trivial"),
            ("timeline, first page", "/"),
            ("timeline, filtered (AI only)", "/?ai=1"),
            ("change page", change.get_absolute_url()),
            ("API changes", "/api/v1/changes"),
        ]
        results = []
        for name, path in targets:
            _wrk(base + path, 2, connections)  # warm every worker's connections and caches
            results.append((name, _wrk(base + path, seconds, connections)))
        return results
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--reset", action="store_true", help="drop and rebuild the bench database")
    parser.add_argument("--no-wrk", action="store_true")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()

    ensure_database(args.reset)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # DEBUG off: hashed names
    populate()
    vacuum()

    from django.db import connection

    from platforms.models import Document, Statement
    from snapshots.models import Change, Version

    print(
        f"data: {Change.objects.count():,} changes, {Version.objects.count():,} versions, "
        f"{Document.objects.count()} documents, {Statement.objects.count():,} statements; "
        f"PostgreSQL {connection.pg_version // 10000}; {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f} at start (other work on the machine inflates wall times)"
    )
    print(
        f"server time in ms over {args.requests} requests (Django test Client, DEBUG off, Redis "
        "cache). p50/p95: page rendered every time (page cache off; count and analysis caches "
        "warm); cold: every cache emptied first; cached: a repeat request, page cache on"
    )
    print(f"  {'page':44} {'p50':>7} {'p95':>7} {'cold p50':>9} {'cached p50':>11}")
    for name, p50, p95, cold, cached in time_pages(args.requests):
        flag = "" if p50 <= 30 else "  > 30 ms"
        print(f"  {name:44} {p50:7.1f} {p95:7.1f} {cold:9.1f} {cached:11.1f}{flag}")

    if args.no_wrk or not shutil.which("wrk"):
        print("throughput: skipped (--no-wrk or wrk not installed)")
        return
    for page_cache in (True, False):
        results = throughput(args.seconds, args.workers, args.connections, page_cache=page_cache)
        baseline = results[0][1]
        print(
            f"throughput, page cache {'on (60 s)' if page_cache else 'off'}: gunicorn "
            f"{args.workers} sync workers, wrk -t2 -c{args.connections} -d{args.seconds}s "
            f"(wrk, PostgreSQL and Redis on the same {os.cpu_count()} CPUs):"
        )
        for name, rps in results:
            print(f"  {name:44} {rps:8.0f} req/s  {rps / baseline:6.0%} of the trivial view")


if __name__ == "__main__":
    main()
