"""The customer's retention pages through the Django test client: the list, proposing and
changing a policy, its page with the preview and its evaluations, pause, resume, retire, and
exempting runs through the notices' link. Another customer's policy is a 404 on every URL;
members read and never act."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import override_settings
from django.urls import reverse

from deletions.models import (
    AuditEvent,
    DeletionRequest,
    Membership,
    ParseRun,
    PolicyEvaluation,
    RetentionExemption,
    RetentionPolicy,
    Source,
)
from deletions.policies import evaluation, exemptions, rules
from tests.factories import CustomerFactory, WorkspaceFactory, customer_user
from tests.policies.conftest import NOW, active_policy, aged_runs
from tests.policies.pages import evaluated_policy, messages_of, narrow_policy, text

pytestmark = pytest.mark.django_db

ST = RetentionPolicy.Status
POLICY_URLS = ["policy", "policy_change", "policy_pause", "policy_resume", "policy_retire"]


@pytest.fixture
def acme_member(acme):
    return customer_user(acme, username="acme-member")


@pytest.fixture
def globex():
    return CustomerFactory(name="Globex", external_ref="globex", slug="globex")


@pytest.fixture
def globex_admin(globex):
    return customer_user(globex, role=Membership.Role.ADMIN, username="globex-admin")


def _form(**overrides):
    data = {
        "name": "Invoices: 30 days",
        "basis": "age",
        "number": "30",
        "file_name_contains": "doc",
        "extend_status": "",
        "metadata_key": "",
        "metadata_value": "",
        "reason": "Contract clause 7.2: documents are kept 30 days",
    }
    data.update(overrides)
    return data


# --- The list ----------------------------------------------------------------------------


def test_the_list_shows_rule_status_next_evaluation_in_the_customers_zone_and_the_last_one(
    client, ws, acme, acme_admin, acme_member, approvers
):
    acme.time_zone = "Asia/Tokyo"
    acme.save()
    policy, ev = evaluated_policy(ws, acme, acme_admin, approvers, [40, 31, 5])
    policy.refresh_from_db()
    # The beat's hour (2 o'clock) in Tokyo, the next day: 17:00 UTC on 2 December.
    assert policy.next_evaluation_at.isoformat() == "2026-12-02T17:00:00+00:00"

    client.force_login(acme_admin)
    response = client.get(reverse("customer:policies"))
    page = text(response)
    assert "Thirty days" in page
    assert "Runs created more than 30 days ago" in page
    assert "file name contains “doc”" in page
    assert '<span class="status status-active">Active</span>' in page
    assert "3 Dec 2026, 02:00" in page  # 17:00 UTC is 02:00 the next day in Tokyo
    assert "Times are in Asia/Tokyo" in page
    assert "<strong>2</strong> selected" in page
    assert f'href="{reverse("customer:request", args=[ev.request_id])}"' in page

    # A member reads it too, without the link to a request members cannot open.
    client.force_login(acme_member)
    page = text(client.get(reverse("customer:policies")))
    assert "Thirty days" in page and "<strong>2</strong> selected" in page
    assert reverse("customer:request", args=[ev.request_id]) not in page
    assert "Propose a policy" not in page


def test_the_list_counts_what_each_evaluation_skipped(
    client, ws, acme, acme_admin, approvers, django_assert_max_num_queries
):
    aged_runs(ws, acme, [50, 49, 48, 10], prefix="s_")
    exemptions.exempt_run(
        ParseRun.objects.get(run_id="s_49d_1"), actor=acme_admin, source=Source.WEB, reason="x"
    )
    with time_machine.travel(NOW - timedelta(days=8), tick=False):
        policy = active_policy(acme, acme_admin, approvers, older_than_days=30)
    with override_settings(RETENTION_POLICY_CAP=1), time_machine.travel(NOW, tick=False):
        evaluation.evaluate(policy)
    client.force_login(acme_admin)
    page = text(client.get(reverse("customer:policies")))
    assert "<strong>1</strong> selected · 1 exempt · 1 deferred by the cap" in page

    # More policies cost no more queries.
    with django_assert_max_num_queries(30) as few:
        client.get(reverse("customer:policies"))
    for n in range(5):
        with time_machine.travel(NOW - timedelta(days=8), tick=False):
            more = active_policy(
                acme,
                acme_admin,
                approvers,
                older_than_days=30 + n,
                name=f"P{n}",
                file_name_contains="doc",
            )
        with time_machine.travel(NOW + timedelta(minutes=n), tick=False):
            evaluation.evaluate(more)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("customer:policies"))


def test_the_list_says_when_the_operator_stopped_every_policy(client, acme, acme_admin, approvers):
    rules.stop_all(actor=approvers[0], source=Source.WEB, reason="Incident INC-9 under review")
    client.force_login(acme_admin)
    page = text(client.get(reverse("customer:policies")))
    assert "Every retention policy is stopped" in page
    # Staff's reason stays in the console.
    assert "INC-9" not in page


# --- Proposing ---------------------------------------------------------------------------


def test_an_admin_proposes_a_policy_that_waits_for_approval(client, ws, acme, acme_admin):
    aged_runs(ws, acme, [40])
    client.force_login(acme_admin)
    assert client.get(reverse("customer:policy_new")).status_code == 200
    response = client.post(
        reverse("customer:policy_new"),
        _form(workspaces=[ws.pk], metadata_key="dept", metadata_value="hr"),
        follow=True,
    )
    policy = RetentionPolicy.objects.get()
    assert response.redirect_chain[-1][0] == reverse("customer:policy", args=[policy.pk])
    assert (policy.status, policy.older_than_days, policy.required_approvals) == (
        ST.PENDING_APPROVAL,
        30,
        1,
    )
    assert list(policy.workspaces.all()) == [ws]
    assert (policy.metadata_key, policy.metadata_value) == ("dept", "hr")
    assert policy.proposed_by == acme_admin
    assert "It acts only once 1 of the operator's approvers approves it" in messages_of(response)[0]
    assert AuditEvent.objects.filter(action="policy.proposed").count() == 1


def test_a_policy_over_all_the_customers_runs_says_it_needs_two_approvers(client, acme, acme_admin):
    client.force_login(acme_admin)
    response = client.post(
        reverse("customer:policy_new"),
        _form(basis="after_processing", number="0", file_name_contains=""),
        follow=True,
    )
    policy = RetentionPolicy.objects.get()
    assert (policy.hours_after_processed, policy.older_than_days) == (0, None)
    assert policy.required_approvals == 2
    assert "2 of the operator's approvers approve it" in messages_of(response)[0]
    assert "Runs as soon as they are processed" in text(response)


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"number": "0"}, "Days must be between 1 and 36,500."),
        ({"metadata_value": "hr"}, "A metadata value needs its key."),
        ({"metadata_key": "a b", "metadata_value": "x"}, "A metadata key may hold letters"),
        ({"reason": "   "}, "Please give a reason"),
    ],
)
def test_the_form_shows_the_domains_refusals(client, acme, acme_admin, overrides, error):
    client.force_login(acme_admin)
    response = client.post(reverse("customer:policy_new"), _form(**overrides))
    assert response.status_code == 400
    assert error in text(response)
    assert not RetentionPolicy.objects.exists()


def test_the_form_offers_only_the_workspaces_holding_the_customers_runs(
    client, ws, acme, acme_admin, globex
):
    theirs = WorkspaceFactory(name="Globex only")
    aged_runs(ws, acme, [3])
    aged_runs(theirs, globex, [3], prefix="g_")
    client.force_login(acme_admin)
    page = text(client.get(reverse("customer:policy_new")))
    assert f'value="{ws.pk}"' in page and "Main" in page
    assert "Globex only" not in page
    response = client.post(reverse("customer:policy_new"), _form(workspaces=[theirs.pk]))
    assert response.status_code == 400
    assert not RetentionPolicy.objects.exists()


# --- Who may ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", POLICY_URLS)
def test_another_customers_policy_is_404_on_every_url(client, acme, acme_admin, globex_admin, name):
    policy = rules.propose_policy(
        acme,
        rules.PolicyValues(name="Ours", reason="r", older_than_days=30),
        actor=acme_admin,
        source=Source.WEB,
    )
    their_member = customer_user(globex_admin.membership.customer, username="globex-member")
    for outsider in (globex_admin, their_member):
        client.force_login(outsider)
        url = reverse(f"customer:{name}", args=[policy.pk])
        assert client.get(url).status_code == 404
        # The policy's page takes no POST: 405 for anyone, which says nothing of the policy.
        expected = 405 if name == "policy" else 404
        assert client.post(url, {"reason": "x", **_form()}).status_code == expected
    policy.refresh_from_db()
    assert (policy.status, policy.version, policy.name) == (ST.PENDING_APPROVAL, 1, "Ours")


def test_another_customers_runs_policies_and_exemptions_are_404_on_the_exemption_pages(
    client, ws, acme, acme_admin, globex, globex_admin
):
    aged_runs(ws, acme, [40], prefix="a_")
    policy = rules.propose_policy(
        acme,
        rules.PolicyValues(name="Ours", reason="r", older_than_days=30),
        actor=acme_admin,
        source=Source.WEB,
    )
    exemption, _ = exemptions.exempt_run(
        ParseRun.objects.get(run_id="a_40d_0"), actor=acme_admin, source=Source.WEB, reason="keep"
    )
    aged_runs(ws, globex, [40], prefix="g_")
    client.force_login(globex_admin)
    exempt = reverse("customer:exempt")
    assert client.get(exempt, {"run": "a_40d_0"}).status_code == 404
    assert client.post(exempt, {"run": "a_40d_0", "reason": "mine now"}).status_code == 404
    assert client.get(exempt, {"run": "g_40d_0", "policy": policy.pk}).status_code == 404
    remove = reverse("customer:exemption_remove", args=[exemption.pk])
    assert client.get(remove).status_code == 404
    assert client.post(remove).status_code == 404
    assert "a_40d_0" not in text(client.get(reverse("customer:exemptions")))
    assert RetentionExemption.objects.filter(pk=exemption.pk).exists()


def test_members_read_the_pages_and_may_not_act(
    client, ws, acme, acme_admin, acme_member, approvers
):
    aged_runs(ws, acme, [40], prefix="m_")
    with time_machine.travel(NOW - timedelta(days=8), tick=False):
        policy = narrow_policy(acme, acme_admin, approvers)
    exemption, _ = exemptions.exempt_run(
        ParseRun.objects.get(run_id="m_40d_0"), actor=acme_admin, source=Source.WEB, reason="keep"
    )
    client.force_login(acme_member)
    detail = client.get(reverse("customer:policy", args=[policy.pk]))
    assert detail.status_code == 200
    assert "Only your organisation's admins can change, pause or retire policies." in text(detail)
    assert reverse("customer:policy_pause", args=[policy.pk]) not in text(detail)
    assert client.get(reverse("customer:exemptions")).status_code == 200
    for url in (
        reverse("customer:policy_new"),
        reverse("customer:policy_change", args=[policy.pk]),
        reverse("customer:policy_pause", args=[policy.pk]),
        reverse("customer:policy_retire", args=[policy.pk]),
        reverse("customer:exempt"),
        reverse("customer:exemption_remove", args=[exemption.pk]),
    ):
        assert client.get(url).status_code == 403
        assert client.post(url, {"reason": "x", **_form(), "run": "m_40d_0"}).status_code == 403
    policy.refresh_from_db()
    assert policy.status == ST.ACTIVE and RetentionPolicy.objects.count() == 1
    assert RetentionExemption.objects.filter(pk=exemption.pk).exists()


# --- Changing, pausing, resuming, retiring ----------------------------------------------


def test_a_change_of_what_it_selects_sends_it_back_for_approval(
    client, ws, acme, acme_admin, approvers
):
    aged_runs(ws, acme, [40])
    policy = narrow_policy(acme, acme_admin, approvers)
    client.force_login(acme_admin)
    form_page = text(client.get(reverse("customer:policy_change", args=[policy.pk])))
    assert "A change of what the policy selects needs approval again." in form_page
    assert 'value="Thirty days"' in form_page and 'value="30"' in form_page

    # A new name alone keeps the approval.
    response = client.post(
        reverse("customer:policy_change", args=[policy.pk]), _form(name="Renamed"), follow=True
    )
    policy.refresh_from_db()
    assert (policy.name, policy.status, policy.version) == ("Renamed", ST.ACTIVE, 1)
    assert "its approval stands" in messages_of(response)[0]

    response = client.post(
        reverse("customer:policy_change", args=[policy.pk]),
        _form(name="Renamed", number="20"),
        follow=True,
    )
    policy.refresh_from_db()
    assert (policy.older_than_days, policy.status, policy.version) == (20, ST.PENDING_APPROVAL, 2)
    assert "acts only once the operator's staff approve it again" in messages_of(response)[0]
    page = text(response)
    assert "<strong>0 of 1</strong> approval of version 2 given" in page
    assert "(superseded)" in page


def test_pause_confirms_first_then_stops_the_policy_and_resume_lets_it_act_again(
    client, ws, acme, acme_admin, approvers
):
    policy = narrow_policy(acme, acme_admin, approvers)
    client.force_login(acme_admin)
    url = reverse("customer:policy_pause", args=[policy.pk])
    confirm = text(client.get(url))
    assert "is not evaluated again until someone resumes it" in confirm
    assert "It has no retention request in progress." in confirm
    policy.refresh_from_db()
    assert policy.status == ST.ACTIVE

    response = client.post(url, {"reason": "Audit next week"}, follow=True)
    policy.refresh_from_db()
    assert (policy.status, policy.pause_reason, policy.paused_by) == (
        ST.PAUSED,
        "Audit next week",
        acme_admin,
    )
    assert "is paused" in messages_of(response)[0]
    assert "Audit next week" in text(response) and "none while paused" in text(response)

    resume = reverse("customer:policy_resume", args=[policy.pk])
    assert "acts again, without a new approval" in text(client.get(resume))
    response = client.post(resume, follow=True)
    policy.refresh_from_db()
    assert policy.status == ST.ACTIVE
    assert "is active again; its next evaluation is at" in messages_of(response)[0]
    # Resuming what is not paused is refused, with the reason.
    assert "it cannot be resumed now" in text(client.get(resume))


def test_pausing_a_policy_stops_its_retention_request_in_progress(
    client, ws, acme, acme_admin, approvers
):
    policy, ev = evaluated_policy(ws, acme, acme_admin, approvers, [40, 35])
    req = ev.request
    DeletionRequest.objects.filter(pk=req.pk).update(status=DeletionRequest.Status.RUNNING)
    client.force_login(acme_admin)
    url = reverse("customer:policy_pause", args=[policy.pk])
    assert "1 running retention request pause" in text(client.get(url))
    client.post(url)
    req.refresh_from_db()
    assert req.status == DeletionRequest.Status.PAUSED


def test_retire_confirms_first_and_cannot_be_undone(client, acme, acme_admin):
    policy = rules.propose_policy(
        acme,
        rules.PolicyValues(name="Old", reason="r", older_than_days=30),
        actor=acme_admin,
        source=Source.WEB,
    )
    client.force_login(acme_admin)
    url = reverse("customer:policy_retire", args=[policy.pk])
    assert "This cannot be undone" in text(client.get(url))
    response = client.post(url, {"reason": "Contract ended"}, follow=True)
    policy.refresh_from_db()
    assert policy.status == ST.RETIRED
    assert "is retired" in messages_of(response)[0]
    assert reverse("customer:policy_change", args=[policy.pk]) not in text(response)
    # A retired policy is not changed any more.
    response = client.post(
        reverse("customer:policy_change", args=[policy.pk]), _form(), follow=True
    )
    assert "it cannot change" in messages_of(response)[0]
    policy.refresh_from_db()
    assert policy.name == "Old"


# --- The policy's page: preview and evaluations ----------------------------------------


def test_the_preview_shows_what_would_go_if_it_ran_now(client, ws, acme, acme_admin, approvers):
    aged_runs(ws, acme, [45, 40, 31, 29, 5], prefix="p_")
    other = CustomerFactory(name="Other")
    aged_runs(ws, other, [400], prefix="o_")
    with time_machine.travel(NOW - timedelta(days=8), tick=False):
        policy = narrow_policy(acme, acme_admin, approvers)
    with time_machine.travel(NOW, tick=False):
        # Signed in at the moment the page is read (a session lasts 8 hours).
        client.force_login(acme_admin)
        response = client.get(reverse("customer:policy", args=[policy.pk]))
    preview = response.context["preview"]
    assert (preview.count, preview.more) == (3, False)
    page = text(response)
    assert '<dd id="preview-count">3</dd>' in page
    assert "18 Oct 2026" in page and "1 Nov 2026" in page  # oldest and newest
    for run_id in ("p_45d_0", "p_40d_1", "p_31d_2"):
        assert run_id in page
    for run_id in ("p_29d_3", "p_5d_4", "o_400d_0"):
        assert run_id not in page
    keep = f"{reverse('customer:exempt')}?run=p_45d_0&amp;policy={policy.pk}"
    assert keep in page
    assert "preview-capped" not in page


@override_settings(RETENTION_POLICY_CAP=2)
def test_the_preview_says_more_than_the_cap_and_that_the_backlog_is_spread(
    client, ws, acme, acme_admin, approvers
):
    aged_runs(ws, acme, [90, 80, 70, 60], prefix="c_")
    exemptions.exempt_run(
        ParseRun.objects.get(run_id="c_60d_3"), actor=acme_admin, source=Source.WEB, reason="x"
    )
    policy = rules.propose_policy(
        acme,
        rules.PolicyValues(name="All", reason="r", older_than_days=30),
        actor=acme_admin,
        source=Source.WEB,
    )
    with time_machine.travel(NOW, tick=False):
        client.force_login(acme_admin)
        page = text(client.get(reverse("customer:policy", args=[policy.pk])))
    assert '<dd id="preview-count">more than 2</dd>' in page
    assert "this backlog is spread over several evaluations (one a day)" in page
    assert "Left out: 1 exempted." in page
    assert "It acts only once approved" in page


def test_the_evaluations_are_listed_newest_first_a_page_at_a_time(
    client, ws, acme, acme_admin, approvers
):
    policy = narrow_policy(acme, acme_admin, approvers)
    PolicyEvaluation.objects.bulk_create(
        PolicyEvaluation(
            policy=policy,
            evaluated_at=NOW - timedelta(days=n),
            cut_off=NOW - timedelta(days=30 + n),
            selected=n,
        )
        for n in range(25)
    )
    client.force_login(acme_admin)
    first = client.get(reverse("customer:policy", args=[policy.pk]))
    rows = first.context["evaluations"].rows
    assert [ev.selected for ev in rows] == list(range(20))
    second = client.get(
        reverse("customer:policy", args=[policy.pk]),
        {"after": first.context["evaluations"].next_cursor},
    )
    assert [ev.selected for ev in second.context["evaluations"].rows] == list(range(20, 25))
    assert "nothing was due" in text(first)


def test_the_policys_page_names_its_approvals_and_version(client, acme, acme_admin, approvers):
    policy = active_policy(acme, acme_admin, approvers, older_than_days=30)
    client.force_login(acme_admin)
    page = text(client.get(reverse("customer:policy", args=[policy.pk])))
    assert "<strong>2 of 2</strong> approvals of version 1 given" in page
    for approver in approvers:
        assert f"by {approver.username}" in page
    assert "<q>ok</q>" in page


# --- Exemptions ---------------------------------------------------------------------------


def test_the_notices_link_exempts_a_run_with_a_reason(client, ws, acme, acme_admin, approvers):
    aged_runs(ws, acme, [45, 40], prefix="e_")
    with time_machine.travel(NOW - timedelta(days=8), tick=False):
        policy = narrow_policy(acme, acme_admin, approvers)
    client.force_login(acme_admin)
    url = f"{reverse('customer:exempt')}?run=e_45d_0&policy={policy.pk}"
    page = text(client.get(url))
    assert "e_45d_0" in page and "doc-0.pdf" in page and "Thirty days" in page

    response = client.post(url, {"run": "e_45d_0", "policy": policy.pk, "reason": ""})
    assert response.status_code == 400
    assert "Please say why this run is kept." in text(response)

    response = client.post(
        reverse("customer:exempt"),
        {"run": "e_45d_0", "policy": policy.pk, "reason": "Kept for the 2026 audit"},
        follow=True,
    )
    exemption = RetentionExemption.objects.get()
    assert (exemption.parse_run.run_id, exemption.policy, exemption.created_by) == (
        "e_45d_0",
        policy,
        acme_admin,
    )
    assert response.redirect_chain[-1][0] == reverse("customer:exemptions")
    assert "Parse run e_45d_0 is exempted" in messages_of(response)[0]
    assert "Kept for the 2026 audit" in text(response)

    # The preview leaves it out from now on, and says so.
    with time_machine.travel(NOW, tick=False):
        client.force_login(acme_admin)
        page = text(client.get(reverse("customer:policy", args=[policy.pk])))
    assert '<dd id="preview-count">1</dd>' in page and "1 exempted" in page
    # Asking again says it is already exempted.
    assert "This run is already exempted" in text(client.get(url))


def test_exempting_a_run_a_retention_request_holds_takes_it_out_and_says_so(
    client, ws, acme, acme_admin, approvers
):
    policy, ev = evaluated_policy(ws, acme, acme_admin, approvers, [45, 40])
    req = ev.request
    client.force_login(acme_admin)
    response = client.post(
        reverse("customer:exempt"),
        {"run": "age_40d_1", "policy": policy.pk, "reason": "Disputed invoice"},
        follow=True,
    )
    assert (
        f"It was taken out of retention request #{req.pk} before anything was sent."
        in (messages_of(response)[0])
    )
    req.refresh_from_db()
    assert req.item_count == 1


def test_an_unknown_run_id_is_said_on_the_page(client, acme, acme_admin):
    client.force_login(acme_admin)
    response = client.get(reverse("customer:exempt"), {"run": "pr_nope"})
    assert response.status_code == 404
    assert "Acme has no parse run <code>pr_nope</code>" in text(response)
    # Without a run, the page asks for its id.
    assert 'name="run"' in text(client.get(reverse("customer:exempt")))


def test_removing_an_exemption_confirms_first(client, ws, acme, acme_admin):
    aged_runs(ws, acme, [45], prefix="x_")
    exemption, _ = exemptions.exempt_run(
        ParseRun.objects.get(run_id="x_45d_0"), actor=acme_admin, source=Source.WEB, reason="keep"
    )
    client.force_login(acme_admin)
    listing = text(client.get(reverse("customer:exemptions")))
    assert "x_45d_0" in listing and "keep" in listing and "acme-admin" in listing
    url = reverse("customer:exemption_remove", args=[exemption.pk])
    assert "apply to this run again from their next evaluation" in text(client.get(url))
    assert RetentionExemption.objects.exists()
    response = client.post(url, follow=True)
    assert not RetentionExemption.objects.exists()
    assert "The exemption of parse run x_45d_0 is removed" in messages_of(response)[0]
    assert AuditEvent.objects.filter(action="policy.exemption_removed").count() == 1


def test_a_run_id_held_in_two_workspaces_asks_which_one(client, ws, acme, acme_admin):
    eu = WorkspaceFactory(name="EU")
    aged_runs(ws, acme, [45], prefix="dup_")
    aged_runs(eu, acme, [45], prefix="dup_")
    client.force_login(acme_admin)
    url = reverse("customer:exempt")
    page = text(client.get(url, {"run": "dup_45d_0"}))
    assert "2 of your workspaces hold a run" in page
    assert f'value="{eu.pk}"' in page and f'value="{ws.pk}"' in page
    response = client.post(url, {"run": "dup_45d_0", "reason": "keep"})
    assert response.status_code == 400
    assert "Choose the workspace of the run." in text(response)
    assert not RetentionExemption.objects.exists()
    client.post(url, {"run": "dup_45d_0", "workspace": eu.pk, "reason": "keep"})
    assert RetentionExemption.objects.get().parse_run.workspace_id == eu.pk
