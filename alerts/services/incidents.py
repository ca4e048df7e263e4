"""Admin emails about documents in trouble: one when an incident opens, one when it closes."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from alerts import emails, selectors
from alerts.models import DocumentIncident
from alerts.transport import send_now

logger = logging.getLogger(__name__)

# A document in one of these states needs a human; "ok" closes the incident.
ALARM_STATUSES = frozenset({"failing", "selector_broken", "suspicious", "blocked", "unstable"})
RECOVERED_STATUS = "ok"


def document_status_notify(*, document_id: int, old_status: str, new_status: str) -> None:
    """Called by the pipeline whenever a document's status changes.

    Entering an alarm status opens an incident (one per document at a time, enforced by the
    database) and emails the admins once; further alarm statuses of the same incident send
    nothing; back to "ok" closes it and emails once more.
    """
    from alerts.tasks import send_incident_email

    now = timezone.now()
    if new_status in ALARM_STATUSES:
        try:
            with transaction.atomic():
                incident = DocumentIncident.objects.create(
                    document_id=document_id,
                    status=new_status,
                    last_status=new_status,
                    opened_at=now,
                )
        except IntegrityError:  # already open: same incident, no email
            DocumentIncident.objects.filter(document_id=document_id, closed_at__isnull=True).update(
                last_status=new_status
            )
            return
        logger.info(
            "document %s: %s → %s, incident %s opened",
            document_id,
            old_status,
            new_status,
            incident.pk,
        )
        send_incident_email.delay_on_commit(incident.pk, "opened")
    elif new_status == RECOVERED_STATUS:
        incident = DocumentIncident.objects.filter(
            document_id=document_id, closed_at__isnull=True
        ).first()
        if incident is None:
            return
        closed = DocumentIncident.objects.filter(pk=incident.pk, closed_at__isnull=True).update(
            closed_at=now, last_status=new_status
        )
        if closed:
            send_incident_email.delay_on_commit(incident.pk, "closed")


def incident_email_send(*, incident_id: int, event: str) -> bool:
    """Email the admins about an incident opening or closing, at most once per event."""
    field_name = "opened_notified_at" if event == "opened" else "closed_notified_at"
    incident = (
        DocumentIncident.objects.select_related("document__platform").filter(pk=incident_id).first()
    )
    if incident is None:
        return False
    recipients = selectors.admin_recipients()
    if not recipients:
        logger.warning("incident %s %s: no ADMINS and no staff with an email", incident_id, event)
        return False
    claimed = DocumentIncident.objects.filter(
        pk=incident_id, **{f"{field_name}__isnull": True}
    ).update(**{field_name: timezone.now()})
    if not claimed:
        return False
    try:
        message = emails.incident_message(incident=incident, recipients=recipients, event=event)
        return send_now(
            message, alias=settings.ALERTS_MAILER, what=f"incident {incident_id} {event} email"
        )
    except Exception:
        # Not sent: release the claim so the task's retry can send it.
        DocumentIncident.objects.filter(pk=incident_id).update(**{field_name: None})
        raise
