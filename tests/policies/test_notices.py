"""Beat's retention tick as the customer's admins meet it: told before a policy first acts, told
before a large evaluation's deletion begins, each once; and the tick evaluates each due policy
once, even twice at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail

from deletions.core import emails
from deletions.models import (
    AuditEvent,
    DeletionItem,
    DeletionRequest,
    Membership,
    ParseRun,
    PolicyEvaluation,
    RetentionPolicy,
    Source,
)
from deletions.policies import evaluation, rules
from deletions.requests import transitions
from deletions.tasks.policies import evaluate_retention_policies_task
from tests.factories import customer_user
from tests.helpers import at_once
from tests.policies import conftest
from tests.policies.conftest import NOW, aged_runs, new_customer

SITE = "http://127.0.0.1:8000"


def active_policy(*args, **values):
    """An approved policy whose first-action notice is left to the tick under test."""
    return conftest.active_policy(*args, notice=False, **values)


def tick(at=NOW):
    with time_machine.travel(at, tick=False):
        evaluate_retention_policies_task()


@pytest.fixture
def cast(acme):
    """Who must and must not hear about Acme's policies."""
    member = customer_user(acme, username="acme-member")
    other = new_customer("Globex")
    other_admin = customer_user(other, role=Membership.Role.ADMIN, username="globex-admin")
    second_admin = customer_user(acme, role=Membership.Role.ADMIN, username="acme-admin-2")
    return member, other_admin, second_admin


# --- Before the first action ---------------------------------------------------------------


@pytest.mark.django_db
def test_the_admins_are_told_when_a_policy_first_acts_and_what_it_would_select_now(
    ws, acme, acme_admin, approvers, cast
):
    member, other_admin, second_admin = cast
    aged_runs(ws, acme, [45, 40, 10], prefix="f_")
    with time_machine.travel(NOW, tick=False):
        policy = active_policy(
            acme, acme_admin, approvers, older_than_days=30, extend_status="PROCESSED"
        )
    mail.outbox.clear()

    tick()

    [message] = mail.outbox
    assert sorted(message.to) == sorted([acme_admin.email, second_admin.email])
    assert member.email not in message.to and other_admin.email not in message.to
    assert message.subject == (
        "Retention policy “Thirty days” starts deleting Acme's parse runs on 9 Dec 2026, 12:00 UTC"
    )
    text = message.body
    assert "It deletes runs created more than 30 days ago, with Extend status PROCESSED" in text
    assert "It first acts on 9 Dec 2026, 12:00 (UTC); nothing is deleted before then." in text
    assert (
        "If it ran now, it would select 2 parse runs, created between 18 Oct 2026, 12:00 and "
        "23 Oct 2026, 12:00." in text
    )
    assert "Contract clause 7.2" in text
    assert f"{SITE}/retention/exempt/?policy={policy.pk}" in text
    assert f"{SITE}/retention/{policy.pk}/" in text
    html = str(message.alternatives[0][0])
    assert f'href="{SITE}/retention/exempt/?policy={policy.pk}"' in html
    policy.refresh_from_db()
    assert policy.first_notice_sent_at == NOW
    event = AuditEvent.objects.get(action="policy.notice_sent")
    assert event.detail["notice"] == "first_action" and event.detail["would_select"] == 2
    # Told, not acted: nothing is selected before the first action.
    assert not PolicyEvaluation.objects.exists()


@pytest.mark.django_db
def test_the_notice_goes_out_once(ws, acme, acme_admin, approvers):
    with time_machine.travel(NOW, tick=False):
        active_policy(acme, acme_admin, approvers, older_than_days=30)
    mail.outbox.clear()

    tick()
    tick(NOW + timedelta(minutes=10))

    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_notice_that_could_not_be_sent_goes_out_at_the_next_tick(
    ws, acme, acme_admin, approvers, monkeypatch
):
    with time_machine.travel(NOW, tick=False):
        policy = active_policy(acme, acme_admin, approvers, older_than_days=30)
    mail.outbox.clear()
    send = emails.send

    def mail_server_down(*args, **kwargs):
        raise ConnectionRefusedError("the mail server is down")

    monkeypatch.setattr(emails, "send", mail_server_down)
    tick()
    policy.refresh_from_db()
    assert policy.first_notice_sent_at is None
    assert not AuditEvent.objects.filter(action="policy.notice_sent").exists()

    monkeypatch.setattr(emails, "send", send)
    tick(NOW + timedelta(minutes=10))
    policy.refresh_from_db()
    assert policy.first_notice_sent_at == NOW + timedelta(minutes=10)
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_paused_policy_is_announced_when_it_is_resumed(ws, acme, acme_admin, approvers):
    with time_machine.travel(NOW, tick=False):
        policy = active_policy(acme, acme_admin, approvers, older_than_days=30)
        rules.pause_policy(policy, actor=acme_admin, source=Source.WEB, reason="checking")
    mail.outbox.clear()

    tick()
    assert mail.outbox == []

    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        rules.resume_policy(policy, actor=acme_admin, source=Source.WEB)
    tick(NOW + timedelta(hours=1))
    assert len(mail.outbox) == 1


# --- A large evaluation --------------------------------------------------------------------


def _announced_policy(acme, acme_admin, approvers, **values):
    """A policy approved 8 days before NOW (so acting from a day before NOW), already told."""
    with time_machine.travel(NOW - timedelta(days=8), tick=False):
        policy = active_policy(acme, acme_admin, approvers, **values)
    RetentionPolicy.objects.filter(pk=policy.pk).update(
        first_notice_sent_at=NOW - timedelta(days=8)
    )
    return policy


@pytest.mark.django_db
def test_a_large_evaluation_is_announced_with_its_runs_and_when_deletion_begins(
    ws, acme, acme_admin, approvers, settings
):
    settings.RETENTION_POLICY_NOTICE_THRESHOLD = 3
    settings.RETENTION_POLICY_CAP = 4
    aged_runs(ws, acme, [90, 80, 70, 60, 50, 5], prefix="big_")
    policy = _announced_policy(acme, acme_admin, approvers, older_than_days=30)
    mail.outbox.clear()

    tick()

    ev = PolicyEvaluation.objects.get()
    req = ev.request
    assert (ev.selected, ev.deferred, ev.noticed) == (4, 1, True)
    assert req.execute_after == NOW + timedelta(hours=24)
    [message] = mail.outbox
    assert message.to == [acme_admin.email]
    assert message.subject == (
        "Retention policy “Thirty days” will delete 4 parse runs of Acme after "
        "3 Dec 2026, 12:00 UTC"
    )
    text = message.body
    assert "was evaluated on 2 Dec 2026, 12:00 (UTC) and selected 4 parse runs" in text
    assert "created before 2 Nov 2026, 12:00" in text
    assert "The oldest was created on 3 Sep 2026, 12:00, the newest on 3 Oct 2026, 12:00." in text
    assert f"deletion request #{req.pk}" in text
    assert "Nothing is deleted before 3 Dec 2026, 12:00 (UTC)" in text
    for run_id in ("big_90d_0", "big_80d_1", "big_70d_2", "big_60d_3"):
        assert f"{SITE}/retention/exempt/?run={run_id}&policy={policy.pk}" in text
    assert "big_50d_4" not in text  # deferred to the next evaluation, said as a number
    assert "1 more expired run waits: one evaluation takes at most 4" in text
    assert f"{SITE}/requests/{req.pk}/" in text
    html = str(message.alternatives[0][0])
    assert f'href="{SITE}/retention/exempt/?run=big_90d_0&amp;policy={policy.pk}"' in html
    assert AuditEvent.objects.filter(
        action="policy.notice_sent", request=req, detail__notice="large_evaluation"
    ).exists()


@pytest.mark.django_db
def test_a_small_evaluation_sends_nothing(
    ws, acme, acme_admin, approvers, django_capture_on_commit_callbacks
):
    aged_runs(ws, acme, [90, 80], prefix="small_")
    _announced_policy(acme, acme_admin, approvers, older_than_days=30)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        tick()

    assert PolicyEvaluation.objects.get().request.status == DeletionRequest.Status.APPROVED
    # Neither a notice nor the one-off requests' "approved" e-mail: the monthly summary says it.
    assert mail.outbox == []


def _run_to_the_end(req, *, failed, capture):
    """Start *req* and finish it as the engine would, *failed* of its items failing."""
    with time_machine.travel(NOW + timedelta(days=2), tick=False), capture(execute=True):
        transitions.start_request(req, actor=None, source=Source.SYSTEM)
    items = list(req.items.order_by("id"))
    DeletionItem.objects.filter(pk__in=[i.pk for i in items[:failed]]).update(
        status=DeletionItem.Status.FAILED
    )
    DeletionItem.objects.filter(pk__in=[i.pk for i in items[failed:]]).update(
        status=DeletionItem.Status.DELETED, confirmed_at=NOW
    )
    DeletionRequest.objects.filter(pk=req.pk).update(
        failed_count=failed, deleted_count=len(items) - failed
    )
    with time_machine.travel(NOW + timedelta(days=2), tick=False), capture(execute=True):
        transitions.finish_request(req, actor=None, source=Source.WORKER)


@pytest.mark.django_db
def test_a_retention_request_is_e_mailed_about_when_it_finishes_only_if_something_failed(
    ws, acme, acme_admin, approvers, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    aged_runs(ws, acme, [90, 80], prefix="ok_")
    _announced_policy(acme, acme_admin, approvers, older_than_days=30)
    tick()
    mail.outbox.clear()
    _run_to_the_end(PolicyEvaluation.objects.get().request, failed=0, capture=capture)
    aged_runs(ws, acme, [95, 85], prefix="bad_")
    tick(NOW + timedelta(days=1))
    _run_to_the_end(PolicyEvaluation.objects.first().request, failed=1, capture=capture)

    [message] = mail.outbox
    assert message.to == [acme_admin.email]
    assert "1 failed" in message.body


# --- Two ticks at once -----------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "values", [{"older_than_days": 30}, {"hours_after_processed": 6}], ids=["age", "after"]
)
def test_two_ticks_at_once_evaluate_a_due_policy_once(ws, acme, acme_admin, approvers, values):
    aged_runs(ws, acme, [90, 80], prefix="race_", processed_hours_ago=[48, 24])
    with time_machine.travel(NOW - timedelta(days=8), tick=False):
        policy = conftest.active_policy(acme, acme_admin, approvers, **values)
    mail.outbox.clear()

    with time_machine.travel(NOW, tick=False):
        at_once(evaluate_retention_policies_task, evaluate_retention_policies_task)

    assert PolicyEvaluation.objects.filter(policy=policy).count() == 1
    assert DeletionRequest.objects.filter(retention_policy=policy).count() == 1
    assert AuditEvent.objects.filter(action="policy.evaluated").count() == 1
    # Its notice went out a week before; neither tick sends another.
    assert mail.outbox == []
    assert set(ParseRun.objects.values_list("open_request_id", flat=True)) == {
        DeletionRequest.objects.get().pk
    }


@pytest.mark.django_db
def test_a_tick_that_read_a_policy_before_another_evaluated_it_leaves_it(
    ws, acme, acme_admin, approvers
):
    """What the lock orders on PostgreSQL, shown step by step: the late tick's policy was read
    before the other tick's evaluation committed."""
    aged_runs(ws, acme, [90], prefix="late_", processed_hours_ago=[48])
    with time_machine.travel(NOW - timedelta(days=8), tick=False):
        policy = conftest.active_policy(acme, acme_admin, approvers, hours_after_processed=6)
    read_by_late_tick = RetentionPolicy.objects.get(pk=policy.pk)

    first = evaluation.evaluate(policy, now=NOW, once=True)
    late = evaluation.evaluate(read_by_late_tick, now=NOW + timedelta(seconds=1), once=True)

    assert first.evaluation is not None and first.evaluation.selected == 1
    assert late.evaluation is None and "evaluated in the meantime" in late.refused
    assert PolicyEvaluation.objects.count() == 1


@pytest.mark.django_db
def test_a_policy_never_acts_before_its_notice_and_a_late_notice_moves_its_first_action(
    ws, acme, acme_admin, approvers
):
    aged_runs(ws, acme, [90], prefix="quiet_")
    with time_machine.travel(NOW - timedelta(days=8), tick=False):
        policy = active_policy(acme, acme_admin, approvers, older_than_days=30)
    # Past its first action, but the notice never went out (mail was down): it does not act.
    outcome = evaluation.evaluate(policy, now=NOW)
    assert outcome.evaluation is None and "notice" in outcome.refused
    mail.outbox.clear()
    tick(NOW)
    policy.refresh_from_db()
    [message] = mail.outbox
    assert "9 Dec 2026" in message.subject
    assert policy.first_action_at == NOW + timedelta(days=7)
    assert not DeletionRequest.objects.exists()
    tick(NOW + timedelta(days=7, hours=15))
    assert DeletionRequest.objects.filter(retention_policy=policy).count() == 1
