"""Pipeline throughput: N documents of ~100 KB checked end to end by a Celery worker.

    python3 -m uv run python bench/pipeline.py --docs 1000
    python3 -m uv run python bench/pipeline.py --docs 10000

Uses PostgreSQL (database clausewatch_bench, recreated) and Redis (db 7), a loopback page
server spread over many 127.x addresses (per-host politeness applies as in production), and
`celery -A config worker` as a subprocess. Three rounds: first check (baseline versions),
unchanged pages (new noise, same text), changed pages (every document gets another text).
Prints checks per second per round and the worker's peak memory (all its processes).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PG_ADMIN = "postgres://root@127.0.0.1:5432/postgres"


def env(db_url: str, redis_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": db_url,
        "REDIS_URL": redis_url,
        "FETCH_ALLOW_PRIVATE": "1",
        "FETCH_HOST_INTERVAL": "1.0",
        "LOG_LEVEL": "WARNING",
        "DEBUG": "1",
    }


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        stack.extend(children.get(p, []))
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=250)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--pool", default="prefork")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()

    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS clausewatch_bench WITH (FORCE)")
        conn.execute("CREATE DATABASE clausewatch_bench")
    db_url = "postgres://root@127.0.0.1:5432/clausewatch_bench"
    redis_url = "redis://127.0.0.1:6379/7"
    run_env = env(db_url, redis_url)
    os.environ.update(run_env)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"], cwd=REPO, env=run_env, check=True
    )
    import redis

    redis.Redis.from_url(redis_url).flushdb()

    import django

    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    django.setup()
    from django.db.models import Count
    from django.utils import timezone

    from platforms.models import Document, Platform
    from snapshots.models import Check
    from snapshots.scheduling import checks_dispatch
    from snapshots.tasks import enqueue_check

    server = subprocess.Popen(
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
    print(server.stdout.readline().strip(), flush=True)
    platform = Platform.objects.create(
        name="Bench", slug="bench", homepage="https://bench.example/"
    )
    Document.objects.bulk_create(
        Document(
            platform=platform,
            kind="privacy_policy",
            title=f"Doc {i}",
            url=f"http://127.0.{(i % args.hosts) // 250}.{(i % args.hosts) % 250 + 1}:{args.port}/doc/{i}",
            check_interval=timedelta(hours=6),
        )
        for i in range(args.docs)
    )
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
            "--pool",
            args.pool,
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=REPO,
        env=run_env,
    )
    peak = [0.0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.5):
            peak[0] = max(peak[0], tree_rss_mb(worker.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    time.sleep(3)
    results = []
    try:
        for round_no, label in ((0, "first check"), (1, "unchanged"), (2, "changed")):
            urllib.request.urlopen(
                urllib.request.Request(
                    f"http://127.0.0.1:{args.port}/round/{round_no}", method="POST"
                ),
                timeout=5,
            ).read()
            before = Check.objects.count()
            Document.objects.update(next_check_at=timezone.now() - timedelta(seconds=1))
            started = time.monotonic()
            claimed = 0
            while claimed < args.docs:
                # The beat task's own dispatch: claims, then spreads each host's checks in time.
                claimed += checks_dispatch(now=timezone.now(), enqueue=enqueue_check, limit=1000)
            last_progress, last_done = time.monotonic(), 0
            while (done := Check.objects.count() - before) < args.docs:
                if done != last_done:
                    last_progress, last_done = time.monotonic(), done
                elif time.monotonic() - last_progress > 60:
                    # A lost delivery is re-dispatched when its claim's lease expires (15 min).
                    print(
                        f"  stalled: {args.docs - done} check(s) not done after 60 s without progress"
                    )
                    break
                time.sleep(0.2)
            elapsed = (last_progress if done < args.docs else time.monotonic()) - started
            outcomes = dict(Check.objects.order_by().values_list("outcome").annotate(n=Count("id")))
            results.append((label, done, elapsed, done / elapsed, peak[0]))
            print(
                f"{label:12} {done:6} checks in {elapsed:7.1f} s = {done / elapsed:6.1f} checks/s; "
                f"worker peak RSS {peak[0]:.0f} MB; outcomes so far {outcomes}",
                flush=True,
            )
    finally:
        stop.set()
        worker.terminate()
        worker.wait(30)
        server.terminate()
    print(f"\ndocs={args.docs} hosts={args.hosts} concurrency={args.concurrency} pool={args.pool}")
    for label, done, elapsed, rate, mem in results:
        print(f"| {label} | {done} | {elapsed:.1f} s | {rate:.1f} checks/s | {mem:.0f} MB |")


if __name__ == "__main__":
    main()
