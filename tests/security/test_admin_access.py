"""The admin is for staff only: every admin URL, custom views and actions included."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from platforms.models import Document
from snapshots.models import Check, Version, VersionState
from tests.factories import DocumentFactory, VersionFactory
from tests.security.routes import routes

pytestmark = pytest.mark.django_db

# Logging in is public, and logging out concerns only whoever is logged in.
PUBLIC_ADMIN = {"admin:login", "admin:logout"}
ACTIONS = [
    ("platforms_document", "check_now"),
    ("platforms_document", "backfill_from_wayback"),
    ("platforms_document", "deactivate"),
    ("platforms_document", "clear_unstable"),
    ("snapshots_version", "approve_held"),
    ("snapshots_version", "reject_held"),
    ("alerts_subscriber", "export_csv"),
    ("alerts_delivery", "export_csv"),
]


@pytest.fixture
def member(django_user_model):
    return django_user_model.objects.create_user("member", password="pw-member-123")


@pytest.fixture
def staff_without_permissions(django_user_model):
    return django_user_model.objects.create_user("staff", password="pw-staff-123", is_staff=True)


def admin_routes():
    found = [r for r in routes() if r.is_admin and r.name not in PUBLIC_ADMIN]
    # The custom views are among them: a new one is covered as soon as it is routed.
    names = {r.name for r in found}
    assert {"admin:platforms_document_preview", "admin:alerts_subscriber_per_platform"} <= names
    return found


def assert_sent_to_login(response, route) -> None:
    assert response.status_code == 302, (route.name, response.status_code)
    assert response["Location"].startswith(reverse("admin:login")), route.name


@pytest.mark.parametrize("who", ["anonymous", "member"])
def test_it_sends_non_staff_to_the_login_page_from_every_admin_url(client, member, who):
    if who == "member":
        client.force_login(member)
    for route in admin_routes():
        assert_sent_to_login(client.get(route.path), route)
        assert_sent_to_login(client.post(route.path), route)


@pytest.mark.parametrize("who", ["anonymous", "member"])
def test_it_runs_no_admin_action_for_non_staff(client, member, who):
    if who == "member":
        client.force_login(member)
    document = DocumentFactory(active=True)
    held = VersionFactory(document=document, state=VersionState.HELD, held_reason="shrunk")
    ids = {"platforms_document": document.pk, "snapshots_version": held.pk}
    for model, action in ACTIONS:
        url = reverse(f"admin:{model}_changelist")
        response = client.post(url, {"action": action, "_selected_action": [ids.get(model, 1)]})
        assert response.status_code == 302, (model, action)
        assert response["Location"].startswith(reverse("admin:login"))
        assert not response.has_header("Content-Disposition")  # no export handed out
    assert Document.objects.get().active
    assert Version.objects.get(pk=held.pk).state == VersionState.HELD
    assert not Check.objects.exists()  # nothing was fetched


def test_it_refuses_the_preview_to_staff_without_the_view_permission(
    client, staff_without_permissions
):
    document = DocumentFactory()
    client.force_login(staff_without_permissions)
    url = reverse("admin:platforms_document_preview", args=[document.pk])
    assert client.get(url).status_code == 403
    staff_without_permissions.user_permissions.add(Permission.objects.get(codename="view_document"))
    assert client.get(url).status_code == 200


def test_it_refuses_document_actions_to_staff_who_may_only_view(client, staff_without_permissions):
    staff_without_permissions.user_permissions.add(Permission.objects.get(codename="view_document"))
    document = DocumentFactory(active=True)
    client.force_login(staff_without_permissions)
    for action in ["deactivate", "check_now", "backfill_from_wayback", "clear_unstable"]:
        client.post(
            reverse("admin:platforms_document_changelist"),
            {"action": action, "_selected_action": [document.pk]},
        )
    assert Document.objects.get().active
    assert not Check.objects.exists()


def test_it_refuses_to_publish_held_versions_for_staff_who_may_only_view(
    client, staff_without_permissions
):
    staff_without_permissions.user_permissions.add(Permission.objects.get(codename="view_version"))
    held = VersionFactory(state=VersionState.HELD, held_reason="shrunk")
    client.force_login(staff_without_permissions)
    client.post(
        reverse("admin:snapshots_version_changelist"),
        {"action": "approve_held", "_selected_action": [held.pk]},
    )
    assert Version.objects.get(pk=held.pk).state == VersionState.HELD
