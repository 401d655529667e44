"""RELIABILITY 14: a sentinel API key never appears in clear in a log line, a task argument, an
e-mail, an error e-mail, an audit record or a database dump. (Pages, admin pages and the console's
workspace pages are walked with the sentinel set in test_url_walk.py.)"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
from typing import Any, cast
from unittest import mock

import pytest
from celery.app.task import Task
from django.core import mail
from django.db import connection
from django.test import Client
from django.urls import reverse

from deletions.engine import config
from deletions.models import AuditEvent, Customer, DeletionRequest, ParseRun, Source, Workspace
from deletions.requests import transitions
from tests.engine.conftest import FAST, run_until_settled
from tests.factories import CustomerFactory, customer_user, staff_user
from tests.helpers import empty_simulator, simulated_workspace
from tests.security.conftest import SENTINEL_KEY, SENTINEL_WEBHOOK_SECRET

# A second sentinel: the key of a workspace Extend refuses (401), to walk the error paths.
SENTINEL_REFUSED_KEY = "sk_SENTINEL_refused_0b5e9d7c3a1f2468"
SENTINELS = (SENTINEL_KEY, SENTINEL_WEBHOOK_SECRET, SENTINEL_REFUSED_KEY)


def assert_clean(where: str, text: str) -> None:
    for sentinel in SENTINELS:
        assert sentinel not in text, f"the sentinel secret {sentinel[:14]}… is in {where}"
        # Secrets must not leak in pieces either (e.g. a key split over two log arguments).
        assert sentinel[len("sk_SENTINEL_") :] not in text, f"part of a sentinel is in {where}"


@pytest.fixture
def task_calls():
    """Every Celery task enqueued (by .delay or .apply_async), with its arguments."""
    calls: list[tuple[str, Any, Any]] = []

    def record(self, args=None, kwargs=None, *rest, **options):
        calls.append((self.name, args, kwargs))
        return None

    with mock.patch.object(Task, "apply_async", record):
        yield calls


@pytest.fixture
def sentinel_sim():
    with empty_simulator(SENTINEL_KEY) as simulator:
        yield simulator


def _submit_and_approve(client, workspace, customer, approver, ids) -> DeletionRequest:
    ParseRun.objects.bulk_create(
        ParseRun(workspace=workspace, customer=customer, run_id=run_id) for run_id in ids
    )
    response = client.post(
        reverse("customer:new_request"),
        {"run": ids, "step": "submit", "reason": "Contract ended"},
    )
    assert response.status_code == 302, response.content[:500]
    req = DeletionRequest.objects.filter(customer=customer).latest("pk")
    transitions.approve_request(req, actor=approver, source=Source.WEB)
    req.refresh_from_db()
    assert req.status in (DeletionRequest.Status.APPROVED, DeletionRequest.Status.RUNNING)
    return req


@pytest.mark.django_db(transaction=True)
def test_a_full_deletion_run_keeps_the_sentinel_out_of_logs_tasks_mails_and_audit(
    sentinel_sim, task_calls, caplog, settings
):
    for name, value in FAST.items():
        setattr(settings, name, value)
    settings.STAFF_ALERT_EMAILS = ["ops@example.com"]
    caplog.set_level(logging.DEBUG)
    for noisy in ("urllib3", "httpx", "requests"):
        caplog.set_level(logging.DEBUG, logger=noisy)

    admin = staff_user("admin", username="olga")
    approver = staff_user("approver", username="anna")
    customer = cast(Customer, CustomerFactory(external_ref="cust_sentinel"))
    requester = customer_user(customer, username="requester")

    # The key arrives the way staff enter it: through the console's secrets form.
    workspace = Workspace.objects.create(
        name="Sentinel", base_url=sentinel_sim.url, rate_limit=200, get_rate_limit=200
    )
    staff = Client(raise_request_exception=False)
    staff.force_login(admin, backend="django.contrib.auth.backends.ModelBackend")
    response = staff.post(
        reverse("console:workspace_secrets", args=[workspace.pk]),
        {"api_key": SENTINEL_KEY, "webhook_secret": SENTINEL_WEBHOOK_SECRET},
    )
    assert response.status_code == 302
    workspace.refresh_from_db()
    assert workspace.reveal_api_key() == SENTINEL_KEY
    staff.post(reverse("console:workspace_test", args=[workspace.pk]))
    staff.post(reverse("console:workspace_sync", args=[workspace.pk]))

    customer_client = Client(raise_request_exception=False)
    customer_client.force_login(requester, backend="django.contrib.auth.backends.ModelBackend")
    ids = [run["id"] for run in sentinel_sim.add_runs(count=8)]
    req = _submit_and_approve(customer_client, workspace, customer, approver, ids)
    if req.status == DeletionRequest.Status.APPROVED:
        transitions.start_request(req, actor=None, source=Source.SYSTEM)
    cfg = config.EngineSettings.current()
    run_until_settled(workspace, cfg)
    req.refresh_from_db()
    assert req.status == DeletionRequest.Status.COMPLETED

    # The error paths: a workspace whose key Extend refuses is stopped and staff are alerted.
    refused = simulated_workspace(sentinel_sim, SENTINEL_REFUSED_KEY, name="Refused")
    other = cast(Customer, CustomerFactory(external_ref="cust_refused"))
    other_user = customer_user(other, username="other-requester")
    other_client = Client(raise_request_exception=False)
    other_client.force_login(other_user, backend="django.contrib.auth.backends.ModelBackend")
    refused_req = _submit_and_approve(
        other_client,
        refused,
        other,
        approver,
        [run["id"] for run in sentinel_sim.add_runs(count=3)],
    )
    if refused_req.status == DeletionRequest.Status.APPROVED:
        transitions.start_request(refused_req, actor=None, source=Source.SYSTEM)
    run_until_settled(refused, cfg)
    refused.refresh_from_db()
    assert refused.health != Workspace.Health.ACTIVE

    # Logs: the message, its arguments and any exception text.
    assert caplog.records, "nothing was logged: the capture is not working"
    assert_clean("the log output", caplog.text)
    for record in caplog.records:
        assert_clean(f"a log record's arguments ({record.name})", repr(record.args))
    # Task arguments.
    assert task_calls, "no task was enqueued: the recording is not working"
    assert_clean("Celery task arguments", repr(task_calls))
    # E-mails (the submission, approval, completion and the staff alert).
    assert mail.outbox, "no e-mail was sent: the capture is not working"
    for message in mail.outbox:
        parts = [message.subject, message.body, *(alt[0] for alt in message.alternatives)]
        assert_clean(f"the e-mail {message.subject!r}", "\n".join(map(str, parts)))
    # Audit records, including the key rotation.
    events = list(AuditEvent.objects.values("action", "before", "after", "detail"))
    assert any("secret" in e["action"] or "key" in e["action"] for e in events), events
    assert_clean("the audit trail", json.dumps(events, default=str))


@pytest.mark.django_db
def test_an_error_email_for_a_crash_while_saving_a_key_does_not_carry_the_key(
    settings, sentinel_workspace, staff_admin
):
    settings.DEBUG = False
    settings.ADMINS = [("Ops", "ops@example.com")]
    client = Client(raise_request_exception=False)
    client.force_login(staff_admin, backend="django.contrib.auth.backends.ModelBackend")
    boom = RuntimeError("database went away")
    with mock.patch.object(Workspace, "set_api_key", side_effect=boom):
        response = client.post(
            reverse("console:workspace_secrets", args=[sentinel_workspace.pk]),
            {"api_key": SENTINEL_KEY, "webhook_secret": SENTINEL_WEBHOOK_SECRET},
        )

    assert response.status_code == 500
    error_mails = [m for m in mail.outbox if "ops@example.com" in m.to]
    assert error_mails, "no error e-mail was sent to ADMINS"
    for message in error_mails:
        assert "database went away" in message.body
        parts = [message.subject, message.body, *(alt[0] for alt in message.alternatives)]
        assert_clean("the error e-mail", "\n".join(map(str, parts)))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_database_dump_does_not_contain_the_sentinel(sentinel_workspace, world):
    assert shutil.which("pg_dump"), "pg_dump is needed for this test"
    db = connection.settings_dict
    command = ["pg_dump", "--data-only", "-h", db["HOST"] or "127.0.0.1"]
    command += ["-p", str(db["PORT"] or 5432), "-U", db["USER"] or "root", db["NAME"]]
    dump = subprocess.run(command, capture_output=True, text=True, check=True, timeout=120)

    assert "Sentinel workspace" in dump.stdout, "the dump does not contain the workspace"
    assert_clean("the database dump", dump.stdout)
