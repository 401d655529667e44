"""Evaluating a retention policy: its expired runs become an ordinary deletion request of kind
*retention*, approved by the policy's standing approval, run by the same engine, gate and holds.

One evaluation takes at most ``RETENTION_POLICY_CAP`` runs, oldest first, in a few statements
whatever their number (one UPDATE claims them, one INSERT ... SELECT makes the items); the rest
waits for the next evaluation and the record says how many. Runs in another open request, under
a legal hold or exempted are left and counted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from deletions import audit
from deletions.accounts.roles import APPROVE_PERMISSION
from deletions.core.errors import RuleViolation
from deletions.models import (
    DeletionRequest,
    ParseRun,
    PolicyApproval,
    PolicyEvaluation,
    RetentionPolicy,
    RetentionSwitch,
    Source,
)
from deletions.policies import selection
from deletions.policies.schedule import next_evaluation
from deletions.requests import transitions
from deletions.requests.submission import claim_runs_into_items, release_claimed

logger = logging.getLogger(__name__)

ST = RetentionPolicy.Status
# Skipped and deferred runs are counted up to this many (the record then says "or more").
COUNT_LIMIT = 1_000_000


@dataclass(frozen=True)
class Outcome:
    """What an evaluation did (or, on a dry run, would do), for the command and the tick."""

    policy: RetentionPolicy
    evaluation: PolicyEvaluation | None
    # Why nothing was evaluated: "" when it was.
    refused: str = ""

    @property
    def selected(self) -> int:
        return self.evaluation.selected if self.evaluation else 0


def why_not(policy: RetentionPolicy, now: datetime) -> str:
    """Why *policy* may not act at *now*, or "" if it may."""
    if RetentionSwitch.current().stopped_at:
        return "every retention policy is stopped (console switch)"
    if policy.status != ST.ACTIVE:
        return f"the policy is {policy.get_status_display().lower()}"
    if policy.first_notice_sent_at is None:
        return "its notice to the customer's admins has not gone out yet"
    if policy.first_action_at and policy.first_action_at > now:
        return (
            f"it first acts on {timezone.localtime(policy.first_action_at):%Y-%m-%d %H:%M}, "
            "as its notice said"
        )
    if not policy.customer.is_active:
        return "its customer is deactivated"
    if len(standing_approvals(policy)) < policy.required_approvals:
        return (
            "an approver of its current version can no longer approve (deactivated, or the "
            "approver role taken away): it needs approval again"
        )
    return ""


def standing_approvals(policy: RetentionPolicy) -> list[PolicyApproval]:
    """The approvals of the policy's current version whose approvers may still approve: a
    standing approval lasts as long as the approver's authority to give it."""
    given = policy.approvals.filter(
        version=policy.version, decision=PolicyApproval.Decision.APPROVE
    ).select_related("approver")
    return [a for a in given if a.approver.is_active and a.approver.has_perm(APPROVE_PERMISSION)]


def evaluate(
    policy: RetentionPolicy,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    once: bool = False,
) -> Outcome:
    """Evaluate *policy* now: create its retention request for what expired (not on a dry run).

    The policy's row is locked throughout, so two ticks never evaluate it at the same time;
    with *once*, neither one after the other: an evaluation committed since *policy* was read
    (by a tick that found it due at the same moment) leaves nothing to do.
    """
    now = now or timezone.now()
    cap = settings.RETENTION_POLICY_CAP
    seen = policy.last_evaluated_at
    with transaction.atomic():
        policy = (
            RetentionPolicy.objects.select_for_update(of=("self",))
            .select_related("customer")
            .get(pk=policy.pk)
        )
        # The console's switch, locked until this evaluation commits: stopping every policy
        # waits for it, then finds its request and stops it too; an evaluation that starts
        # after the stop reads it.
        RetentionSwitch.locked()
        refused = why_not(policy, now)
        if not refused and once and policy.last_evaluated_at != seen:
            # "After processing" policies are due again at once (next_evaluation_at == now):
            # only the evaluation since, not the schedule, tells a second tick it came late.
            refused = "it was evaluated in the meantime (another tick)"
        if refused:
            return Outcome(policy, None, refused)
        skipped = selection.skipped(policy, now, COUNT_LIMIT)
        evaluation = PolicyEvaluation(
            policy=policy,
            evaluated_at=now,
            dry_run=dry_run,
            cut_off=selection.cut_off(policy, now),
            skipped_open=skipped.open_request,
            skipped_held=skipped.held,
            skipped_exempt=skipped.exempt,
        )
        runs = selection.selectable(policy, now)
        if dry_run:
            due = selection.bounded_count(runs, COUNT_LIMIT)
            evaluation.selected = min(due, cap)
            evaluation.deferred = max(due - cap, 0)
            return Outcome(policy, evaluation)
        req = _request_for(policy, evaluation, runs, cap)
        evaluation.request = req
        if req is not None:
            evaluation.deferred = selection.bounded_count(
                selection.selectable(policy, now), COUNT_LIMIT
            )
        evaluation.save()
        policy.last_evaluated_at = now
        policy.next_evaluation_at = next_evaluation(policy, now)
        policy.save(update_fields=["last_evaluated_at", "next_evaluation_at", "updated_at"])
        audit.record(
            "policy.evaluated",
            obj=policy,
            actor=None,
            source=Source.SYSTEM,
            customer=policy.customer_id,
            request=req,
            detail={
                "cut_off": evaluation.cut_off.isoformat(),
                "selected": evaluation.selected,
                "deferred": evaluation.deferred,
                "skipped_open": evaluation.skipped_open,
                "skipped_held": evaluation.skipped_held,
                "skipped_exempt": evaluation.skipped_exempt,
                "request": req.pk if req else None,
            },
        )
    return Outcome(policy, evaluation)


def _request_for(
    policy: RetentionPolicy, evaluation: PolicyEvaluation, runs: QuerySet[ParseRun], cap: int
) -> DeletionRequest | None:
    """Claim up to *cap* of *runs* into a new retention request, approve it by the policy's
    standing approval, and return it (None, and nothing kept, when nothing is due)."""
    if not runs.exists():
        return None
    approvals = standing_approvals(policy)
    if len(approvals) < policy.required_approvals:
        # An active policy always has them; a policy edited behind the portal's back does not.
        raise RuleViolation(
            f"Retention policy #{policy.pk} lacks the approvals of its version {policy.version}."
        )
    req = DeletionRequest.objects.create(
        customer=policy.customer,
        requested_by=None,
        source=Source.SYSTEM,
        kind=DeletionRequest.Kind.RETENTION,
        scope=DeletionRequest.Scope.FILTER,
        scope_filter=_scope_record(policy, evaluation),
        reason=f"Retention policy “{policy.name}” (#{policy.pk}, version {policy.version}), "
        f"{policy.rule_text}: {policy.reason}",
        retention_policy=policy,
        policy_version=policy.version,
        required_approvals=policy.required_approvals,
        status=DeletionRequest.Status.PENDING_APPROVAL,
        # Part of what the policy's approval covers (its selection), so taken as it is.
        erase_files=policy.erase_files,
    )
    claimed = claim_runs_into_items(req, runs, cap)
    if claimed:
        # An exemption committed while the claim waited for a run's lock is honoured: the claim's
        # selection was read before it, this statement reads after.
        claimed -= release_claimed(req, ParseRun.objects.filter(selection.exempt()))
    if not claimed:
        # Taken by another request in between: no request is kept (nothing names it yet).
        req.delete()
        return None
    req.item_count = claimed
    req.save(update_fields=["item_count"])
    evaluation.selected = req.item_count
    evaluation.noticed = req.item_count > settings.RETENTION_POLICY_NOTICE_THRESHOLD
    audit.record(
        "request.submitted",
        obj=req,
        actor=None,
        source=Source.SYSTEM,
        after={"status": req.status},
        detail={
            "scope": req.scope,
            "items": req.item_count,
            "kind": req.kind,
            "retention_policy": policy.pk,
            "policy_version": policy.version,
            "required_approvals": req.required_approvals,
            "erase_files": req.erase_files,
        },
    )
    not_before = (
        timezone.now() + timedelta(hours=settings.RETENTION_POLICY_NOTICE_HOURS)
        if evaluation.noticed
        else None
    )
    return transitions.approve_under_policy(req, approvals, not_before=not_before)


def _scope_record(policy: RetentionPolicy, evaluation: PolicyEvaluation) -> dict[str, object]:
    """What the request froze, for its page and certificate."""
    record: dict[str, object] = {
        "retention_policy": policy.pk,
        "policy_version": policy.version,
        "rule": policy.rule_text,
        "cut_off": evaluation.cut_off.isoformat(),
    }
    record.update(selection.run_filter(policy).as_record())
    workspaces = sorted(w.pk for w in policy.workspaces.all())
    if workspaces:
        record["workspaces"] = workspaces
    return record


def due_policies(now: datetime, *, ignore_hour: bool = False) -> list[RetentionPolicy]:
    """Active policies due at *now* (with *ignore_hour*: every active one, as the command
    evaluates them whatever the hour of day)."""
    policies = RetentionPolicy.objects.filter(status=ST.ACTIVE).select_related("customer")
    if not ignore_hour:
        policies = policies.filter(next_evaluation_at__lte=now)
    return list(policies.order_by("next_evaluation_at", "pk"))


def evaluate_due(
    now: datetime | None = None,
    *,
    ignore_hour: bool = False,
    dry_run: bool = False,
    policy_id: int | None = None,
) -> list[Outcome]:
    """Evaluate every due policy (or the one named), each in its own transaction: one that
    fails is logged and the others go on."""
    now = now or timezone.now()
    if policy_id is not None:
        policies = list(RetentionPolicy.objects.filter(pk=policy_id).select_related("customer"))
    else:
        policies = due_policies(now, ignore_hour=ignore_hour)
    outcomes = []
    for policy in policies:
        try:
            outcomes.append(evaluate(policy, now=now, dry_run=dry_run, once=True))
        except Exception:
            logger.exception("retention policy #%s could not be evaluated", policy.pk)
            outcomes.append(Outcome(policy, None, "the evaluation failed (see the logs)"))
    return outcomes
