"""The public pages and API under wrk while a Celery worker checks 1,000 documents.

    .venv/bin/python bench/load.py            # the full run, about 5 minutes
    .venv/bin/python bench/load.py --docs 100 --seconds 2 --no-cache-off   # a quick try

Uses PostgreSQL (database clausewatch_load, recreated) and Redis (db 6), production settings
(DEBUG off). Read side: the three real document histories of the shared corpus recorded
through the project's own text_record (real diffs and AI analysis), plus synthetic platforms
whose changes reuse bench/timeline.py's generated, analysed edits, and statements. Tracked
side: --docs documents served by bench/pageserver.py (noisy ~100 KB pages on 250 loopback
addresses, its own port), each given its current version up front so that the checks under
load are the tracker's steady state: dynamic pages whose text has not changed.

Serves the site with gunicorn (--web-workers sync workers) and runs `celery -A config worker
--concurrency 2`. For each page-cache setting (TIMELINE_CACHE_SECONDS 60, then 0):
  A  wrk against each URL in turn (-t2 -c16 --latency, --seconds each), no checks running;
  B  every tracked document made due and dispatched with the beat task's checks_dispatch,
     then the same wrk run while the worker checks them; afterwards waits for every check.
Prints requests/s and p50/p90/p99 per URL, checks done during the wrk window, checks/s,
the lag between each check's due time (its dispatch time) and its checked_at, how
many checks each document got and their outcomes, and the CPU each process group used.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import re
import resource
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.pipeline import cpu_by_pid, env, named_pids, queued, tree_pids  # noqa: E402

PG_ADMIN = "postgres://root@127.0.0.1:5432/postgres"
DB_NAME = "clausewatch_load"  # pipeline.py owns clausewatch_bench, timeline.py its own
DB_URL = f"postgres://root@127.0.0.1:5432/{DB_NAME}"
REDIS_URL = "redis://127.0.0.1:6379/6"

SYNTH_PLATFORMS = 10
SYNTH_DOCUMENTS = 40
SYNTH_CHANGES_PER_DOCUMENT = 75  # 3,000 synthetic changes
SYNTH_STATEMENTS = 400


# --- data ---------------------------------------------------------------------------------


def corpus_record() -> None:
    """The corpus's real histories (Google, Twitter, LinkedIn privacy policies), one version at
    a time through text_record: stored diffs, word counts and AI analysis as the tracker makes."""
    from platforms.models import Document, Platform
    from snapshots.recording import text_record
    from tests.corpus import documents

    for (service, terms_type), items in documents().items():
        platform, _ = Platform.objects.get_or_create(
            slug=service.lower(),
            defaults={"name": service, "homepage": f"https://{service.lower()}.example/"},
        )
        document = Document.objects.create(
            platform=platform,
            kind="privacy_policy" if "Privacy" in terms_type else "terms_of_service",
            title=terms_type,
            url=f"https://{service.lower()}.example/legal/privacy",
            status="ok",
            active=False,  # history only: the checks under load are the tracked documents'
        )
        for item in items:
            text_record(document=document, text=item.text(), observed_at=item.committed_at)


def synthetic_populate() -> None:
    """Platforms, documents and changes from bench/timeline.py's generated edits (their diffs
    and analysis computed for real), bulk-inserted the way that bench does, and statements."""
    from django.db import connection, transaction

    from platforms.models import Document, Platform, Statement
    from snapshots.models import Change, Version

    # bench/timeline.py sets its own environment on import: keep ours.
    saved = dict(os.environ)
    import bench.timeline as tl

    os.environ.clear()
    os.environ.update(saved)
    tl.POOL = 200
    rng = random.Random(8)
    pool = tl._pool(rng)

    platforms = Platform.objects.bulk_create(
        Platform(
            name=f"Platform {i:02d}", slug=f"platform-{i:02d}", homepage=f"https://p{i}.example/"
        )
        for i in range(SYNTH_PLATFORMS)
    )
    kinds = ["terms_of_service", "privacy_policy", "ai_policy", "community_guidelines"]
    documents = Document.objects.bulk_create(
        Document(
            platform=platforms[d % SYNTH_PLATFORMS],
            kind=kinds[d % len(kinds)],
            title=f"Document {d}",
            url=f"https://p{d % SYNTH_PLATFORMS}.example/legal/{d}",
            status="ok",
            active=False,
        )
        for d in range(SYNTH_DOCUMENTS)
    )
    version_id = (Version.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1000
    change_id = (Change.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1000
    epoch = datetime(2018, 1, 1, tzinfo=UTC)
    versions, changes = [], []
    for document in documents:
        moment = epoch + timedelta(days=rng.uniform(0, 60), seconds=rng.randrange(86400))
        first = pool[rng.randrange(len(pool))][0]
        version_id += 1
        versions.append(
            Version(
                id=version_id,
                document=document,
                text=first,
                sha256=f"{version_id:064x}",
                word_count=len(first.split()),
                observed_at=moment,
            )
        )
        for _ in range(SYNTH_CHANGES_PER_DOCUMENT):
            _, new_text, facts = pool[rng.randrange(len(pool))]
            moment += timedelta(days=rng.uniform(1, 30), seconds=rng.randrange(86400))
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
            kind = "technical" if rng.random() < 0.03 else "change"
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
    with connection.cursor() as cursor:
        for table in ("snapshots_version", "snapshots_change"):
            sql = f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"  # noqa: S608 (fixed names)
            cursor.execute(sql)

    all_platforms = list(Platform.objects.all())
    statements = Statement.objects.bulk_create(
        Statement(
            platform=(platform := all_platforms[rng.randrange(len(all_platforms))]),
            kind="statement" if s % 4 else "event",
            date=date(2018, 1, 1) + timedelta(days=rng.randrange(2900)),
            title=f"{platform.name} comments on its terms ({s})",
            summary="The company explained its position and what it means for creators.",
            source_url=f"https://news.example/{s}",
            outlet=rng.choice(["The Verge", "Wired", "Company blog", "Reuters"]),
        )
        for s in range(SYNTH_STATEMENTS)
    )
    links = Statement.changes.through
    published = list(Change.objects.filter(published_at__isnull=False).values_list("id", flat=True))
    links.objects.bulk_create(
        links(statement_id=s.pk, change_id=rng.choice(published)) for s in statements[::3]
    )


def tracked_create(count: int, hosts: int, port: int, texts: int) -> None:
    """The documents the worker checks, each with its current text already recorded.

    The first `texts` documents (one per distinct page text of the page server) get a real
    first check here; the others, whose pages carry the same texts (document i serves text
    i mod texts), get that text recorded directly, which is what their first check would do.
    """
    from django.utils import timezone

    from platforms.models import Document, Platform
    from snapshots.models import Version
    from snapshots.recording import text_record
    from snapshots.services import document_check

    platform = Platform.objects.create(
        name="Tracked", slug="tracked", homepage="https://tracked.example/"
    )
    documents = Document.objects.bulk_create(
        Document(
            platform=platform,
            kind="privacy_policy",
            title=f"Tracked {i}",
            url=f"http://127.0.{(i % hosts) // 250}.{(i % hosts) % 250 + 1}:{port}/doc/{i}",
            check_interval=timedelta(hours=6),
        )
        for i in range(count)
    )
    texts = min(texts, count)
    outcomes = Counter(document_check(document_id=d.pk).outcome for d in documents[:texts])
    current = {
        i: Version.objects.filter(document=d).values_list("text", flat=True).first()
        for i, d in enumerate(documents[:texts])
    }
    now = timezone.now()
    for i, document in enumerate(documents[texts:], start=texts):
        if current[i % texts] is not None:
            outcomes[
                text_record(document=document, text=current[i % texts], observed_at=now).outcome
            ] += 1
    Document.objects.filter(platform=platform).update(
        status="ok", last_checked_at=now, next_check_at=now + timedelta(hours=6)
    )
    print(f"tracked documents: {count}, current versions recorded: {dict(outcomes)}", flush=True)


# --- load ---------------------------------------------------------------------------------

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()
    return float(number) * UNITS[unit]


def wrk(url: str, seconds: int, connections: int) -> dict:
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "--latency",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = {
        q: _ms(m.group(1))
        for q in ("50", "90", "99")
        if (m := re.search(rf"^\s+{q}%\s+(\S+)", out, re.M))
    }
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "p50": found.get("50", 0.0),
        "p90": found.get("90", 0.0),
        "p99": found.get("99", 0.0),
        "errors": (int(errors.group(1)) if errors else 0),
        "socket": socket.group(1) if socket else "",
    }


def load_run(base: str, targets: list[tuple[str, str]], seconds: int, connections: int) -> list:
    results = []
    for name, path in targets:
        for _ in range(3):  # fill the page cache (when on) and warm a connection
            urllib.request.urlopen(base + path, timeout=30).read()
        results.append((name, wrk(base + path, seconds, connections)))
    return results


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def gunicorn_start(run_env: dict, port: int, workers: int, cache_seconds: int):
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=REPO,
        env={
            **run_env,
            # The site's settings plus a TIMELINE_CACHE_SECONDS read from the environment.
            "DJANGO_SETTINGS_MODULE": "bench.timeline_settings",
            "TIMELINE_CACHE_SECONDS": str(cache_seconds),
        },
    )
    for _ in range(300):
        if server.poll() is not None:
            raise SystemExit("gunicorn exited")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/platforms", timeout=2).read()
            return server
        except OSError:
            time.sleep(0.1)
    raise SystemExit("gunicorn did not answer")


def cpu_now(web, worker, pageserver) -> dict[str, float]:
    """CPU seconds used so far by each process group (wrk: this script's finished children)."""
    groups = {
        "gunicorn": tree_pids(web.pid),
        "celery worker": tree_pids(worker.pid),
        "redis": named_pids("redis-server"),
        "page server": [pageserver.pid],
    }
    used = {name: sum(cpu_by_pid(pids).values()) for name, pids in groups.items()}
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    used["wrk"] = children.ru_utime + children.ru_stime
    # The whole machine (other work on it included): busy time of all CPUs.
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    machine = (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")
    # PostgreSQL lands here too: a backend closed by CONN_MAX_AGE takes its CPU count with it,
    # so per-backend accounting undercounts; the machine total does not.
    used["postgres + anything else"] = machine - sum(used.values())
    return used


def stop(process) -> None:
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=250)
    parser.add_argument("--seconds", type=int, default=6, help="wrk duration per URL")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--web-workers", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--port", type=int, default=8766, help="page server port")
    parser.add_argument("--web-port", type=int, default=8767)
    parser.add_argument("--no-cache-off", action="store_true", help="skip the cache-off phases")
    args = parser.parse_args()
    load_start = os.getloadavg()
    started = time.monotonic()

    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    run_env = {
        **env(DB_URL, REDIS_URL),
        "VAR_DIR": "/tmp/clausewatch-load/var",
        "SITE_URL": f"http://127.0.0.1:{args.web_port}",
        "SECURE_HSTS_SECONDS": "0",
    }
    os.environ.update(run_env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"], cwd=REPO, env=run_env, check=True
    )
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"],
        cwd=REPO,
        env=run_env,
        check=True,
    )
    import redis

    broker = redis.Redis.from_url(REDIS_URL)
    broker.flushdb()

    import django

    django.setup()
    from django.utils import timezone

    from platforms.models import Document, Statement
    from snapshots.models import Change, Check
    from snapshots.scheduling import checks_dispatch
    from snapshots.tasks import checks_enqueuer

    pageserver = worker = web = None
    try:
        pageserver = subprocess.Popen(
            [
                sys.executable,
                "bench/pageserver.py",
                "--hosts",
                str(args.hosts),
                "--port",
                str(args.port),
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = pageserver.stdout.readline().strip()
        print(line, flush=True)
        texts = int(m.group(1)) if (m := re.search(r"serving (\d+) texts", line)) else args.docs

        t = time.monotonic()
        corpus_record()
        synthetic_populate()
        tracked_create(args.docs, args.hosts, args.port, texts)
        with psycopg.connect(DB_URL, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
        print(
            f"data in {time.monotonic() - t:.0f} s: {Change.objects.count():,} changes "
            f"({Change.objects.filter(published_at__isnull=False).count():,} published), "
            f"{Document.objects.count():,} documents, {Statement.objects.count()} statements",
            flush=True,
        )

        real = (
            Change.objects.filter(document__platform__slug="google", published_at__isnull=False)
            .order_by("-observed_at")
            .first()
        )
        targets = [
            ("timeline, first page", "/"),
            ("timeline, platform + AI filter", "/?platform=platform-03&ai=1"),
            ("change permalink (Google, real diff)", real.get_absolute_url()),
            ("document page (Google, 50 versions)", f"/documents/{real.document_id}/"),
            ("API changes", "/api/v1/changes"),
            ("API change with diff", f"/api/v1/changes/{real.pk}"),
            ("Atom feed, changes", "/feeds/changes.atom"),
        ]

        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--loglevel",
                "WARNING",
                "--concurrency",
                str(args.concurrency),
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=REPO,
            env=run_env,
            stdout=subprocess.DEVNULL,
        )
        # Follow-up tasks of the data build (alert fan-outs of the corpus changes) first.
        time.sleep(5)
        while queued(broker) or broker.hlen("unacked"):
            time.sleep(0.5)
        tracked = Document.objects.filter(platform__slug="tracked")
        base = f"http://127.0.0.1:{args.web_port}"
        report = []
        for cache_seconds in (60,) if args.no_cache_off else (60, 0):
            stop(web)
            web = gunicorn_start(run_env, args.web_port, args.web_workers, cache_seconds)
            for phase in ("A", "B"):
                label = f"{phase}, page cache {'on' if cache_seconds else 'off'}"
                print(f"\n== phase {label} ==", flush=True)
                dispatched: dict[int, datetime] = {}
                phase_from = timezone.now()
                if phase == "B":
                    tracked.update(next_check_at=timezone.now() - timedelta(seconds=1))

                    claimed = 0
                    while claimed < args.docs:
                        with checks_enqueuer() as send:

                            def enqueue(doc_id: int, dispatched=dispatched, send=send) -> None:
                                dispatched[doc_id] = timezone.now()
                                send(doc_id)

                            claimed += checks_dispatch(
                                now=timezone.now(), enqueue=enqueue, limit=1000
                            )
                    print(f"dispatched {claimed} checks", flush=True)
                cpu_before, wall = cpu_now(web, worker, pageserver), time.monotonic()
                results = load_run(base, targets, args.seconds, args.connections)
                window_end = timezone.now()
                elapsed = time.monotonic() - wall
                cpu = {
                    k: (v - cpu_before[k]) / elapsed
                    for k, v in cpu_now(web, worker, pageserver).items()
                }
                for name, r in results:
                    bad = f"  non-2xx {r['errors']}" if r["errors"] else ""
                    bad += f"  socket errors: {r['socket']}" if r["socket"] else ""
                    print(
                        f"  {name:40} {r['rps']:7.1f} req/s  p50 {r['p50']:7.1f}  "
                        f"p90 {r['p90']:7.1f}  p99 {r['p99']:7.1f} ms{bad}",
                        flush=True,
                    )
                print(
                    "  CPU (cores busy) during the wrk window: "
                    + ", ".join(f"{k} {v:.2f}" for k, v in cpu.items())
                    + f"; load average {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
                checks = None
                if phase == "B":
                    checks = checks_report(
                        Check, tracked, dispatched, phase_from, window_end, broker, args
                    )
                report.append((label, results, cpu, checks))
    finally:
        stop(web)
        stop(worker)
        stop(pageserver)
    total = time.monotonic() - started
    print(
        f"\ndocs={args.docs} hosts={args.hosts} gunicorn {args.web_workers} sync workers, "
        f"celery worker prefork concurrency {args.concurrency}, wrk -t2 -c{args.connections} "
        f"-d{args.seconds}s per URL; {os.cpu_count()} CPUs; load average before "
        f"{load_start[0]:.1f}/{load_start[1]:.1f}, after {os.getloadavg()[0]:.1f}/"
        f"{os.getloadavg()[1]:.1f} (1/5 min); whole run {total:.0f} s"
    )
    print("| URL | " + " | ".join(label for label, *_ in report) + " |")
    for i, (name, _) in enumerate(report[0][1]):
        cells = []
        for _, results, _, _ in report:
            r = results[i][1]
            cells.append(f"{r['rps']:.0f} req/s, {r['p50']:.1f} / {r['p90']:.1f} / {r['p99']:.1f}")
        print(f"| {name} | " + " | ".join(cells) + " |")
    for label, _, _, checks in report:
        if checks:
            print(f"| {label} | " + " | ".join(f"{k}: {v}" for k, v in checks.items()) + " |")


def checks_report(Check, tracked, dispatched, phase_from, window_end, broker, args) -> dict:
    """Wait for every dispatched check, then how they kept their schedule."""
    from django.utils import timezone

    def rows():
        return list(
            Check.objects.filter(document__in=tracked, checked_at__gte=phase_from).values_list(
                "document_id", "checked_at", "duration_ms", "outcome"
            )
        )

    done, last_change, last_n = rows(), time.monotonic(), -1
    while len(done) < args.docs:
        if len(done) != last_n:
            last_change, last_n = time.monotonic(), len(done)
        elif time.monotonic() - last_change > 60:
            print(f"  stalled: {args.docs - len(done)} check(s) not done after 60 s idle")
            break
        time.sleep(0.5)
        done = rows()
    while queued(broker) or broker.hlen("unacked"):
        time.sleep(0.2)
    drained = timezone.now()
    done = rows()
    first_due = min(dispatched.values())
    finished = [c[1] + timedelta(milliseconds=c[2]) for c in done]
    in_window = sum(1 for f in finished if f <= window_end)
    last = max(finished) if finished else drained
    window_s = max((min(last, window_end) - first_due).total_seconds(), 0.001)
    after = len(done) - in_window
    after_s = max((last - window_end).total_seconds(), 0.001)
    lags = [(at - dispatched[doc]).total_seconds() for doc, at, _, _ in done if doc in dispatched]
    per_doc = Counter(Counter(doc for doc, *_ in done).values())
    missing = len(set(dispatched) - {doc for doc, *_ in done})
    outcomes = dict(Counter(c[3] for c in done))
    durations = [c[2] for c in done]
    summary = {
        "checks done": len(done),
        "done during wrk": f"{in_window} in {window_s:.0f} s = {in_window / window_s:.1f}/s",
        "done after wrk (no web load)": (
            f"{after} in {after_s:.0f} s = {after / after_s:.1f}/s" if after else "0"
        ),
        "lag p50/p95/max": f"{percentile(lags, 0.5):.1f} / {percentile(lags, 0.95):.1f} / "
        f"{max(lags, default=0):.1f} s",
        "check duration p50/p95": f"{percentile(durations, 0.5):.0f} / "
        f"{percentile(durations, 0.95):.0f} ms",
        "checks per document": dict(sorted(per_doc.items())),
        "not checked": missing,
        "outcomes": outcomes,
    }
    for k, v in summary.items():
        print(f"  {k}: {v}", flush=True)
    return summary


if __name__ == "__main__":
    main()
