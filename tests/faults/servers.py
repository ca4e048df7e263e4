"""A loopback site of tracked pages whose answers the test controls: a page can stall until
the test releases it, and every page can be slowed down."""

from __future__ import annotations

import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def page_html(title: str, body: str) -> bytes:
    return (
        f"<!doctype html><html><head><title>{title}</title></head><body><main>"
        f"<h1>{title}</h1><p>{body}</p></main></body></html>"
    ).encode()


class PageSite:
    def __init__(self, *, delay: float = 0.0) -> None:
        self.delay = delay
        self.pages: dict[str, bytes] = {}
        self.stalls: dict[str, threading.Event] = {}
        self.hits: Counter[str] = Counter()
        self.stalled: Counter[str] = Counter()  # requests now waiting in a stall
        self._lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site._serve(self)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def add(self, path: str, title: str, body: str) -> str:
        self.pages[path] = page_html(title, body)
        return self.url(path)

    def stall(self, path: str) -> threading.Event:
        """Requests for `path` wait until the returned event is set."""
        self.stalls[path] = threading.Event()
        return self.stalls[path]

    def release_all(self) -> None:
        for event in self.stalls.values():
            event.set()

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        path = request.path
        with self._lock:
            self.hits[path] += 1
        event = self.stalls.get(path)
        if event is not None and not event.is_set():
            with self._lock:
                self.stalled[path] += 1
            event.wait(60)
            with self._lock:
                self.stalled[path] -= 1
        if self.delay:
            time.sleep(self.delay)
        body = self.pages.get(path)
        try:
            if body is None:
                request.send_error(404)
                return
            request.send_response(200)
            request.send_header("Content-Type", "text/html; charset=utf-8")
            request.send_header("Content-Length", str(len(body)))
            request.end_headers()
            request.wfile.write(body)
        except OSError:
            pass  # the client was killed while we kept it waiting

    def __enter__(self) -> PageSite:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.release_all()
        self._server.shutdown()
        self._server.server_close()
