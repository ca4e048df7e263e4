"""Alert sending: N confirmed subscribers, until every email reached a local SMTP sink.

    python3 -m uv run python bench/alerts.py                 # 10,000 subscribers
    python3 -m uv run python bench/alerts.py --subscribers 2000 --concurrency 2

Round 1: one AI-relevant change (a real one from the Open Terms Archive corpus when
../shared/corpus is there), instant alerts to everyone. Round 2: everyone on the daily
digest, 50 changes published the day before, one digest each.

Uses PostgreSQL (database clausewatch_alerts_bench, recreated), Redis (db 8, emptied),
`celery -A config worker` as a subprocess, and an aiosmtpd sink in its own process on
127.0.0.1. Time runs from enqueuing the task to the last email reaching the sink. Prints
emails/s, bytes per email, and duplicates and missing addresses as counted by the sink.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from itertools import pairwise
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PG_ADMIN = "postgres://root@127.0.0.1:5432/postgres"
DB_NAME = "clausewatch_alerts_bench"
REDIS_URL = "redis://127.0.0.1:6379/8"


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            stats[int(entry.name)] = fields
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        stack.extend(children.get(p, []))
        if p in stats:
            total += int(stats[p][11]) + int(stats[p][12])
    return total / os.sysconf("SC_CLK_TCK")


class Sink:
    """The SMTP sink process and what it has received."""

    def __init__(self, port: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.alerts.smtp_servers", str(port)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout.readline().startswith("READY")
        self.lock = threading.Lock()
        self.reset()
        threading.Thread(target=self._read, daemon=True).start()

    def reset(self) -> None:
        with self.lock:
            self.recipients: Counter[str] = Counter()
            self.messages = 0
            self.bytes = 0
            self.last_at = 0.0

    def _read(self) -> None:
        for line in self.process.stdout:
            size, *rcpts = line.split()
            with self.lock:
                self.messages += 1
                self.bytes += int(size)
                self.recipients.update(rcpts)
                self.last_at = time.monotonic()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def texts(pairs: int) -> tuple[tuple[str, str], list[list[str]]]:
    """One AI-relevant change (old, new) and, per document, consecutive versions for digests.

    From the corpus: the first AI-relevant change whose email diff is 10-60 kB of HTML.
    """
    from snapshots.analysis import analyze_change_texts
    from snapshots.diff_render import render_email_html
    from snapshots.diffing import Diff
    from tests.alerts.helpers import AI_NEW, OLD

    try:
        from tests.corpus import documents

        corpus = {key: vs for key, vs in documents().items() if len(vs) > 2}
    except OSError:
        corpus = {}
    if not corpus:  # no corpus: small synthetic texts
        chain = [OLD]
        for i in range(pairs):
            chain.append(chain[-1] + f"\nWe may use upload batch {i} to train AI models.\n")
        print("instant change: synthetic (no corpus)")
        return (OLD, AI_NEW), [chain]
    instant = (OLD, AI_NEW)
    found = False
    for (service, terms), versions in corpus.items():
        for old, new in pairwise(versions):
            facts = analyze_change_texts(old.text(), new.text())
            size = len(render_email_html(Diff.from_json(facts.diff)))
            if facts.ai_relevant and 10_000 <= size <= 60_000:
                instant, found = (old.text(), new.text()), True
                print(
                    f"instant change: {service} {terms} {new.committed_at:%Y-%m-%d}, {size} B diff"
                )
                break
        if found:
            break
    per_doc = -(-pairs // len(corpus))
    return instant, [[v.text() for v in versions[-(per_doc + 1) :]] for versions in corpus.values()]


def wait_for(sink: Sink, count: int, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while sink.messages < count and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(2.0)  # late duplicates would show up now
    return sink.last_at


def report(
    label: str, sink: Sink, expected: set[str], started: float, finished: float, cpu: str
) -> str:
    from alerts.models import Delivery

    elapsed = finished - started
    duplicates = sum(n - 1 for n in sink.recipients.values() if n > 1)
    missing = len(expected - set(sink.recipients))
    states = dict(Counter(Delivery.objects.values_list("state", flat=True)))
    kb = sink.bytes / max(sink.messages, 1) / 1000
    print(
        f"{label:24} {sink.messages:6} emails in {elapsed:6.1f} s = {sink.messages / elapsed:6.1f}"
        f" emails/s; {kb:.1f} kB/email; duplicates {duplicates}; missing {missing};"
        f" deliveries {states}; CPU s: {cpu}",
        flush=True,
    )
    return (
        f"| {label} | {sink.messages} | {elapsed:.1f} s | {sink.messages / elapsed:.0f} emails/s |"
        f" {kb:.1f} kB | {duplicates} | {missing} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--changes", type=int, default=50, help="changes in the digest")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--chunk", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()

    import psycopg
    import redis

    from tests.alerts.smtp_servers import free_port

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    port = free_port()
    run_env = {
        **os.environ,
        "DATABASE_URL": f"postgres://root@127.0.0.1:5432/{DB_NAME}",
        "REDIS_URL": REDIS_URL,
        "EMAIL_URL": f"smtp://127.0.0.1:{port}?timeout=30",
        "ALERTS_CHUNK_SIZE": str(args.chunk),
        "SITE_URL": "https://clausewatch.example",
        "LOG_LEVEL": "WARNING",
        "DEBUG": "1",
    }
    os.environ.update(run_env)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"], cwd=REPO, env=run_env, check=True
    )
    redis.Redis.from_url(REDIS_URL).flushdb()

    import django

    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    django.setup()
    from django.utils import timezone

    from alerts import services
    from alerts.models import Subscriber
    from config.celery import app
    from tests.alerts.helpers import make_change
    from tests.factories import DocumentFactory, PlatformFactory, VersionFactory

    (instant_old, instant_new), chains = texts(args.changes)
    now = timezone.now()
    Subscriber.objects.bulk_create(
        Subscriber(
            email=f"creator{i}@example.org",
            status="active",
            frequency="instant",
            ai_only=False,
            all_platforms=True,
            confirmed_at=now,
            digest_since=now,
        )
        for i in range(args.subscribers)
    )
    expected = {f"creator{i}@example.org" for i in range(args.subscribers)}
    change = make_change(old_text=instant_old, new_text=instant_new, analyzed_at=now)
    assert change.ai_relevant

    sink = Sink(port)
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
    )
    rows = []
    try:
        while not app.control.ping(timeout=0.5):
            time.sleep(0.5)

        def cpu() -> tuple[float, float]:
            return tree_cpu_seconds(worker.pid), tree_cpu_seconds(sink.process.pid)

        def used(before: tuple[float, float]) -> str:
            after = cpu()
            return f"worker {after[0] - before[0]:.1f}, sink {after[1] - before[1]:.1f}"

        before, started = cpu(), time.monotonic()
        app.send_task("alerts.tasks.fan_out_change", args=[change.pk])
        finished = wait_for(sink, args.subscribers, args.timeout)
        rows.append(report("instant, 1 AI change", sink, expected, started, finished, used(before)))

        # Everyone on the daily digest; the day before: the changes.
        period_end = services.digest_period_end(frequency="daily", now=timezone.now())
        Subscriber.objects.update(frequency="daily", digest_since=period_end - timedelta(days=2))
        published = period_end - timedelta(hours=23)
        made = 0
        for chain in chains:
            document = DocumentFactory(platform=PlatformFactory())
            VersionFactory(document=document, text=chain[0])
            for text in chain[1:]:
                if made == args.changes:
                    break
                make_change(
                    document=document, new_text=text, published_at=published, analyzed_at=now
                )
                published += timedelta(minutes=10)
                made += 1
        sink.reset()
        before, started = cpu(), time.monotonic()
        app.send_task("alerts.tasks.send_digests", args=["daily"])
        finished = wait_for(sink, args.subscribers, args.timeout)
        label = f"daily digest, {made} changes"
        rows.append(report(label, sink, expected, started, finished, used(before)))
    finally:
        worker.terminate()
        worker.wait(30)
        sink.stop()
    print(
        f"\nsubscribers={args.subscribers} concurrency={args.concurrency} chunk={args.chunk}"
        f" cpus={os.cpu_count()}"
    )
    print("| round | emails | time | rate | size | duplicates | missing |")
    for row in rows:
        print(row)


if __name__ == "__main__":
    main()
