"""The prototype fast path gives the same email as Django generating it in full."""

from __future__ import annotations

import email
import email.policy
import re

import pytest

from alerts.emails import Recipient, change_alert_message, change_section
from alerts.transport import BODY_POLICY, WIRE_POLICY, Mailing
from tests.alerts.helpers import OLD, make_change

pytestmark = pytest.mark.django_db

LONG = "We may use your uploads to train AI models, " * 40  # one line of ~1,800 characters
AWKWARD = (
    OLD
    + "\n.A line that starts with a dot.\n"
    + "\nÉtat: «données» — 個人情報 and = signs = everywhere, trailing space \n"
    + f"\n{LONG}\n"
)


def _recipient(**overrides) -> Recipient:
    values = {
        "email": "artist@example.org",
        "manage_url": "https://clausewatch.test/alerts/manage/eyJzIjo1fQ:1x:abc-_/",
        "unsubscribe_url": "https://clausewatch.test/alerts/unsubscribe/eyJzIjo1fQ:1x:def-_/",
        "message_id": "alert.42",
    }
    return Recipient(**(values | overrides))


def _mailing() -> Mailing:
    section = change_section(make_change(new_text=AWKWARD))
    return Mailing(lambda r: change_alert_message(recipient=r, section=section))


def _parse(data: bytes):
    # As the SMTP server stores it: dot-stuffing undone.
    return email.message_from_bytes(re.sub(rb"(?m)^\.\.", b".", data), policy=email.policy.default)


def _slow(mailing: Mailing, recipient: Recipient) -> bytes:
    return mailing.message(recipient).message(policy=BODY_POLICY).as_bytes(policy=WIRE_POLICY)


def test_it_renders_the_same_email_as_django_from_the_prototype():
    mailing = _mailing()
    recipient = _recipient()
    fast, slow = _parse(mailing.data(recipient)), _parse(_slow(mailing, recipient))
    assert mailing._prototype is not None  # the fast path was taken

    def headers(message):
        return {k: str(v) for k, v in message.items() if k not in {"Date", "Content-Type"}}

    assert headers(fast) == headers(slow)
    assert fast["To"] == "artist@example.org"
    assert fast["Message-ID"] == "<alert.42@clausewatch.test>"
    assert fast["List-Unsubscribe"] == f"<{recipient.unsubscribe_url}>"
    fast_parts = [p for p in fast.walk() if not p.is_multipart()]
    slow_parts = [p for p in slow.walk() if not p.is_multipart()]
    assert [p.get_content_type() for p in fast_parts] == ["text/plain", "text/html"]
    assert [p.get_content_type() for p in slow_parts] == ["text/plain", "text/html"]
    for f, s in zip(fast_parts, slow_parts, strict=True):
        assert f.get_content() == s.get_content()
    text = fast_parts[0].get_content()
    assert recipient.manage_url in text and recipient.unsubscribe_url in text
    assert "個人情報" in text
    assert "CWPLACEHOLDER" not in fast.as_string()


def test_it_keeps_every_line_within_the_limits():
    data = _mailing().data(_recipient())
    lines = data.split(b"\r\n")
    assert max(len(line) for line in lines) <= 998
    assert data.isascii()  # quoted-printable: 7-bit clean, no 8BITMIME needed
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert data.endswith(b"\r\n")


def test_it_dot_stuffs_lines_for_smtp_in_both_paths():
    from django.core.mail import EmailMultiAlternatives

    def build(r: Recipient):
        body = f"Hello\n.starts with a dot\n{r.manage_url}\n.{r.unsubscribe_url}\n"
        message = EmailMultiAlternatives("s", body, "a@example.org", [r.email])
        message.attach_alternative(f'<p>\n.dot</p>\n<a href="{r.manage_url}">x</a>\n', "text/html")
        return message

    mailing = Mailing(build)
    fast = mailing.data(_recipient())
    slow = mailing.data(_recipient(email="artist@bücher.example"))
    assert mailing._prototype is not None
    for data in (fast, slow):
        assert b"\r\n..starts with a dot\r\n" in data
        assert b"\r\n..dot</p>" in data
    assert b"\r\n..https://clausewatch.test/alerts/unsubscribe/" in fast
    plain = _parse(fast).get_body(("plain",)).get_content()
    assert plain.replace("\r\n", "\n").startswith("Hello\n.starts with a dot\n")


def test_it_gives_each_recipient_their_own_links():
    mailing = _mailing()
    first = mailing.data(_recipient())
    second = mailing.data(
        _recipient(
            email="other@example.org",
            manage_url="https://clausewatch.test/alerts/manage/OTHER/",
            unsubscribe_url="https://clausewatch.test/alerts/unsubscribe/OTHER/",
            message_id="alert.43",
        )
    )
    assert b"artist@example.org" in first and b"artist@example.org" not in second
    assert b"/alerts/unsubscribe/OTHER/" in second and b"OTHER" not in first


def test_it_generates_in_full_an_address_that_needs_encoding():
    mailing = _mailing()
    data = mailing.data(_recipient(email="artist@bücher.example"))
    assert _parse(data)["To"] == "artist@xn--bcher-kva.example"
