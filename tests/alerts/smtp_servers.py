"""SMTP servers on loopback for the alerts tests and benchmark.

`SMTPSink` is a real server (aiosmtpd) that keeps every message it accepts.
`ScriptedSMTPServer` is a raw-socket server for what a real server does not do on purpose:
refuse with a given code, never answer, or drop the connection in the middle of a message.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
import time
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def smtp_mailers(port: int, *, timeout: float = 2.0) -> dict:
    """A MAILERS setting whose default mailer is Django's SMTP backend on this port."""
    return {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": timeout},
        }
    }


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)


class _SinkHandler:
    def __init__(self, sink: SMTPSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server, session, envelope):
        # Like a real MTA: the message is queued once its final "." arrives, whatever happens
        # to the connection before the reply goes out.
        self.sink._add(
            Received(envelope.mail_from, tuple(envelope.rcpt_tos), bytes(envelope.original_content))
        )
        if self.sink.delay:
            await asyncio.sleep(self.sink.delay)
        return "250 OK"


class SMTPSink:
    """aiosmtpd on 127.0.0.1, in a thread; `messages` in the order they were accepted."""

    def __init__(
        self, *, delay: float = 0.0, port: int | None = None, handler: type | None = None
    ) -> None:
        self.delay = delay
        self.port = port or free_port()
        self.messages: list[Received] = []
        self._lock = threading.Lock()
        self._controller = Controller(
            (handler or _SinkHandler)(self),
            hostname="127.0.0.1",
            port=self.port,
            data_size_limit=50 * 1024 * 1024,
            decode_data=False,
        )

    def _add(self, received: Received) -> None:
        with self._lock:
            self.messages.append(received)

    def __enter__(self) -> SMTPSink:
        self._controller.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._controller.stop()

    def recipients(self) -> Counter[str]:
        with self._lock:
            return Counter(r for m in self.messages for r in m.rcpt_tos)

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.messages) >= count:
                return True
            time.sleep(0.02)
        return len(self.messages) >= count


class ScriptedSMTPServer:
    """A minimal SMTP server, one thread per connection, that misbehaves as told.

    behaviour:
      "ok"              accept everything
      "refuse_rcpt"     550 to RCPT TO (permanent)
      "tempfail_rcpt"   451 to RCPT TO (transient)
      "tempfail_data"   451 after the end of the message
      "hang_at_end"     never answer the end of the message (the client times out)
      "drop_mid_data"   close the connection after part of the message
    `fail_times`: misbehave only for the first N messages, then accept (retries).
    """

    def __init__(self, behaviour: str = "ok", *, fail_times: int | None = None) -> None:
        self.behaviour = behaviour
        self.fail_times = fail_times
        self.connections = 0
        self.accepted: list[bytes] = []
        self.rcpt_tos: list[str] = []
        self._attempts = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> ScriptedSMTPServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _misbehaving(self) -> bool:
        with self._lock:
            self._attempts += 1
            return self.fail_times is None or self._attempts <= self.fail_times

    def _session(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        reader = conn.makefile("rb")

        def reply(line: str) -> None:
            conn.sendall(line.encode() + b"\r\n")

        try:
            reply("220 scripted.test ESMTP")
            bad = False
            rcpts: list[str] = []
            while not self._stop.is_set():
                line = reader.readline()
                if not line:
                    return
                command = line.decode("ascii", "replace").strip()
                verb = command.split(" ", 1)[0].upper()
                if verb in ("EHLO", "HELO"):
                    reply("250-scripted.test\r\n250 8BITMIME" if verb == "EHLO" else "250 hi")
                elif verb == "MAIL":
                    bad = self.behaviour != "ok" and self._misbehaving()
                    rcpts = []
                    reply("250 OK")
                elif verb == "RCPT":
                    if bad and self.behaviour == "refuse_rcpt":
                        reply("550 5.1.1 No such user here")
                    elif bad and self.behaviour == "tempfail_rcpt":
                        reply("451 4.3.0 Try again later")
                    else:
                        rcpts.append(command.split(":", 1)[1].strip().strip("<>"))
                        reply("250 OK")
                elif verb == "DATA":
                    reply("354 End data with <CR><LF>.<CR><LF>")
                    body = bytearray()
                    while True:
                        chunk = reader.readline()
                        if not chunk:
                            return  # the client went away mid-message: nothing delivered
                        if chunk == b".\r\n":
                            break
                        body += chunk
                        if bad and self.behaviour == "drop_mid_data" and len(body) > 200:
                            return
                    if bad and self.behaviour == "tempfail_data":
                        reply("451 4.3.0 Queue full, try later")
                    elif bad and self.behaviour == "hang_at_end":
                        self._stop.wait(30)
                        return
                    else:
                        with self._lock:
                            self.accepted.append(bytes(body))
                            self.rcpt_tos.extend(rcpts)
                        reply("250 OK queued")
                elif verb == "RSET" or verb == "NOOP":
                    reply("250 OK")
                elif verb == "QUIT":
                    reply("221 Bye")
                    return
                else:
                    reply("502 Command not implemented")
        except OSError:
            return
        finally:
            with suppress(OSError):
                reader.close()
                conn.close()


def main() -> None:
    """`python -m tests.alerts.smtp_servers PORT`: a sink in its own process (benchmark) that
    prints one line per accepted message: its size in bytes, then its recipients."""
    import signal
    import sys

    class _Printer(_SinkHandler):
        async def handle_DATA(self, server, session, envelope):
            sys.stdout.write(f"{len(envelope.original_content)} {' '.join(envelope.rcpt_tos)}\n")
            sys.stdout.flush()
            return "250 OK"

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with SMTPSink(port=int(sys.argv[1]), handler=_Printer):
        sys.stdout.write(f"READY {sys.argv[1]}\n")
        sys.stdout.flush()
        threading.Event().wait()


if __name__ == "__main__":
    main()
