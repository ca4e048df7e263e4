from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from alerts.models import DocumentIncident
from alerts.services import document_status_notify
from tests.factories import DocumentFactory, PlatformFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def document():
    return DocumentFactory(platform=PlatformFactory(name="SoundCloud"), title="Terms of Use")


@pytest.fixture
def notify(django_capture_on_commit_callbacks):
    def call(document, old, new):
        with django_capture_on_commit_callbacks(execute=True):
            document_status_notify(document_id=document.pk, old_status=old, new_status=new)

    return call


def test_it_emails_the_admins_once_per_incident(settings, document, notify, mailoutbox):
    settings.ADMINS = ["ops@example.org", "editor@example.org"]
    notify(document, "ok", "failing")
    notify(document, "failing", "failing")  # the next check, still failing
    notify(document, "failing", "blocked")  # worse, but the same incident
    [message] = mailoutbox
    assert message.to == ["ops@example.org", "editor@example.org"]
    assert message.subject == "[Clausewatch] SoundCloud — Terms of Use: failing"
    assert f"/admin/platforms/document/{document.pk}/change/" in message.body
    incident = DocumentIncident.objects.get()
    assert (incident.status, incident.last_status) == ("failing", "blocked")


def test_it_emails_again_when_the_document_recovers(settings, document, notify, mailoutbox):
    settings.ADMINS = ["ops@example.org"]
    notify(document, "ok", "selector_broken")
    notify(document, "selector_broken", "ok")
    notify(document, "ok", "ok")
    assert [m.subject for m in mailoutbox] == [
        "[Clausewatch] SoundCloud — Terms of Use: selector_broken",
        "[Clausewatch] SoundCloud — Terms of Use: ok again",
    ]
    assert DocumentIncident.objects.get().closed_at is not None
    # A new problem is a new incident.
    notify(document, "ok", "unstable")
    assert len(mailoutbox) == 3
    assert DocumentIncident.objects.count() == 2


@pytest.mark.parametrize(
    "status", ["failing", "selector_broken", "suspicious", "blocked", "unstable"]
)
def test_it_opens_an_incident_for_each_alarm_status(settings, document, notify, mailoutbox, status):
    settings.ADMINS = ["ops@example.org"]
    notify(document, "ok", status)
    assert len(mailoutbox) == 1


@pytest.mark.parametrize("status", ["new", "ok", "unsupported"])
def test_it_sends_nothing_for_other_statuses(settings, document, notify, mailoutbox, status):
    settings.ADMINS = ["ops@example.org"]
    notify(document, "new", status)
    assert mailoutbox == []
    assert not DocumentIncident.objects.exists()


def test_it_writes_to_staff_with_an_email_when_admins_is_empty(
    document, notify, mailoutbox, django_user_model
):
    django_user_model.objects.create(username="a", email="staff@example.org", is_staff=True)
    django_user_model.objects.create(username="b", email="", is_staff=True)
    django_user_model.objects.create(username="c", email="user@example.org", is_staff=False)
    django_user_model.objects.create(
        username="d", email="gone@example.org", is_staff=True, is_active=False
    )
    notify(document, "ok", "failing")
    [message] = mailoutbox
    assert message.to == ["staff@example.org"]


def test_it_allows_one_open_incident_per_document_in_the_database(document):
    DocumentIncident.objects.create(document=document, status="failing", last_status="failing")
    with pytest.raises(IntegrityError), transaction.atomic():
        DocumentIncident.objects.create(document=document, status="blocked", last_status="blocked")


def test_it_sends_each_incident_email_at_most_once(settings, document, notify, mailoutbox):
    from alerts.tasks import send_incident_email

    settings.ADMINS = ["ops@example.org"]
    notify(document, "ok", "failing")
    incident = DocumentIncident.objects.get()
    send_incident_email.delay(incident.pk, "opened")  # a duplicate task
    assert len(mailoutbox) == 1
