"""Alert emails: hostile names and tracked text are escaped in HTML, and never reach headers."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy

import pytest
from django.core.mail import EmailMultiAlternatives

from alerts import emails
from alerts.models import DocumentIncident
from platforms.models import Platform
from tests.factories import SubscriberFactory
from tests.security.audit import JS_URL, PAYLOADS, audit_html
from tests.security.hostile import hostile_platform

pytestmark = pytest.mark.django_db

HEADER_INJECTION = "Evil\r\nBcc: victim@evil.example\r\nX-Injected: yes\n"


@pytest.fixture
def hostile():
    h = hostile_platform()
    # Names reach subjects: try to start new header lines from them.
    Platform.objects.filter(pk=h.platform.pk).update(name=HEADER_INJECTION + PAYLOADS[0])
    h.platform.refresh_from_db()
    h.change.refresh_from_db()
    emails._SECTIONS.clear()
    return h


def recipient():
    return emails.Recipient.of(SubscriberFactory(), message_id="alert.1")


def messages(h) -> dict[str, EmailMultiAlternatives]:
    section = emails.change_section(h.change)
    incident = DocumentIncident.objects.create(
        document=h.document, status="failing", last_status="failing"
    )
    return {
        "change": emails.change_alert_message(recipient=recipient(), section=section),
        "digest": emails.digest_message(
            recipient=recipient(),
            sections=[section],
            kind="daily",
            period_start=None,
            period_end=datetime(2024, 2, 1, tzinfo=UTC),
        ),
        "incident": emails.incident_message(
            incident=incident, recipients=["admin@example.org"], event="opened"
        ),
    }


def test_it_escapes_hostile_text_in_html_bodies(hostile):
    for name, message in messages(hostile).items():
        html = message.alternatives[0].content
        audit = audit_html(html)
        assert audit.scripts == [], name
        audit.assert_inert(where=name)
        assert PAYLOADS[0] in audit.text, name  # shown, as text


def test_it_never_links_a_javascript_url_in_an_email(hostile):
    html = messages(hostile)["change"].alternatives[0].content
    assert audit_html(html).unsafe_urls == []
    assert f"Statement {PAYLOADS[0]}" in audit_html(html).text  # the statement is still named


def test_it_keeps_the_text_body_as_plain_text(hostile):
    body = messages(hostile)["change"].body
    # Plain text is not parsed by anyone: the payload is shown verbatim, not HTML-escaped.
    assert PAYLOADS[1] in body
    assert "&lt;" not in body
    assert JS_URL in body  # a URL in plain text is what the statement cites


def test_it_keeps_names_out_of_the_headers(hostile):
    for name, message in messages(hostile).items():
        assert "\n" not in message.subject and "\r" not in message.subject, name
        raw = message.message().as_bytes()
        parsed = message_from_bytes(raw, policy=policy.default)
        assert parsed["Bcc"] is None, name
        assert parsed["X-Injected"] is None, name
        # The name is in the subject, folded onto its one line.
        assert "Bcc: victim@evil.example" in parsed["Subject"], name
        recipients = message.recipients()
        assert "victim@evil.example" not in recipients, name
