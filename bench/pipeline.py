"""Pipeline throughput: N documents of ~100 KB checked end to end by a Celery worker.

    python3 -m uv run python bench/pipeline.py --docs 1000
    python3 -m uv run python bench/pipeline.py --docs 10000

Uses PostgreSQL (database clausewatch_bench, recreated) and Redis (db 7), a loopback page
server spread over many 127.x addresses (per-host politeness applies as in production), and
`celery -A config worker` as a subprocess. Rounds (bench/pageserver.py): first check
(baseline versions), unchanged dynamic pages (new noise, same text), changed pages (a clause
inserted in every document), then static pages: a first pass (new bytes, same text) and
unchanged static pages (the same bytes again); by default the unchanged rounds are repeated
and their medians printed too, as this kind of machine's speed varies from run to run.
A round is labelled by what changed since the round before: the text, only the bytes, or
nothing. Prints checks per second per round, the CPU each process group and the whole machine
spent per check, the worker's peak memory (all its processes), and a speed probe taken before
and after the rounds (this VM's speed drifts; see speed_probe).
"""

from __future__ import annotations

import argparse
import os
import statistics
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
        # Production mode: DEBUG would keep every SQL statement in memory and slow each one.
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-secret-key-not-for-production-use-0123456789",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
    }


def _stat_fields(pid: int | str) -> list[str]:
    # Fields after the command name, which may itself contain spaces and parentheses.
    return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()


def tree_pids(pid: int) -> list[int]:
    """A process and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int(_stat_fields(entry.name)[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, stack = [], [pid]
    while stack:
        p = stack.pop()
        found.append(p)
        stack.extend(children.get(p, []))
    return found


def cpu_by_pid(pids: list[int]) -> dict[int, float]:
    """User + system CPU time consumed so far by each of these processes (live ones only)."""
    used = {}
    for p in pids:
        try:
            fields = _stat_fields(p)
        except OSError:
            continue
        used[p] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
    return used


def cpu_spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU used between two readings by the processes alive at the second one.

    A process that ended in between (a database connection replaced, say) is left out
    rather than counted negative; the whole-machine figure includes it.
    """
    return sum(used - before.get(pid, 0.0) for pid, used in after.items())


def machine_busy_seconds() -> float:
    """CPU time the whole machine spent busy (all cores, every process, the kernel)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def named_pids(name: str) -> list[int]:
    """Every process whose command name is `name` (e.g. the PostgreSQL backends)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def queued(broker) -> int:
    """Messages waiting in the default queue: kombu keeps one Redis list per priority step."""
    return sum(broker.llen(key) for key in ["celery", *(f"celery\x06\x16{p}" for p in (3, 6, 9))])


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, from /proc."""
    total = 0
    for p in tree_pids(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def speed_probe(pages: int = 20) -> float:
    """CPU ms per page of a fixed piece of every unchanged dynamic check: extracting a bench
    page up to its known converter-input key (parse, clean, canonical form, hash).

    This VM's speed drifts by up to about half within an hour; the probe, run before and
    after the rounds, tells which speed a run's figures were taken at.
    """
    from bench.pageserver import build_pages
    from snapshots.extract import ExtractRules, extract_page

    rules = ExtractRules()
    bodies = [variants[1] for variants in build_pages(100_000, limit=pages)]

    def extracted(body: bytes, known: str = ""):
        return extract_page(
            body,
            content_type="text/html; charset=utf-8",
            rules=rules,
            base_url="http://127.0.0.1/",
            known_fragment=known,
        )

    keyed = [(body, extracted(body).fragment_key) for body in bodies]
    best = float("inf")
    for _ in range(5):
        started = time.process_time()
        for body, key in keyed:
            if extracted(body, key).text is not None:
                raise RuntimeError("the probe's page did not stop at its known key")
        best = min(best, (time.process_time() - started) * 1000 / len(keyed))
    return best


def checked_rounds(spec: str) -> list[int]:
    """The --rounds list of page server rounds (0-4), or a clear error."""
    try:
        rounds = [int(part) for part in spec.split(",")]
    except ValueError:
        raise SystemExit(f"--rounds: {spec!r} is not a comma-separated list of 0-4") from None
    if any(r not in range(5) for r in rounds):
        raise SystemExit(f"--rounds: {spec!r} has a round outside 0-4")
    return rounds


def round_label(earlier: list[int], current: int) -> str:
    """What a round measures, from what changed since the round before: the round number
    alone does not say (round 1 twice in a row serves the same bytes twice; round 0 after
    round 2 takes the clause out again, a text the tracker has seen: a flip-flop)."""
    from bench.pageserver import STATIC_FROM, round_content

    if not earlier:
        return "first check"
    (text, body), (text_before, body_before) = round_content(current), round_content(earlier[-1])
    if text != text_before:
        seen = any(round_content(r)[0] == text for r in earlier)
        return "changed back" if seen else "changed"
    if body == body_before:
        return "unchanged, static"
    if current >= STATIC_FROM:
        return "static, first pass"  # the text of the round before, now as a static page
    return "unchanged, dynamic"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=250)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--pool", default="prefork")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--dispatch-batch",
        type=int,
        default=1000,
        help="documents claimed (and spread by host) per dispatch; all are dispatched at once",
    )
    parser.add_argument(
        "--rounds",
        default="0,1,0,1,2,3,4,4,4,4,4",
        help="which rounds to run, in order (see bench/pageserver.py); repeats give medians",
    )
    args = parser.parse_args()
    rounds = checked_rounds(args.rounds)

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

    broker = redis.Redis.from_url(redis_url)
    broker.flushdb()

    import django

    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    django.setup()
    from django.db.models import Count
    from django.utils import timezone

    from platforms.models import Document, Platform
    from snapshots.models import Check
    from snapshots.scheduling import checks_dispatch
    from snapshots.tasks import check_document, checks_enqueuer

    probes = [speed_probe()]
    print(f"speed probe before the rounds: {probes[0]:.2f} ms per page", flush=True)

    def check_tasks_run() -> int:
        """Check tasks the worker has taken since it started (Celery's remote control)."""
        stats = check_document.app.control.inspect(timeout=5).stats() or {}
        return sum(s["total"].get(check_document.name, 0) for s in stats.values())

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
    banner = server.stdout.readline().strip()
    if not banner.startswith("serving"):
        # Most likely a page server left over from an earlier run holds the port.
        raise SystemExit(f"the page server did not start (port {args.port} in use?)")
    print(banner, flush=True)
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
    cores = os.cpu_count() or 1  # the capacity the whole-machine CPU per check leaves room for
    try:
        for index, round_no in enumerate(rounds):
            label = round_label(rounds[:index], round_no)
            urllib.request.urlopen(
                urllib.request.Request(
                    f"http://127.0.0.1:{args.port}/round/{round_no}", method="POST"
                ),
                timeout=5,
            ).read()
            before = Check.objects.count()
            tasks_before = check_tasks_run()
            Document.objects.update(next_check_at=timezone.now() - timedelta(seconds=1))
            groups = {
                "worker": lambda: tree_pids(worker.pid),
                "of which main": lambda: [worker.pid],
                "page server": lambda: [server.pid],
                "postgres": lambda: named_pids("postgres"),
                "redis": lambda: named_pids("redis-server"),
                "dispatcher": lambda: [os.getpid()],
            }
            cpu_before = {name: cpu_by_pid(pids()) for name, pids in groups.items()}
            busy_before = machine_busy_seconds()
            started = time.monotonic()
            claimed = 0
            while claimed < args.docs:
                # The beat task's own dispatch: claims, then enqueues with hosts taking turns.
                with checks_enqueuer() as enqueue:
                    claimed += checks_dispatch(
                        now=timezone.now(), enqueue=enqueue, limit=args.dispatch_batch
                    )
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
            # The round ends when follow-up tasks (alert fan-outs of new changes) are done too.
            while done >= args.docs and (queued(broker) or broker.hlen("unacked")):
                time.sleep(0.1)
            elapsed = (last_progress if done < args.docs else time.monotonic()) - started
            cpu_ms = {
                name: cpu_spent(cpu_before[name], cpu_by_pid(pids())) * 1000 / max(done, 1)
                for name, pids in groups.items()
            }
            outcomes = dict(Check.objects.order_by().values_list("outcome").annotate(n=Count("id")))
            main_ms = cpu_ms.pop("of which main")
            # Processes that ended during the round (a database connection replaced, say)
            # are missing from the groups; the machine's own count misses nothing.
            machine_ms = (machine_busy_seconds() - busy_before) * 1000 / max(done, 1)
            # Every check task the worker took that did not record a check was re-queued
            # because its host's next slot was further off than the throttle's patience.
            requeued = check_tasks_run() - tasks_before - done
            results.append((label, done, elapsed, done / elapsed, peak[0], machine_ms))
            print(
                f"{label:20} {done:6} checks in {elapsed:7.1f} s = {done / elapsed:6.1f} checks/s; "
                f"worker peak RSS {peak[0]:.0f} MB; outcomes so far {outcomes}; "
                f"re-queued for a busy host {requeued}\n"
                f"{'':20} CPU per check: "
                + ", ".join(f"{name} {ms:.1f} ms" for name, ms in cpu_ms.items())
                + f"; sum {sum(cpu_ms.values()):.1f} ms\n"
                f"{'':20} (the worker's main process {main_ms:.1f} ms of it); whole machine "
                f"{machine_ms:.1f} ms (= {cores * 1000 / max(machine_ms, 0.001):.0f} checks/s "
                f"on {cores} cores)",
                flush=True,
            )
    finally:
        stop.set()
        worker.terminate()
        worker.wait(30)
        server.terminate()
    probes.append(speed_probe())
    print(
        f"\ndocs={args.docs} hosts={args.hosts} concurrency={args.concurrency} pool={args.pool} "
        f"dispatch batch={args.dispatch_batch}; speed probe {probes[0]:.2f} ms per page before "
        f"the rounds, {probes[1]:.2f} after (bench/BENCHMARKS.md: about 2.0 at this VM's "
        "normal speed)"
    )
    for label, done, elapsed, rate, mem, cpu in results:
        print(
            f"| {label} | {done} | {elapsed:.1f} s | {rate:.1f} checks/s | {cpu:.1f} ms "
            f"| {mem:.0f} MB |"
        )
    # Repeated rounds: the median, as this kind of machine's speed varies from run to run.
    by_label: dict[str, list[tuple]] = {}
    for row in results:
        by_label.setdefault(row[0], []).append(row)
    print("\nmedian of repeated rounds (checks/s, whole-machine CPU per check):")
    for label, rows in by_label.items():
        rates = sorted(r[3] for r in rows)
        cpus = sorted(r[5] for r in rows)
        print(
            f"  {label:20} {statistics.median(rates):6.1f} checks/s "
            f"(range {rates[0]:.1f}-{rates[-1]:.1f}, {len(rows)} rounds), "
            f"{statistics.median(cpus):.1f} ms"
        )


if __name__ == "__main__":
    main()
