"""Loopback servers and settings for the fetcher tests.

`RawServer` is for behaviour an HTTP framework will not produce on purpose:
dripping bytes, hanging, dropping, streaming more than it should.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from ipaddress import ip_network
from typing import Any

from pytest_httpserver import HTTPServer

from snapshots.fetch import AddressPolicy, FetchSettings, build_user_agent

LOOPBACK_ONLY = AddressPolicy(allowed_networks=(ip_network("127.0.0.1/32"),))
CONTACT_URL = "https://clausewatch.example/about#bot"


def fetch_settings(**overrides: Any) -> FetchSettings:
    """Settings that reach exactly 127.0.0.1 and give up quickly."""
    values: dict[str, Any] = {
        "user_agent": build_user_agent(CONTACT_URL),
        "accept_language": "en-GB,en;q=0.8",
        "connect_timeout": 1,
        "read_timeout": 1,
        "total_timeout": 5,
        "backoff_base": 0.01,
        "policy": LOOPBACK_ONLY,
    }
    return FetchSettings(**(values | overrides))


@contextmanager
def http_server() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    try:
        yield server
    finally:
        server.clear()
        server.stop()


type Handler = Callable[["RawServer", socket.socket], None]


class RawServer:
    """A threaded TCP server whose behaviour is a plain function of each accepted socket."""

    def __init__(self, handler: Handler, host: str = "127.0.0.1") -> None:
        self.handler = handler
        self.connections = 0
        self.stopped = threading.Event()
        self._listener = socket.create_server((host, 0))
        self._listener.settimeout(0.05)
        self.host, self.port = self._listener.getsockname()[:2]
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}:{self.port}{path}"

    def __enter__(self) -> RawServer:
        self._start_thread(self._accept_loop)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopped.set()
        with self._lock:
            for sock in self._sockets:
                with suppress(OSError):
                    sock.close()
        for thread in self._threads:
            thread.join(timeout=2)
        self._listener.close()

    def _start_thread(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self._sockets.append(conn)
            self._start_thread(self._serve, conn)

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        with suppress(OSError), conn:
            self.handler(self, conn)


def read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


@contextmanager
def unaccepting_port() -> Iterator[int]:
    """A port whose accept queue is full, so new connections hang in SYN_SENT.

    On Linux a listener with backlog 0 queues one connection and then drops further
    SYNs, which is the only way to get a genuine connect timeout on loopback.
    """
    listener = socket.create_server(("127.0.0.1", 0), backlog=0)
    port = listener.getsockname()[1]
    fillers: list[socket.socket] = []
    try:
        for _ in range(8):
            filler = socket.socket()
            filler.settimeout(0.1)
            fillers.append(filler)
            try:
                filler.connect(("127.0.0.1", port))
            except TimeoutError:
                break
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()
