"""``manage.py apply_retention_policies``: evaluates active policies now, whatever the hour of
day, one line per policy; ``--dry-run`` changes nothing; ``--policy ID`` only that one."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command

from deletions.models import DeletionRequest, PolicyEvaluation, Source
from deletions.policies import rules
from tests.factories import customer_user
from tests.policies.conftest import NOW, active_policy, aged_runs, new_customer

pytestmark = pytest.mark.django_db


def run(*args, at=NOW):
    out = StringIO()
    with time_machine.travel(at, tick=False):
        call_command("apply_retention_policies", *args, stdout=out)
    return out.getvalue().splitlines()


@pytest.fixture
def policy(ws, acme, acme_admin, approvers):
    aged_runs(ws, acme, [60, 45, 5], prefix="cmd_")
    with time_machine.travel(NOW - timedelta(days=8), tick=False):
        return active_policy(acme, acme_admin, approvers, older_than_days=30)


def test_a_dry_run_says_what_each_policy_would_select_and_changes_nothing(policy):
    [line] = run("--dry-run")

    assert line == (
        f"#{policy.pk} Acme “Thirty days”: would select 2 runs (runs created more than 30 days "
        "ago, before 2026-11-02 12:00 UTC); skipped 0 held, 0 exempted, 0 in other requests; "
        "0 deferred to the next evaluation (dry run: nothing changed)"
    )
    assert not DeletionRequest.objects.exists() and not PolicyEvaluation.objects.exists()


def test_it_evaluates_now_and_names_the_request(policy):
    [line] = run()

    req = DeletionRequest.objects.get()
    assert line.startswith(
        f"#{policy.pk} Acme “Thirty days”: selected 2 runs into request #{req.pk}"
    )
    assert set(req.items.values_list("parse_run__run_id", flat=True)) == {"cmd_60d_0", "cmd_45d_1"}


def test_it_ignores_the_hour_of_day(ws, acme, policy):
    run()
    policy.refresh_from_db()
    assert policy.next_evaluation_at > NOW + timedelta(hours=12)  # beat: tomorrow at 2 o'clock
    aged_runs(ws, acme, [50], prefix="later_")

    [line] = run(at=NOW + timedelta(hours=1))

    assert "selected 1 run into request" in line
    assert PolicyEvaluation.objects.count() == 2


def test_it_says_why_a_policy_did_not_act(ws, acme, acme_admin, approvers, policy):
    rules.pause_policy(policy, actor=acme_admin, source=Source.WEB, reason="audit")
    other = new_customer("Globex")
    other_admin = customer_user(other, role="admin", username="globex-admin")
    aged_runs(ws, other, [90], prefix="g_")
    with time_machine.travel(NOW, tick=False):
        fresh = active_policy(other, other_admin, approvers, older_than_days=30, name="Fresh")

    assert run() == [
        f"#{fresh.pk} Globex “Fresh”: did not act: it first acts on 2026-12-09 12:00, "
        "as its notice said."
    ]
    assert run("--policy", str(policy.pk)) == [
        f"#{policy.pk} Acme “Thirty days”: did not act: the policy is paused."
    ]
    assert not DeletionRequest.objects.exists()


def test_only_the_policy_named(ws, acme, acme_admin, approvers, policy):
    with time_machine.travel(NOW - timedelta(days=8), tick=False):
        second = active_policy(
            acme, acme_admin, approvers, older_than_days=50, name="Fifty", file_name_contains="doc"
        )

    lines = run("--dry-run", "--policy", str(second.pk))

    assert [line.split(":")[0] for line in lines] == [f"#{second.pk} Acme “Fifty”"]
    assert "would select 1 run " in lines[0]


def test_nothing_to_do_is_said_and_an_unknown_policy_is_an_error(db):
    assert run() == ["No active retention policy: nothing to evaluate."]
    with pytest.raises(CommandError, match="No retention policy #999"):
        run("--policy", "999")


def test_a_large_evaluation_is_announced_as_the_tick_would(policy, acme_admin, settings):
    from django.core import mail

    settings.RETENTION_POLICY_NOTICE_THRESHOLD = 1
    mail.outbox.clear()

    run("--dry-run")
    assert mail.outbox == []
    run()

    [message] = mail.outbox
    assert message.to == [acme_admin.email]
    assert message.subject.startswith("Retention policy “Thirty days” will delete 2 parse runs")
