"""What retention policies did: the customer's monthly summary (its figures, its e-mail to the
admins, once, and its partial for the customer's page) and the dashboard's runs deleted by
policies beside one-off requests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.template.loader import render_to_string
from django.urls import reverse

from deletions.models import (
    AuditEvent,
    DeletionItem,
    DeletionRequest,
    RetentionPolicy,
    Source,
)
from deletions.policies import evaluation, rules
from deletions.reporting import retention
from deletions.tasks.policies import send_retention_summaries_task
from tests.factories import customer_user, staff_user
from tests.helpers import at_once, finish, submitted_request
from tests.policies.conftest import active_policy, aged_runs, exempt, hold_run, new_customer


def at(month, day, hour=12):
    return datetime(2026, month, day, hour, tzinfo=UTC)


def evaluate_and_finish(policy, when, finished, *, failed=0):
    with time_machine.travel(when, tick=False):
        req = evaluation.evaluate(policy).evaluation.request
    assert req is not None
    with time_machine.travel(finished, tick=False):
        finish(req, failed=failed)
    return req


@pytest.fixture
def november(db, ws, acme, acme_admin, approvers):
    """Acme's "Thirty days" policy through October and November 2026 (UTC):

    - 31 Oct: 2 runs deleted (October's);
    - 10 Nov: 3 runs deleted;
    - 20 Nov: of 4 expired runs, 1 held and 1 exempted; 1 deleted, 1 failed;
    - 30 Nov: evaluated (the hold and the exemption still skipped), its 2 runs deleted on 1 Dec.

    And a paused policy that did nothing, a retired one, and another customer's policy.
    """
    aged_runs(ws, acme, [92, 92], prefix="sep_")  # created 1 Sep
    aged_runs(ws, acme, [58, 58, 58], prefix="oct5_")
    held, exempted, *_ = aged_runs(ws, acme, [48, 48, 48, 48], prefix="oct15_")
    aged_runs(ws, acme, [38, 38], prefix="oct25_")
    with time_machine.travel(at(10, 10), tick=False):
        policy = active_policy(acme, acme_admin, approvers, older_than_days=30)
        paused, retired = (
            active_policy(
                acme,
                acme_admin,
                approvers,
                name=name,
                older_than_days=days,
                file_name_contains=part,
            )
            for name, days, part in (("Invoices", 400, "inv"), ("Old rule", 900, "x"))
        )
        rules.pause_policy(paused, actor=acme_admin, source=Source.WEB)
        rules.retire_policy(retired, actor=acme_admin, source=Source.WEB)
        other = new_customer("Globex")
        active_policy(other, customer_user(other, role="admin"), approvers, older_than_days=30)
    evaluate_and_finish(policy, at(10, 31), at(10, 31, 13))
    evaluate_and_finish(policy, at(11, 10), at(11, 10, 13))
    with time_machine.travel(at(11, 15), tick=False):
        hold_run(held, staff_user("admin", username="hold-admin"))
        exempt(exempted, acme_admin)
    evaluate_and_finish(policy, at(11, 20), at(11, 20, 13), failed=1)
    evaluate_and_finish(policy, at(11, 30), at(12, 1, 9))
    return policy, paused


def test_a_month_says_per_policy_what_was_deleted_evaluated_and_skipped(acme, november):
    policy, paused = november

    summary = retention.monthly_summary(acme, 2026, 11)

    assert summary.label == "November 2026"
    assert [row.policy for row in summary.policies] == [paused, policy]  # by name
    idle, month = summary.policies
    assert (month.requests, month.deleted, month.failed, month.gone) == (2, 4, 1, 4)
    assert month.evaluations == 3
    assert month.last_evaluated_at == at(11, 30)
    assert (month.skipped_held, month.skipped_exempt, month.skipped_open) == (1, 1, 0)
    assert (idle.requests, idle.evaluations, idle.last_evaluated_at) == (0, 0, None)
    assert summary.gone == 4


@pytest.mark.parametrize(
    ("zone", "requests", "last_evaluated"),
    [
        # UTC+14: November runs from 31 Oct 10:00 to 30 Nov 10:00 UTC.
        ("Pacific/Kiritimati", ["31 Oct", "10 Nov", "20 Nov"], at(11, 20)),
        # UTC-11: from 1 Nov 11:00 to 1 Dec 11:00 UTC.
        ("Pacific/Pago_Pago", ["10 Nov", "20 Nov", "1 Dec"], at(11, 30)),
    ],
)
def test_the_month_is_the_customers_own(acme, november, zone, requests, last_evaluated):
    acme.time_zone = zone
    acme.save()

    month = retention.monthly_summary(acme, 2026, 11).policies[1]

    finished = {"31 Oct": 2, "10 Nov": 3, "20 Nov": 1, "1 Dec": 2}
    assert (month.requests, month.deleted) == (len(requests), sum(finished[d] for d in requests))
    assert month.last_evaluated_at == last_evaluated


def test_a_month_costs_a_fixed_number_of_queries(acme, november, django_assert_num_queries):
    with django_assert_num_queries(3):
        retention.monthly_summary(acme, 2026, 11)


def test_the_admins_get_last_months_summary_once_in_the_first_days_of_a_month(
    acme, acme_admin, november
):
    policy, paused = november
    mail.outbox.clear()

    with time_machine.travel(at(12, 2, 10), tick=False):
        send_retention_summaries_task()
        send_retention_summaries_task()

    # Acme's and Globex's, each once, each to its own admins.
    assert len(mail.outbox) == 2
    [message] = [m for m in mail.outbox if "Acme" in m.subject]
    assert message.to == [acme_admin.email]
    assert message.subject == "Retention policies of Acme in November 2026: 4 parse runs deleted"
    text = message.body
    assert f"“Thirty days” (#{policy.pk}, runs created more than 30 days ago; active)" in text
    assert (
        "- 4 parse runs gone from Extend (4 deleted by the portal) by 2 requests finished in "
        "the month; 1 failed"
    ) in text
    assert (
        "- 3 evaluations; the last (30 Nov 2026, 12:00) left out 1 under a legal hold, "
        "1 exempted, 0 in other requests"
    ) in text
    assert f"“Invoices” (#{paused.pk}" in text and "not evaluated in the month" in text
    assert "Old rule" not in text
    assert "http://127.0.0.1:8000/retention/" in text
    sent = AuditEvent.objects.get(action="policy.monthly_summary_sent", customer=acme)
    assert sent.customer_id == acme.pk and sent.detail["month"] == "2026-11"


def test_no_summary_after_the_first_days_nor_without_policies(acme, november):
    mail.outbox.clear()
    with time_machine.travel(at(12, 9, 10), tick=False):
        send_retention_summaries_task()
    assert mail.outbox == []

    # Globex's only policy became active on 10 Oct: it is summarised (and nobody else).
    with time_machine.travel(at(11, 1, 10), tick=False):
        send_retention_summaries_task()
    assert sorted(m.subject.split(" in ")[0] for m in mail.outbox) == [
        "Retention policies of Acme",
        "Retention policies of Globex",
    ]


def test_a_customer_whose_policies_never_acted_gets_no_summary(ws, acme, acme_admin, approvers):
    with time_machine.travel(at(11, 10), tick=False):
        rules.propose_policy(
            acme,
            rules.PolicyValues(name="Pending", reason="contract", older_than_days=30),
            actor=acme_admin,
            source=Source.WEB,
        )
    mail.outbox.clear()
    with time_machine.travel(at(12, 1, 10), tick=False):
        send_retention_summaries_task()
    assert mail.outbox == []
    assert RetentionPolicy.objects.get().status == RetentionPolicy.Status.PENDING_APPROVAL


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_summary_tasks_at_once_send_one_summary(ws, acme, acme_admin, approvers):
    aged_runs(ws, acme, [92, 92], prefix="r_")
    with time_machine.travel(at(10, 1), tick=False):
        policy = active_policy(acme, acme_admin, approvers, older_than_days=30)
    evaluate_and_finish(policy, at(11, 10), at(11, 10, 13))
    mail.outbox.clear()

    with time_machine.travel(at(12, 1, 10), tick=False):
        at_once(send_retention_summaries_task, send_retention_summaries_task)

    assert len(mail.outbox) == 1
    assert AuditEvent.objects.filter(action="policy.monthly_summary_sent").count() == 1


def test_the_customer_page_partial_shows_the_summary(acme, november):
    policy, _ = november
    with time_machine.travel(at(12, 5), tick=False):
        summary = retention.last_month_summary(acme)

    html = render_to_string("customer/_retention_summary.html", {"summary": summary})

    assert "Retention policies in November 2026" in html
    assert "4 parse runs gone from Extend by Acme's retention policies, 3 evaluations" in html
    name = f'<a href="/retention/{policy.pk}/">Thirty days</a>'
    assert name in html
    row = html.split(name)[1].split("</tr>")[0]
    assert [cell.split("<")[0] for cell in row.split("<td>")[1:]] == [
        "4",
        "1",
        "3",
        "1",
        "1",
        "0",
        "0",
    ]


def test_the_policies_page_shows_last_months_summary(client, acme, acme_admin, november):
    with time_machine.travel(at(12, 5), tick=False):
        client.force_login(acme_admin)
        page = client.get(reverse("customer:policies")).content.decode()

    assert "Retention policies in November 2026" in page
    assert "4 parse runs gone from Extend by Acme's retention policies, 3 evaluations" in page


def test_the_partial_says_when_no_policy_was_active(acme):
    summary = retention.monthly_summary(acme, 2026, 11)
    html = render_to_string("customer/_retention_summary.html", {"summary": summary})
    assert "No retention policy was active in November 2026." in html


# --- The dashboard ---------------------------------------------------------------------------


def test_the_dashboard_shows_runs_deleted_by_policies_beside_one_off_requests(
    client, viewer, ws, acme, acme_admin, approvers
):
    one_off = submitted_request(ws, acme, acme_admin, runs=3, prefix="one_")
    aged_runs(ws, acme, [300, 300], prefix="old_")
    with time_machine.travel(datetime.now(tz=UTC) - timedelta(days=8), tick=False):
        policy = active_policy(acme, acme_admin, approvers, older_than_days=30)
    by_policy = evaluation.evaluate(policy).evaluation.request
    for req in (one_off, by_policy):
        DeletionItem.objects.filter(request=req).update(
            status=DeletionItem.Status.DELETED, confirmed_at=datetime.now(tz=UTC)
        )
    # Long ago: outside the 30 days.
    old = submitted_request(ws, acme, acme_admin, runs=1, prefix="gone_")
    DeletionItem.objects.filter(request=old).update(
        status=DeletionItem.Status.ALREADY_GONE,
        confirmed_at=datetime.now(tz=UTC) - timedelta(days=40),
    )
    client.force_login(viewer)

    response = client.get(reverse("console:dashboard"))

    figure = response.context["by_kind"]
    assert (figure.by_policies, figure.by_requests) == (2, 3)
    assert figure.total == response.context["chart_total"]
    body = response.content.decode()
    assert "<dt>By retention policies</dt><dd>2</dd>" in body
    assert "<dt>By one-off requests</dt><dd>3</dd>" in body
    assert DeletionRequest.objects.get(pk=by_policy.pk).kind == DeletionRequest.Kind.RETENTION
