"""Send a batch of messages over one connection of a Django mailer, each delivered once.

The hard case is a worker killed mid-batch: there is always a moment when the SMTP server
has the message and our database does not know yet (or the other way round). We shrink it
to the gap between two system calls. For each message we send the envelope and the whole
body, then, inside a database transaction, mark the delivery sent (a conditional UPDATE
that also checks the claim and that the subscriber is still subscribed), send the final
"." that makes the server accept the message, and commit. Killed before the "." went out:
the transaction is rolled back, the server drops the unfinished message when the connection
dies, and the delivery is sent again later. Killed after the COMMIT went out: both the
server and the database have it. Only a kill between the "." and the COMMIT writes, with
no I/O wait between them, could send a duplicate. If the UPDATE matches nothing (the
subscriber left, or another worker took the claim over), we close the connection without
the "." so nothing is delivered.

The SMTP path uses the mailer Django builds from settings.MAILERS (host, port, TLS, login,
timeout) and its open connection; other backends (console, file, locmem in tests) get
`send_messages([message])` inside the same transaction.
"""

from __future__ import annotations

import binascii
import email.policy
import logging
import re
import smtplib
import socket
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage, mailers
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend

from alerts.emails import Recipient

logger = logging.getLogger(__name__)

_DOT_LINE = re.compile(rb"(?m)^\.")

# Django's SMTP backend generates with email.policy.SMTP, which folds headers at 78 columns
# and turns a long unbreakable value such as the List-Unsubscribe URL into RFC 2047 encoded
# words, which mail providers do not decode there (RFC 8058 one-click then silently fails).
# We keep Django's body encoding and generate headers up to RFC 5322's hard 998 limit.
BODY_POLICY = email.policy.SMTP
WIRE_POLICY = email.policy.SMTP.clone(max_line_length=998)

# Addresses that go into a header and the envelope exactly as written.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_PLACEHOLDER = Recipient(
    email="cw-recipient@placeholder.invalid",
    manage_url="CWPLACEHOLDERMANAGEURL",
    unsubscribe_url="CWPLACEHOLDERUNSUBSCRIBEURL",
    message_id="CWPLACEHOLDERMESSAGEID",
)
_FIELDS = ("email", "manage_url", "unsubscribe_url", "message_id")


class Mailing:
    """One email for many subscribers, who differ only in To, Message-ID and signed links.

    `build(recipient)` makes the message through emails.make_message. Generating MIME is
    most of the cost of an email (~15 ms for a 35 kB diff, in pure Python), so for a batch
    the message is generated once, with placeholders, and encoded once: headers and every
    line of the text parts that holds no placeholder are kept as encoded bytes, and only
    the few lines with a recipient's values are encoded for each recipient (quoted-printable
    and dot-stuffing both work line by line, so the pieces join up to exactly the whole).
    Anything the prototype cannot represent exactly (an address that needs encoding, parts
    that are not text) is generated in full, as Django would.
    """

    def __init__(self, build: Callable[[Recipient], EmailMessage]) -> None:
        self.build = build
        self._prototype: _Prototype | None = None
        self._prototype_tried = False

    def message(self, recipient: Recipient) -> EmailMessage:
        return self.build(recipient)

    def data(self, recipient: Recipient) -> bytes:
        """The message as the SMTP DATA payload: CRLF lines, dot-stuffed, without the final "."."""
        if _PLAIN_ADDRESS.fullmatch(recipient.email) and all(
            _safe_value(getattr(recipient, f)) for f in _FIELDS
        ):
            if not self._prototype_tried:
                self._prototype_tried = True
                self._prototype = _Prototype.of(self.build(_PLACEHOLDER))
            if self._prototype is not None:
                return self._prototype.render(recipient)
        message = self.build(recipient).message(policy=BODY_POLICY)
        return _dot_stuffed(message.as_bytes(policy=WIRE_POLICY))


def _safe_value(value: str) -> bool:
    return value.isascii() and value.isprintable() and not any(c in value for c in "<>\"'&")


def _dot_stuffed(data: bytes) -> bytes:
    # RFC 5321 4.5.2: a line that starts with "." gets another one.
    data = _DOT_LINE.sub(b"..", data)
    return data if data.endswith(b"\r\n") else data + b"\r\n"


def _quoted_printable(lines: Sequence[bytes]) -> bytes:
    """Text lines (as email.contentmanager splits them) → QP with CRLF, dot-stuffed."""
    data = b"\r\n".join(lines) + b"\r\n"
    return _dot_stuffed(binascii.b2a_qp(data, quotetabs=False, istext=True, header=False))


@dataclass(frozen=True)
class _Prototype:
    # Encoded bytes, or a line (str) that holds placeholders and is encoded per recipient.
    pieces: tuple[bytes | str, ...]

    @classmethod
    def of(cls, message: EmailMessage) -> _Prototype | None:
        mime = message.message(policy=BODY_POLICY)
        leaves = [part for part in mime.walk() if not part.is_multipart()]
        if any(part.get_content_maintype() != "text" for part in leaves):
            return None
        texts = [part.get_content() for part in leaves]
        markers = [f"CWPARTMARKER{i}X" for i in range(len(leaves))]
        for part, marker in zip(leaves, markers, strict=True):
            part.set_payload(marker)
            del part["Content-Transfer-Encoding"]
            part["Content-Transfer-Encoding"] = "quoted-printable"
        rest = mime.as_bytes(policy=WIRE_POLICY)
        frames = []
        for marker in markers:
            before, found, rest = rest.partition(marker.encode())
            if not found:
                return None
            frames.append(before)
        frames.append(rest)
        # Every placeholder in a header must have come through unfolded and unencoded.
        headers = "\n".join([*message.to, *map(str, message.extra_headers.values())])
        placeholders = [getattr(_PLACEHOLDER, name) for name in _FIELDS]
        for placeholder in placeholders:
            if frames[0].count(placeholder.encode()) != headers.count(placeholder):
                return None
            if any(placeholder.encode() in frame for frame in frames[1:]):
                return None
        # Frames (headers, boundaries) start at the start of a line: each text part ends
        # with CRLF. So they, and each encoded run of lines, are dot-stuffed on their own.
        pieces: list[bytes | str] = [_DOT_LINE.sub(b"..", frames[0])]
        for text, frame in zip(texts, frames[1:], strict=True):
            static: list[bytes] = []
            for line in text.encode("utf-8").splitlines():
                if any(p.encode() in line for p in placeholders):
                    if static:
                        pieces.append(_quoted_printable(static))
                        static = []
                    pieces.append(line.decode("utf-8"))
                else:
                    static.append(line)
            if static:
                pieces.append(_quoted_printable(static))
            pieces.append(_DOT_LINE.sub(b"..", frame))
        return cls(pieces=tuple(pieces))

    def render(self, recipient: Recipient) -> bytes:
        values = [(getattr(_PLACEHOLDER, f), getattr(recipient, f)) for f in _FIELDS]
        head = self.pieces[0]
        for placeholder, value in values:
            head = head.replace(placeholder.encode(), value.encode())
        out = [head]
        for piece in self.pieces[1:]:
            if isinstance(piece, str):
                for placeholder, value in values:
                    piece = piece.replace(placeholder, value)
                out.append(_quoted_printable([piece.encode("utf-8")]))
            else:
                out.append(piece)
        return b"".join(out)


# Opens a transaction that marks the delivery sent; yields whether the message may go.
type Commit = Callable[[], AbstractContextManager[bool]]


class SendError(Exception):
    """A message was not accepted. `permanent`: do not retry (5xx, invalid address)."""

    def __init__(self, reason: str, *, permanent: bool, connection: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent
        # The connection could not be opened at all: the rest of the batch will fail too.
        self.connection = connection


def _reply_error(stage: str, code: int, reply: bytes | str) -> SendError:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return SendError(f"{stage}: {code} {text}".strip(), permanent=500 <= code < 600)


def is_permanent(exc: BaseException) -> bool:
    """Whether an exception from Django's SMTP backend means "do not try again" (5xx)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return bool(codes) and all(500 <= code < 600 for code in codes)
    if isinstance(exc, smtplib.SMTPResponseException):
        return 500 <= exc.smtp_code < 600
    return isinstance(exc, ValueError)  # an address Django refuses to send to


def send_now(message: EmailMessage, *, alias: str, what: str) -> bool:
    """Send one message through Django's mailer `alias`. A permanent refusal (5xx) is logged
    and dropped; anything else is raised, for the calling task to retry."""
    try:
        message.send(using=alias)
    except (smtplib.SMTPException, ValueError) as exc:
        if not is_permanent(exc):
            raise
        logger.warning("%s refused for good: %s", what, exc)
        return False
    return True


class MailBatch:
    """One mailer connection for a batch: `with MailBatch(alias) as batch: batch.send(...)`."""

    def __init__(self, alias: str) -> None:
        self.backend = mailers[alias]
        self.is_smtp = isinstance(self.backend, SMTPBackend)
        self.sent = 0
        self._sender: str | None = None

    def __enter__(self) -> MailBatch:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.backend.close()
        except (OSError, smtplib.SMTPException):
            self._drop()

    def _drop(self) -> None:
        """Close the socket without QUIT (mid-DATA, a QUIT would be message text)."""
        conn = getattr(self.backend, "connection", None)
        if conn is not None:
            with suppress(OSError):
                conn.close()
            self.backend.connection = None

    def send(self, mailing: Mailing, recipient: Recipient, *, commit: Commit) -> bool:
        """Send one message. `commit()` opens the transaction that marks it sent and yields
        whether it still may be sent; the message is released inside it.

        True: accepted by the server. False: commit() refused, nothing was delivered.
        Raises SendError when the server or the network refused it; if the transaction
        had committed, the caller must undo it.
        """
        if not self.is_smtp:
            message = mailing.message(recipient)
            try:
                with commit() as may_send:
                    if not may_send:
                        return False
                    self.backend.send_messages([message])
            except Exception as exc:
                raise SendError(f"{type(exc).__name__}: {exc}", permanent=False) from exc
            self.sent += 1
            return True
        try:
            return self._send_smtp(mailing, recipient, commit)
        except SendError:
            raise
        except smtplib.SMTPResponseException as exc:
            self._drop()
            raise _reply_error("smtp", exc.smtp_code, exc.smtp_error) from exc
        except (smtplib.SMTPException, OSError) as exc:
            # Timeouts, refused or dropped connections: transient.
            self._drop()
            raise SendError(f"{type(exc).__name__}: {exc}", permanent=False) from exc

    def _open(self):
        backend = self.backend
        if backend.connection is None:
            try:
                backend.open()
            except (smtplib.SMTPException, OSError) as exc:
                backend.connection = None
                raise SendError(
                    f"connect: {type(exc).__name__}: {exc}",
                    permanent=False,
                    connection=True,
                ) from exc
            # The body and the final "." are two writes before a read: with Nagle's
            # algorithm the "." waits for the server's delayed ACK (~40 ms per message).
            with suppress(OSError, AttributeError):
                backend.connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return backend.connection

    def _address(self, address: str) -> str:
        if _PLAIN_ADDRESS.fullmatch(address):
            return address
        try:
            return self.backend.prep_address(address)
        except ValueError as exc:
            raise SendError(str(exc), permanent=True) from exc

    def _send_smtp(self, mailing: Mailing, recipient: Recipient, commit: Commit) -> bool:
        if self._sender is None:
            self._sender = self._address(settings.DEFAULT_FROM_EMAIL)
        rcpt = self._address(recipient.email)
        conn = self._open()
        conn.ehlo_or_helo_if_needed()
        data = mailing.data(recipient)
        options = []
        if conn.does_esmtp and conn.has_extn("size"):
            options.append(f"size={len(data)}")
        if not data.isascii() and conn.has_extn("8bitmime"):
            options.append("BODY=8BITMIME")  # Django's own encoding may leave 8-bit parts

        # docmd rather than mail()/rcpt(): both addresses are already plain addr-specs, and
        # smtplib would parse them again for every message.
        code, reply = conn.docmd(
            "mail", f"FROM:<{self._sender}>{''.join(' ' + o for o in options)}"
        )
        if code != 250:
            self._after_refusal(conn, code)
            raise _reply_error("MAIL FROM", code, reply)
        code, reply = conn.docmd("rcpt", f"TO:<{rcpt}>")
        if code not in (250, 251):
            self._after_refusal(conn, code)
            raise _reply_error(f"RCPT TO {rcpt}", code, reply)
        code, reply = conn.docmd("data")
        if code != 354:
            self._after_refusal(conn, code)
            raise _reply_error("DATA", code, reply)
        conn.send(data)
        try:
            with commit() as may_send:
                if not may_send:
                    self._drop()
                    return False
                conn.send(b".\r\n")
        except BaseException:
            self._drop()  # mid-DATA: the message must not be finished by anything we send next
            raise
        code, reply = conn.getreply()
        if code != 250:
            if code == 421:
                self._drop()
            raise _reply_error("end of data", code, reply)
        self.sent += 1
        return True

    def _after_refusal(self, conn: smtplib.SMTP, code: int) -> None:
        if code == 421:  # the server is closing the connection
            self._drop()
            return
        try:
            conn.rset()
        except (TimeoutError, smtplib.SMTPException, OSError):
            self._drop()
