"""Browser fetcher throughput and memory on a local JavaScript page.

Run from the repo root: `.venv/bin/python bench/browser.py [--fetches N]`.
Serves a single-page-app terms page on loopback (an HTML shell whose script fetches the
text as JSON and renders it, ~40 KB of text), then fetches it N times, one after the
other, with one `BrowserFetcher` (one Chromium, a new context per fetch), as a worker does.
Prints fetches per second, latency, and the memory of the worker: RSS of the Python
process, of the Playwright driver and of the Chromium processes (from /proc), plus their
PSS (RSS double-counts the pages Chromium's processes share).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_network
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from snapshots.browser import BrowserFetcher, BrowserSettings, process_tree
from snapshots.extract import ExtractRules, extract
from snapshots.net_guard import AddressPolicy

SHELL = b"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>Example Music Terms</title>
<style>body{font-family:sans-serif}</style></head>
<body><header><nav><a href="/">Home</a> <a href="/help">Help</a></nav></header>
<div id="app"><p class="spinner">Loading...</p></div>
<script>
fetch("/api/terms.json").then(r => r.json()).then(doc => {
  const main = document.createElement("main");
  main.id = "terms";
  main.innerHTML = "<h1>" + doc.title + "</h1>" + doc.sections.map(s =>
    "<h2>" + s.heading + "</h2>" + s.paragraphs.map(p => "<p>" + p + "</p>").join("")).join("");
  document.getElementById("app").replaceWith(main);
});
</script></body></html>"""


def terms_json() -> bytes:
    sentence = (
        "You keep ownership of the recordings you upload, and you grant us a licence to host, "
        "stream and promote them, which ends when you delete them. "
    )
    sections = [
        {"heading": f"Section {i}", "paragraphs": [sentence * 3 for _ in range(4)]}
        for i in range(1, 31)
    ]
    return json.dumps({"title": "Example Music Terms of Use", "sections": sections}).encode()


class Handler(BaseHTTPRequestHandler):
    api = terms_json()

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        body, kind = (
            (self.api, "application/json")
            if self.path.startswith("/api/")
            else (
                SHELL,
                "text/html; charset=utf-8",
            )
        )
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def memory(pids: list[int]) -> tuple[int, int]:
    """RSS and PSS in bytes, summed over `pids`."""
    rss = pss = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1]) * 1024
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1]) * 1024
        except OSError:
            continue  # a renderer that just exited
    return rss, pss


def mb(n: int) -> str:
    return f"{n / 2**20:.0f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fetches", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/terms"
    settings = BrowserSettings(
        user_agent="Clausewatch/0.1 (+bench)",
        accept_language="en-US,en;q=0.8",
        total_timeout=30,
        policy=AddressPolicy(allowed_networks=(ip_network("127.0.0.1/32"),)),
    )
    fetcher = BrowserFetcher()
    started = time.monotonic()
    for _ in range(args.warmup):
        result = fetcher.fetch(url, settings=settings, wait_for="main#terms")
    launch_and_warmup = time.monotonic() - started
    text = extract(result.body, content_type="text/html; charset=utf-8", rules=ExtractRules())
    assert text.startswith("# Example Music Terms of Use"), text[:200]

    latencies = []
    peak_rss = peak_pss = 0
    started = time.monotonic()
    cpu_started = time.process_time()
    for _ in range(args.fetches):
        t0 = time.monotonic()
        fetcher.fetch(url, settings=settings, wait_for="main#terms")
        latencies.append(time.monotonic() - t0)
        rss, pss = memory(process_tree(os.getpid()))  # python, driver and chromium
        peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
    elapsed = time.monotonic() - started
    python_cpu = time.process_time() - cpu_started

    python = memory([os.getpid()])
    driver_and_chromium = fetcher.process_ids()
    chromium = [p for p in driver_and_chromium if p != driver_and_chromium[0]]
    driver = memory(driver_and_chromium[:1])
    browser = memory(chromium)
    fetcher.close()
    server.shutdown()

    latencies.sort()
    print(
        f"page: {len(SHELL)} B shell + {len(Handler.api) // 1024} KB JSON, "
        f"{len(result.body) // 1024} KB rendered DOM, {len(text.split())} words extracted"
    )
    print(f"launch + {args.warmup} warm-up fetches: {launch_and_warmup:.2f} s")
    print(
        f"{args.fetches} sequential fetches (wait for selector): {elapsed:.2f} s "
        f"= {args.fetches / elapsed:.2f} fetches/s per worker"
    )
    print(
        f"latency: median {statistics.median(latencies) * 1000:.0f} ms, "
        f"p95 {latencies[int(len(latencies) * 0.95) - 1] * 1000:.0f} ms, "
        f"max {latencies[-1] * 1000:.0f} ms; Python CPU {python_cpu / args.fetches * 1000:.0f} ms/fetch"
    )
    print(
        f"memory after the run, RSS (PSS): python {mb(python[0])} ({mb(python[1])}), "
        f"driver {mb(driver[0])} ({mb(driver[1])}), "
        f"chromium x{len(chromium)} {mb(browser[0])} ({mb(browser[1])})"
    )
    total = (python[0] + driver[0] + browser[0], python[1] + driver[1] + browser[1])
    print(
        f"worker total: RSS {mb(total[0])}, PSS {mb(total[1])}; "
        f"peak during the run: RSS {mb(peak_rss)}, PSS {mb(peak_pss)}"
    )


if __name__ == "__main__":
    main()
