"""The console's retention pages through the Django test client: every policy with its filters,
the approvals queue, a policy's page, four eyes on approval, rejection, pause and resume, and
the switch that stops every policy. Viewers read and never act."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from deletions.accounts import roles
from deletions.models import (
    AuditEvent,
    DeletionRequest,
    PolicyApproval,
    RetentionPolicy,
    RetentionSwitch,
    Source,
)
from deletions.policies import rules
from tests.factories import CustomerFactory, customer_user, staff_user
from tests.policies.conftest import NOW, active_policy, aged_runs
from tests.policies.pages import evaluated_policy, messages_of, narrow_policy, text

pytestmark = pytest.mark.django_db

ST = RetentionPolicy.Status


@pytest.fixture
def viewer(db):
    return staff_user(roles.VIEWER, username="viewer-1")


def _propose(customer, actor, **values):
    values.setdefault("name", "Thirty days")
    values.setdefault("reason", "Contract clause 7.2")
    values.setdefault("older_than_days", 30)
    return rules.propose_policy(
        customer, rules.PolicyValues(**values), actor=actor, source=Source.WEB
    )


def _approve(client, policy, comment="fine"):
    return client.post(
        reverse("console:policy_approve", args=[policy.pk]), {"comment": comment}, follow=True
    )


# --- The list and the queue -------------------------------------------------------------


@pytest.fixture
def globex(db):
    return CustomerFactory(name="Globex")


def test_the_list_shows_every_customers_policies_and_filters_them(
    client, viewer, acme, acme_admin, approvers, globex
):
    globex_admin = customer_user(globex, role="admin", username="globex-admin")
    active_policy(
        acme,
        acme_admin,
        approvers,
        name="Acme active",
        older_than_days=30,
        file_name_contains="doc",
    )
    _propose(globex, globex_admin, name="Globex pending")
    client.force_login(viewer)
    url = reverse("console:policy_list")
    page = text(client.get(url))
    assert "Acme active" in page and "Globex pending" in page

    def names(**params):
        return [p.name for p in client.get(url, params).context["page"].objects]

    assert names(status=ST.ACTIVE) == ["Acme active"]
    assert names(customer=globex.pk) == ["Globex pending"]
    assert names(status=ST.ACTIVE, customer=globex.pk) == []


def test_the_approvals_queue_names_the_proposer_and_the_approvals_given(
    client, viewer, acme, acme_admin, approvers
):
    everything = _propose(acme, acme_admin, name="Everything")
    rules.approve_policy(everything, actor=approvers[0], source=Source.WEB)
    _propose(acme, acme_admin, name="Invoices", file_name_contains="invoice")
    active_policy(
        acme, acme_admin, approvers, name="Already on", older_than_days=30, file_name_contains="doc"
    )
    client.force_login(viewer)
    response = client.get(reverse("console:policy_list"))
    queue = [(p.name, p.given, p.required_approvals) for p in response.context["pending"]]
    assert queue == [("Everything", 1, 2), ("Invoices", 0, 1)]
    page = text(response)
    assert "acme-admin" in page and "1 of 2" in page and "0 of 1" in page
    # The nav and the request queue say that policies wait.
    assert 'aria-label="2 policies awaiting a decision"' in page
    queue_page = text(client.get(reverse("console:queue")))
    assert "2 retention policies also wait for a decision" in queue_page


# --- Four eyes ------------------------------------------------------------------------------


def test_a_policy_over_all_runs_needs_two_different_approvers(client, acme, acme_admin, approvers):
    policy = _propose(acme, acme_admin)
    assert policy.required_approvals == 2
    first, second = approvers
    client.force_login(first)
    confirm = text(client.get(reverse("console:policy_approve", args=[policy.pk])))
    assert "recorded as 1 of 2" in confirm
    response = _approve(client, policy)
    assert "another approver is needed" in messages_of(response)[0]
    policy.refresh_from_db()
    assert policy.status == ST.PENDING_APPROVAL

    # The same approver again: the page refuses, and so does a POST.
    page = text(client.get(reverse("console:policy_detail", args=[policy.pk])))
    assert "You already approved this version of the policy; another approver must." in page
    confirm = client.get(reverse("console:policy_approve", args=[policy.pk]))
    assert "You already approved this version" in text(confirm)
    response = _approve(client, policy, comment="again")
    assert "You have already approved this policy" in messages_of(response)[0]
    assert PolicyApproval.objects.filter(policy=policy).count() == 1

    client.force_login(second)
    confirm = text(client.get(reverse("console:policy_approve", args=[policy.pk])))
    assert "becomes active" in confirm
    response = _approve(client, policy, comment="checked clause 7.2")
    policy.refresh_from_db()
    assert policy.status == ST.ACTIVE
    assert "is approved and active; its first evaluation is at" in messages_of(response)[0]
    assert "<q>checked clause 7.2</q>" in text(response)


def test_the_proposer_cannot_approve_or_reject_their_own_policy(client, acme, approvers):
    proposer = approvers[0]
    policy = _propose(acme, proposer, file_name_contains="doc")
    client.force_login(proposer)
    page = text(client.get(reverse("console:policy_detail", args=[policy.pk])))
    assert "You proposed or last changed this policy, so you cannot approve or reject it." in page
    assert reverse("console:policy_approve", args=[policy.pk]) not in page
    response = _approve(client, policy)
    assert "You cannot approve a policy you proposed or last changed." in messages_of(response)[0]
    response = client.post(
        reverse("console:policy_reject", args=[policy.pk]), {"reason": "no"}, follow=True
    )
    assert "You cannot decide on a policy you proposed" in messages_of(response)[0]
    policy.refresh_from_db()
    assert policy.status == ST.PENDING_APPROVAL
    assert not PolicyApproval.objects.exists()


def test_the_approval_consequence_gives_the_count_it_would_delete(
    client, ws, acme, acme_admin, approvers
):
    aged_runs(ws, acme, [45, 40, 31, 29])
    with time_machine.travel(NOW, tick=False):
        policy = _propose(acme, acme_admin, file_name_contains="doc")
        client.force_login(approvers[0])
        confirm = text(client.get(reverse("console:policy_approve", args=[policy.pk])))
    assert "if it ran now it would delete 3 runs" in confirm
    assert "It acts no earlier than 9 Dec 2026" in confirm


def test_a_change_of_what_it_selects_resets_the_approvals(client, acme, acme_admin, approvers):
    policy = active_policy(acme, acme_admin, approvers, older_than_days=30)
    rules.change_policy(
        policy,
        rules.PolicyValues(name="Thirty days", reason="r", older_than_days=60),
        actor=acme_admin,
        source=Source.WEB,
    )
    client.force_login(approvers[0])
    response = client.get(reverse("console:policy_detail", args=[policy.pk]))
    page = text(response)
    assert "<strong>0 of 2</strong> approvals of version 2 given" in page
    assert page.count("(superseded)") == 2
    # Having approved version 1 does not count for version 2.
    assert response.context["you_approved"] is False
    _approve(client, policy)
    assert PolicyApproval.objects.filter(policy=policy, version=2).count() == 1


def test_a_rejection_needs_a_reason_that_the_customer_then_sees(
    client, acme, acme_admin, approvers
):
    policy = _propose(acme, acme_admin, file_name_contains="doc")
    client.force_login(approvers[0])
    url = reverse("console:policy_reject", args=[policy.pk])
    response = client.post(url, {"reason": ""})
    assert "Please say why; the customer will see this reason." in text(response)
    policy.refresh_from_db()
    assert policy.status == ST.PENDING_APPROVAL
    response = client.post(url, {"reason": "Clause 7.2 says 90 days"}, follow=True)
    policy.refresh_from_db()
    assert (policy.status, policy.decision_comment) == (ST.REJECTED, "Clause 7.2 says 90 days")
    assert "is rejected" in messages_of(response)[0]
    client.force_login(acme_admin)
    customer_page = text(client.get(reverse("customer:policy", args=[policy.pk])))
    assert "Rejected because" in customer_page and "Clause 7.2 says 90 days" in customer_page


# --- Who may --------------------------------------------------------------------------------


def test_viewers_read_the_policy_and_see_why_they_may_not_act(
    client, viewer, acme, acme_admin, approvers
):
    pending = _propose(acme, acme_admin, file_name_contains="doc")
    active = active_policy(
        acme, acme_admin, approvers, name="On", older_than_days=30, file_name_contains="x"
    )
    client.force_login(viewer)
    page = text(client.get(reverse("console:policy_detail", args=[pending.pk])))
    assert "Only an approver can do this." in page
    for name, policy in (("approve", pending), ("reject", pending), ("pause", active)):
        response = client.post(reverse(f"console:policy_{name}", args=[policy.pk]), {"reason": "x"})
        assert response.status_code == 403
    assert client.post(reverse("console:retention_stop"), {"reason": "x"}).status_code == 403
    pending.refresh_from_db()
    active.refresh_from_db()
    assert (pending.status, active.status) == (ST.PENDING_APPROVAL, ST.ACTIVE)
    assert RetentionSwitch.current().stopped_at is None


def test_customer_users_cannot_open_the_console_pages(client, acme, acme_admin):
    policy = _propose(acme, acme_admin)
    client.force_login(acme_admin)
    assert client.get(reverse("console:policy_list")).status_code == 403
    assert client.post(reverse("console:policy_pause", args=[policy.pk])).status_code == 403


# --- Pause, resume and the switch -----------------------------------------------------------


def test_staff_pause_and_resume_a_policy(client, acme, acme_admin, approvers):
    policy = narrow_policy(acme, acme_admin, approvers)
    client.force_login(approvers[0])
    detail = text(client.get(reverse("console:policy_detail", args=[policy.pk])))
    assert reverse("console:policy_pause", args=[policy.pk]) in detail
    response = client.post(
        reverse("console:policy_pause", args=[policy.pk]),
        {"reason": "Customer disputes the contract"},
        follow=True,
    )
    policy.refresh_from_db()
    assert (policy.status, policy.paused_by) == (ST.PAUSED, approvers[0])
    assert "Customer disputes the contract" in text(response)
    response = client.post(reverse("console:policy_resume", args=[policy.pk]), follow=True)
    policy.refresh_from_db()
    assert policy.status == ST.ACTIVE
    assert "is active again" in messages_of(response)[0]
    assert AuditEvent.objects.filter(action__in=["policy.paused", "policy.resumed"]).count() == 2


def test_the_switch_stops_every_policy_and_its_requests_then_restarts_them(
    client, ws, acme, acme_admin, approvers
):
    policy, ev = evaluated_policy(ws, acme, acme_admin, approvers, [45, 40])
    req = ev.request
    DeletionRequest.objects.filter(pk=req.pk).update(status=DeletionRequest.Status.RUNNING)
    client.force_login(approvers[0])
    listing = text(client.get(reverse("console:policy_list")))
    assert reverse("console:retention_stop") in listing
    assert "retention-stopped" not in listing

    url = reverse("console:retention_stop")
    confirm = text(client.get(url))
    assert "none of the 1 active policy is evaluated" in confirm
    assert "1 running retention request pauses" in confirm
    response = client.post(url, {"reason": ""})
    assert "Please say why every retention policy is stopped." in text(response)
    assert RetentionSwitch.current().stopped_at is None

    response = client.post(url, {"reason": "Incident INC-9: wrong customer mapping"}, follow=True)
    switch = RetentionSwitch.current()
    assert switch.stopped_at is not None and switch.stopped_by == approvers[0]
    req.refresh_from_db()
    assert req.status == DeletionRequest.Status.PAUSED
    page = text(response)
    assert 'id="retention-stopped"' in page and "Incident INC-9: wrong customer mapping" in page
    assert reverse("console:retention_restart") in page
    detail = text(client.get(reverse("console:policy_detail", args=[policy.pk])))
    assert "not while every policy is stopped" in detail

    restart = reverse("console:retention_restart")
    assert "resume deleting at Extend" in text(client.get(restart))
    response = client.post(restart, follow=True)
    assert RetentionSwitch.current().stopped_at is None
    assert "running again" in messages_of(response)[0]
    req.refresh_from_db()
    assert req.status == DeletionRequest.Status.RUNNING
    # Restarting what runs is refused on the page itself.
    assert "there is nothing to restart" in text(client.get(restart))


def test_the_console_preview_shows_the_expected_count(
    client, ws, acme, acme_admin, approvers, viewer
):
    aged_runs(ws, acme, [45, 40, 31, 29, 5])
    with time_machine.travel(NOW - timedelta(days=8), tick=False):
        policy = narrow_policy(acme, acme_admin, approvers)
    with time_machine.travel(NOW, tick=False):
        client.force_login(viewer)
        response = client.get(reverse("console:policy_detail", args=[policy.pk]))
    assert '<dd id="preview-count">3</dd>' in text(response)
    # Staff get no exemption link: exempting is the customer's.
    assert reverse("customer:exempt") not in text(response)
