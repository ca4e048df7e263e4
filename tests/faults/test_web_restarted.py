"""The web process (gunicorn, as deployed) SIGKILLed around a subscription: in the middle of
the subscribe request, right after it, and after the confirmation. Each time it is started
again. The double opt-in holds: no subscriber and no email from the request that died, one
subscriber, one confirmation email whose link works across the restart and confirms once,
and a repeated sign-up gets the "manage" email, not a second subscriber or confirmation.
"""

from __future__ import annotations

import re
import threading

import httpx
import pytest
from django.db import connection, transaction

from alerts.models import Subscriber, SubscriberStatus
from tests.faults.processes import Web, Worker, database_url, free_port, process_env, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

EMAIL = "creator@example.org"
CONFIRM_SUBJECT = "Confirm your Clausewatch alerts"
MANAGE_SUBJECT = "Your Clausewatch alerts: change or stop them"
WEB_APP = "faults-web"  # the web process's application_name in pg_stat_activity


def _csrf(client: httpx.Client, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text[:500]
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)


def _subscribe(client: httpx.Client) -> httpx.Response:
    token = _csrf(client, "/alerts/")
    return client.post(
        "/alerts/subscribe/",
        data={
            "csrfmiddlewaretoken": token,
            "email": EMAIL,
            "scope": "all",
            "ai_only": "0",
            "frequency": "instant",
        },
    )


def _web_backends(state: str | None = None) -> int:
    sql = "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
    params = [WEB_APP]
    if state:
        sql += " AND wait_event_type = %s"
        params.append(state)
    with connection.cursor() as cursor:
        # Inside a transaction pg_stat_activity is a snapshot unless cleared.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def _subjects(smtp) -> list[str]:
    return [m.message["Subject"] for m in smtp.messages]


def test_it_subscribes_once_with_one_confirmation_when_the_web_process_is_killed(
    redis_server, smtp, running, settings, tmp_path
):
    port = free_port()
    env = process_env(
        DATABASE_URL=database_url(connection.settings_dict),
        REDIS_URL=redis_server.url(),
        EMAIL_URL=f"smtp://127.0.0.1:{smtp.port}?timeout=5",
        SECRET_KEY=settings.SECRET_KEY,
        SITE_URL=f"http://127.0.0.1:{port}",
        ALERTS_RATE_PER_ADDRESS="20",
    )
    worker = Worker(env, tmp_path / "worker.log")
    web = Web(
        {**env, "DATABASE_URL": env["DATABASE_URL"] + f"?application_name={WEB_APP}"},
        tmp_path / "web.log",
        port=port,
    )
    running.extend([worker, web])
    worker.start()
    web.start()
    logs = (web.log, worker.log)

    # 1. Killed in the middle of the subscribe request: its INSERT waits on an uncommitted
    #    row for the same address (a concurrent sign-up that will roll back).
    client = httpx.Client(base_url=web.url, timeout=30)
    outcome: list = []

    def post() -> None:
        try:
            outcome.append(_subscribe(client))
        except httpx.HTTPError as exc:
            outcome.append(exc)

    with transaction.atomic():
        Subscriber.objects.create(email=EMAIL)
        request = threading.Thread(target=post)
        request.start()
        wait_until(
            lambda: _web_backends("Lock") == 1,
            timeout=30,
            what="the subscribe request to wait inside its transaction",
            logs=logs,
        )
        web.kill()
        transaction.set_rollback(True)
    request.join(10)
    assert outcome and isinstance(outcome[0], httpx.HTTPError), outcome
    wait_until(lambda: _web_backends() == 0, timeout=10, what="the dead request's session")
    assert not Subscriber.objects.exists()
    assert not smtp.wait_for(1, timeout=1.0), "an email for a subscription that never was"

    # 2. Started again; the visitor submits again. Killed right after answering.
    web.start()
    client = httpx.Client(base_url=web.url, timeout=30)
    response = _subscribe(client)
    assert response.status_code == 302, response.text[:500]
    web.kill()
    # The confirmation goes out through the worker, whatever happened to the web process.
    assert smtp.wait_for(1, timeout=20), worker.log.read_text()[-3000:]
    subscriber = Subscriber.objects.get()
    assert subscriber.status == SubscriberStatus.PENDING

    # 3. Started again: the link in the email works, and confirms.
    web.start()
    body = smtp.messages[0].message.get_body(preferencelist=("plain",)).get_content()
    link = re.search(rf"{re.escape(web.url)}(/alerts/confirm/[^\s/]+/)", body).group(1)
    client = httpx.Client(base_url=web.url, timeout=30)
    confirmed = client.post(link, data={"csrfmiddlewaretoken": _csrf(client, link)})
    assert confirmed.status_code == 200, confirmed.text[:500]
    subscriber.refresh_from_db()
    assert subscriber.status == SubscriberStatus.ACTIVE
    confirmed_at = subscriber.confirmed_at

    # 4. Killed and started again: the link has been used, and says so.
    web.kill()
    web.start()
    client = httpx.Client(base_url=web.url, timeout=30)
    again = client.get(link)
    assert again.status_code == 410
    subscriber.refresh_from_db()
    assert subscriber.confirmed_at == confirmed_at

    # 5. Signing up again with a confirmed address: the "manage" email, nothing else.
    assert _subscribe(client).status_code == 302
    assert smtp.wait_for(2, timeout=20), worker.log.read_text()[-3000:]
    web.stop()
    worker.stop()

    assert Subscriber.objects.count() == 1
    assert Subscriber.objects.get().confirmed_at == confirmed_at
    assert sorted(_subjects(smtp)) == sorted([CONFIRM_SUBJECT, MANAGE_SUBJECT])
    assert smtp.recipients() == {EMAIL: 2}
