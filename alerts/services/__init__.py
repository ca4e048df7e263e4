"""Writes for alerts (HackSoft-style services: keyword-only, typed), one module per concern.

The pipeline calls two of them:
  alerts.tasks.fan_out_change(change_id)  (enqueued with delay_on_commit), and
  alerts.services.document_status_notify(document_id=, old_status=, new_status=).
"""

from __future__ import annotations

from alerts.services.delivery import SendReport, deliveries_send, stalled_work
from alerts.services.fan_out import (
    change_fan_out,
    digest_period_end,
    digest_plan,
    digests_build,
)
from alerts.services.incidents import (
    ALARM_STATUSES,
    RECOVERED_STATUS,
    document_status_notify,
    incident_email_send,
)
from alerts.services.subscriptions import (
    confirm_link_renew,
    confirm_token_check,
    link_subscriber,
    manage_link_request,
    subscriber_email_send,
    subscription_cancel,
    subscription_confirm,
    subscription_request,
    subscription_update,
)

__all__ = [
    "ALARM_STATUSES",
    "RECOVERED_STATUS",
    "SendReport",
    "change_fan_out",
    "confirm_link_renew",
    "confirm_token_check",
    "deliveries_send",
    "digest_period_end",
    "digest_plan",
    "digests_build",
    "document_status_notify",
    "incident_email_send",
    "link_subscriber",
    "manage_link_request",
    "stalled_work",
    "subscriber_email_send",
    "subscription_cancel",
    "subscription_confirm",
    "subscription_request",
    "subscription_update",
]
