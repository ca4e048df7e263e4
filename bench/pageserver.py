"""A fast loopback page server for benchmarks: many 127.x addresses, noisy ~100 KB pages.

Run as a separate process: python bench/pageserver.py --hosts 250 --port 8765 --docs 1000
GET /doc/<i> serves document i's page for the current round; POST /round/<n> switches rounds:
  0, 1  the document's text in a fresh variant of noisy HTML (rotating tokens, timestamps),
        so raw bodies differ on every request as dynamic pages do;
  2     the same, with a clause of its own inserted mid-document (a realistic edit; every
        fourth one is about AI training);
  3, 4  round 2's text as a static page: the same bytes on every request.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.corpus import versions
from tests.pages import wrap_in_noisy_html

VARIANTS = 4  # noise variants per text: one for each round up to the first static one
CLAUSE_FROM = 2  # rounds from this one insert each document's clause
STATIC_FROM = 3  # rounds from this one serve the same bytes on every request


def round_content(round_no: int) -> tuple[str, str]:
    """What a round serves, as (text, bytes) labels: two rounds serve the same text exactly
    when their text labels are equal, and the same bytes when their bytes labels are."""
    text = "with clause" if round_no >= CLAUSE_FROM else "plain"
    body = "static" if round_no >= STATIC_FROM else f"noise variant {round_no}"
    return text, body


def build_pages(target_bytes: int, limit: int | None = None) -> list[list[bytes]]:
    """Distinct corpus texts (the first `limit` of them), each padded to about target_bytes
    and wrapped in noise variants."""
    texts = []
    seen = set()
    for v in versions():
        text = v.text()
        if text not in seen:
            seen.add(text)
            texts.append(text)
        if limit is not None and len(texts) == limit:
            break
    pages = []
    for i, text in enumerate(texts):
        # Pad the text itself (not each page) to the target size, so every noise variant of
        # one text extracts to the same text.
        padded = text
        while len(padded) < target_bytes * 0.8:
            padded += "\n\n" + text[: int(target_bytes * 0.8) - len(padded)].rsplit("\n", 1)[0]
        variants = [
            wrap_in_noisy_html(padded, seed=i * 100 + seed).encode() for seed in range(VARIANTS)
        ]
        pages.append(variants)
    return pages


def edit_point(page: bytes, paragraph: int) -> int:
    """Where a clause goes: after the given paragraph (the same one in every noise variant)."""
    at = -1
    for _ in range(paragraph + 1):
        at = page.index(b"</p>", at + 1)
    return at + len(b"</p>")


def clause(doc: int) -> bytes:
    if doc % 4 == 0:
        return (
            f"<p>We may use the content you upload to train and improve our artificial "
            f"intelligence and machine learning models (section {doc}).</p>"
        ).encode()
    return f"<p>Notices under section {doc} are sent to the email address on file.</p>".encode()


class Server:
    def __init__(self, pages: list[list[bytes]]) -> None:
        self.pages = pages
        # After the middle paragraph of the text (counted in variant 0; noise adds none).
        self.points = [
            [edit_point(variant, variants[0].count(b"</p>") // 2) for variant in variants]
            for variants in pages
        ]
        self.round = 0

    def body_for(self, doc: int) -> bytes:
        text_index = doc % len(self.pages)
        # Each round up to the first static one serves a document a variant of its own (so a
        # static round's bytes are never round 2's, which has the same text); static rounds
        # always the same one.
        variant = (doc + min(self.round, STATIC_FROM)) % VARIANTS
        page = self.pages[text_index][variant]
        if self.round < CLAUSE_FROM:
            return page
        point = self.points[text_index][variant]
        return page[:point] + clause(doc) + page[point:]

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                method, path, _ = head.split(b"\r\n", 1)[0].split(b" ", 2)
                if method == b"POST" and path.startswith(b"/round/"):
                    self.round = int(path.rsplit(b"/", 1)[1])
                    body, ctype = b"ok", b"text/plain"
                elif path.startswith(b"/doc/"):
                    body, ctype = (
                        self.body_for(int(path.rsplit(b"/", 1)[1])),
                        b"text/html; charset=utf-8",
                    )
                else:
                    body, ctype = b"ok", b"text/plain"
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: "
                    + ctype
                    + b"\r\nContent-Length: "
                    + str(len(body)).encode()
                    + b"\r\n\r\n"
                    + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=250)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--bytes", type=int, default=100_000)
    args = parser.parse_args()
    server = Server(build_pages(args.bytes))
    hosts = [f"127.0.{h // 250}.{h % 250 + 1}" for h in range(args.hosts)]
    srv = await asyncio.start_server(server.handle, host=hosts, port=args.port, backlog=1024)
    print(
        f"serving {len(server.pages)} texts on {len(hosts)} addresses, port {args.port}", flush=True
    )
    async with srv:
        await srv.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
