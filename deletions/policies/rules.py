"""Changing retention policies: propose, change, approve, reject, pause, resume, retire, and the
console's switch for all of them. Every change is audited in the transaction that makes it.

A policy's approval is a standing approval of one *version* of what it selects, given under the
rules of a request: a reason, never by its proposer, and two different approvers when it covers
all of a customer's runs (no narrowing) or, at proposal time, more runs than the large-request
threshold. A change of what it selects is a new version, approved again; pausing is not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from deletions import audit
from deletions.accounts import roles
from deletions.core.errors import RuleViolation, SubmissionError, TransitionError
from deletions.models import (
    Customer,
    DeletionRequest,
    PolicyApproval,
    RetentionPolicy,
    RetentionSwitch,
    Source,
    Workspace,
)
from deletions.policies import selection
from deletions.policies.schedule import next_evaluation
from deletions.requests import transitions
from deletions.requests.submission import MAX_REASON_LENGTH

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from deletions.audit import Actor

PS = PolicyApproval.Decision
ST = RetentionPolicy.Status
# Longest kept periods a policy may name (about 100 years): beyond, it is a typo.
MAX_DAYS = 36_500
MAX_HOURS = 24 * MAX_DAYS
# The fields whose change is a change of what the policy selects (a new version).
SELECTION_FIELDS = (
    "basis",
    "older_than_days",
    "hours_after_processed",
    "file_name_contains",
    "extend_status",
    "metadata_key",
    "metadata_value",
    # Whether the runs' uploaded files go too: what is deleted, so approved like the rest.
    "erase_files",
)


@dataclass
class PolicyValues:
    """What a policy says, as proposed or changed (forms and the API build one)."""

    name: str
    reason: str
    older_than_days: int | None = None
    hours_after_processed: int | None = None
    workspace_ids: list[int] = field(default_factory=list)
    file_name_contains: str = ""
    extend_status: str = ""
    metadata_key: str = ""
    metadata_value: str = ""
    # Whether the runs' uploaded files go too; None: the customer's default on a proposal, the
    # policy's current choice on a change.
    erase_files: bool | None = None

    @property
    def basis(self) -> str:
        return (
            RetentionPolicy.Basis.AGE
            if self.older_than_days is not None
            else RetentionPolicy.Basis.AFTER_PROCESSING
        )

    def cleaned(self, customer: Customer) -> PolicyValues:
        """Stripped and checked; raise SubmissionError with a message a person can act on."""
        name, reason = self.name.strip(), self.reason.strip()
        if not name:
            raise SubmissionError("Please give the policy a name.")
        if len(name) > 200:
            raise SubmissionError("The name is too long (at most 200 characters).")
        if not reason:
            raise SubmissionError("Please give a reason: the contract or duty the policy follows.")
        if len(reason) > MAX_REASON_LENGTH:
            raise SubmissionError(
                f"The reason is too long (at most {MAX_REASON_LENGTH} characters)."
            )
        if (self.older_than_days is None) == (self.hours_after_processed is None):
            raise SubmissionError(
                "Say either after how many days runs expire (older_than_days) or how many hours "
                "after processing (hours_after_processed), not both."
            )
        if self.older_than_days is not None and not 1 <= self.older_than_days <= MAX_DAYS:
            raise SubmissionError(f"Days must be between 1 and {MAX_DAYS:,}.")
        if (
            self.hours_after_processed is not None
            and not 0 <= self.hours_after_processed <= MAX_HOURS
        ):
            raise SubmissionError(f"Hours must be between 0 and {MAX_HOURS:,}.")
        if bool(self.metadata_value) and not self.metadata_key:
            raise SubmissionError("A metadata value needs its key.")
        if self.metadata_key and not self.metadata_key.replace("_", "").replace("-", "").isalnum():
            raise SubmissionError("A metadata key may hold letters, digits, '-' and '_' only.")
        ids = sorted(set(self.workspace_ids))
        if ids:
            known = set(
                Workspace.objects.filter(pk__in=ids, parse_runs__customer=customer)
                .values_list("pk", flat=True)
                .distinct()
            )
            if unknown := [i for i in ids if i not in known]:
                raise SubmissionError(
                    f"Workspace {unknown[0]} holds none of {customer.name}'s runs."
                )
        return PolicyValues(
            name=name,
            reason=reason,
            older_than_days=self.older_than_days,
            hours_after_processed=self.hours_after_processed,
            workspace_ids=ids,
            file_name_contains=self.file_name_contains.strip()[:200],
            extend_status=self.extend_status.strip().upper()[:20],
            metadata_key=self.metadata_key.strip()[:200],
            metadata_value=self.metadata_value.strip()[:500],
            erase_files=self.erase_files,
        )


def may_manage(user: Actor, customer: Customer) -> bool:
    """Who proposes, changes, pauses and resumes *customer*'s policies, and exempts its runs:
    the customer's admins, and staff who approve or operate."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.has_perm(roles.APPROVE_PERMISSION) or user.has_perm(roles.OPERATE_PERMISSION):
        return True
    membership = roles.membership_of(user)
    return bool(
        membership and membership.is_customer_admin and membership.customer_id == customer.pk
    )


def _require_manager(actor: Actor, customer: Customer) -> User:
    if not may_manage(actor, customer):
        raise RuleViolation("You are not allowed to manage this customer's retention policies.")
    return actor  # type: ignore[return-value]


def snapshot(policy: RetentionPolicy) -> dict[str, Any]:
    """What the policy selects, for audit records and approvals."""
    record = {name: getattr(policy, name) for name in SELECTION_FIELDS}
    record["workspaces"] = sorted(w.pk for w in policy.workspaces.all())
    record["version"] = policy.version
    return record


def _required_approvals(policy: RetentionPolicy) -> int:
    """Two approvers for a policy over all the customer's runs, or over more runs than the
    large-request threshold now; one otherwise."""
    narrowed = bool(
        policy.workspaces.exists()
        or policy.file_name_contains
        or policy.extend_status
        or policy.metadata_key
    )
    if not narrowed:
        return 2
    threshold = settings.LARGE_REQUEST_THRESHOLD
    now_expired = selection.bounded_count(selection.expired(policy, timezone.now()), threshold + 1)
    return 2 if now_expired > threshold else 1


def _apply(policy: RetentionPolicy, values: PolicyValues) -> None:
    policy.name = values.name
    policy.reason = values.reason
    policy.basis = values.basis
    policy.older_than_days = values.older_than_days
    policy.hours_after_processed = values.hours_after_processed
    policy.file_name_contains = values.file_name_contains
    policy.extend_status = values.extend_status
    policy.metadata_key = values.metadata_key
    policy.metadata_value = values.metadata_value
    if values.erase_files is not None:
        policy.erase_files = values.erase_files


def propose_policy(
    customer: Customer, values: PolicyValues, *, actor: Actor, source: Source | str
) -> RetentionPolicy:
    """A new policy, pending approval."""
    proposer = _require_manager(actor, customer)
    values = values.cleaned(customer)
    with transaction.atomic():
        policy = RetentionPolicy(
            customer=customer, proposed_by=proposer, erase_files=customer.erase_files_default
        )
        _apply(policy, values)
        policy.save()
        policy.workspaces.set(values.workspace_ids)
        policy.required_approvals = _required_approvals(policy)
        policy.save(update_fields=["required_approvals"])
        audit.record(
            "policy.proposed",
            obj=policy,
            actor=actor,
            source=source,
            customer=customer,
            after=snapshot(policy),
            detail={
                "name": policy.name,
                "reason": policy.reason,
                "required_approvals": policy.required_approvals,
            },
        )
    return policy


def _lock(policy: RetentionPolicy) -> RetentionPolicy:
    return RetentionPolicy.objects.select_for_update().get(pk=policy.pk)


def change_policy(
    policy: RetentionPolicy, values: PolicyValues, *, actor: Actor, source: Source | str
) -> RetentionPolicy:
    """Change a policy. A change of what it selects makes a new version that acts only once
    approved again (the policy goes back to pending approval); a new name or reason does not."""
    changer = _require_manager(actor, policy.customer)
    values = values.cleaned(policy.customer)
    with transaction.atomic():
        policy = _lock(policy)
        if policy.status in (ST.REJECTED, ST.RETIRED):
            raise TransitionError(f"This policy is {policy.get_status_display().lower()}.")
        before = snapshot(policy)
        _apply(policy, values)
        policy.save()
        policy.workspaces.set(values.workspace_ids)
        after = snapshot(policy)
        reselects = {k: v for k, v in after.items() if k != "version"} != {
            k: v for k, v in before.items() if k != "version"
        }
        if reselects:
            policy.version += 1
            policy.status = ST.PENDING_APPROVAL
            policy.proposed_by = changer
            policy.proposed_at = timezone.now()
            policy.approved_at = None
            policy.next_evaluation_at = None
            policy.required_approvals = _required_approvals(policy)
            policy.save()
            after = snapshot(policy)
            _stop_requests(policy, actor=actor, why="its selection changed")
        audit.record(
            "policy.changed",
            obj=policy,
            actor=actor,
            source=source,
            customer=policy.customer_id,
            before=before,
            after=after,
            detail={"needs_approval": reselects, "name": policy.name},
        )
    return policy


def _approvals_of_version(policy: RetentionPolicy) -> QuerySet[PolicyApproval]:
    return policy.approvals.filter(version=policy.version).select_related("approver")


def approve_policy(
    policy: RetentionPolicy, *, actor: Actor, source: Source | str, comment: str = ""
) -> RetentionPolicy:
    """Record *actor*'s approval of the policy's current version; active once enough agreed."""
    approver = transitions.require_approver(actor, "approve retention policies")
    with transaction.atomic():
        policy = _lock(policy)
        if policy.status != ST.PENDING_APPROVAL:
            raise TransitionError(
                f"This policy is {policy.get_status_display().lower()}; it cannot be approved now."
            )
        if roles.same_person(policy.proposed_by, approver):
            raise RuleViolation("You cannot approve a policy you proposed or last changed.")
        given = list(_approvals_of_version(policy))
        if any(roles.same_person(a.approver, approver) for a in given):
            raise RuleViolation("You have already approved this policy; another approver must.")
        PolicyApproval.objects.create(
            policy=policy,
            version=policy.version,
            approver=approver,
            decision=PS.APPROVE,
            comment=comment.strip(),
        )
        count = len(given) + 1
        audit.record(
            "policy.approval_given",
            obj=policy,
            actor=actor,
            source=source,
            customer=policy.customer_id,
            detail={
                "comment": comment,
                "approvals": count,
                "required": policy.required_approvals,
                "version": policy.version,
            },
        )
        if count >= policy.required_approvals:
            now = timezone.now()
            policy.status = ST.ACTIVE
            policy.approved_at = now
            if policy.first_action_at is None:
                policy.first_action_at = now + timedelta(days=settings.RETENTION_POLICY_NOTICE_DAYS)
            policy.next_evaluation_at = next_evaluation(policy, now)
            policy.save()
            audit.record(
                "policy.active",
                obj=policy,
                actor=actor,
                source=source,
                customer=policy.customer_id,
                before={"status": ST.PENDING_APPROVAL},
                after={"status": ST.ACTIVE},
                detail={
                    "first_action_at": policy.first_action_at.isoformat(),
                    "version": policy.version,
                },
            )
    return policy


def reject_policy(
    policy: RetentionPolicy, *, actor: Actor, source: Source | str, reason: str
) -> RetentionPolicy:
    """Refuse the policy's pending version, with a reason."""
    approver = transitions.require_approver(actor, "reject retention policies")
    reason = reason.strip()
    if not reason:
        raise RuleViolation("Please give a reason for the rejection.")
    with transaction.atomic():
        policy = _lock(policy)
        if policy.status != ST.PENDING_APPROVAL:
            raise TransitionError(
                f"This policy is {policy.get_status_display().lower()}; it cannot be rejected now."
            )
        # As with a request: the proposer does not decide on it (they may retire it instead).
        if roles.same_person(policy.proposed_by, approver):
            raise RuleViolation(
                "You cannot decide on a policy you proposed or last changed; retire it instead."
            )
        PolicyApproval.objects.update_or_create(
            policy=policy,
            version=policy.version,
            approver=approver,
            defaults={"decision": PS.REJECT, "comment": reason},
        )
        policy.status = ST.REJECTED
        policy.decision_comment = reason
        policy.next_evaluation_at = None
        policy.save()
        audit.record(
            "policy.rejected",
            obj=policy,
            actor=actor,
            source=source,
            customer=policy.customer_id,
            before={"status": ST.PENDING_APPROVAL},
            after={"status": ST.REJECTED},
            detail={"reason": reason, "version": policy.version},
        )
    return policy


def open_requests(policy: RetentionPolicy) -> QuerySet[DeletionRequest]:
    return DeletionRequest.objects.filter(
        retention_policy=policy, status__in=DeletionRequest.OPEN_STATUSES
    )


def _stop_requests(policy: RetentionPolicy, *, actor: Actor, why: str) -> None:
    """The policy may not act now: its running requests pause at once (the gate sends none of
    their items from the commit on), and those not started are cancelled (the next evaluation
    selects their runs again)."""
    reason = f"Retention policy #{policy.pk} {why}."
    for req in open_requests(policy).order_by("pk"):
        if req.status == DeletionRequest.Status.RUNNING:
            transitions.pause_request(req, actor=actor, source=Source.SYSTEM, reason=reason)
        elif transitions.can("cancel", req):
            transitions.cancel_request(req, actor=actor, source=Source.SYSTEM, reason=reason)


def _resume_requests(policy: RetentionPolicy, *, actor: Actor) -> None:
    for req in open_requests(policy).filter(status=DeletionRequest.Status.PAUSED).order_by("pk"):
        transitions.resume_request(req, actor=actor, source=Source.SYSTEM)


def pause_policy(
    policy: RetentionPolicy, *, actor: Actor, source: Source | str, reason: str = ""
) -> RetentionPolicy:
    """The policy's kill switch: no evaluation until resumed, and its requests stop at once."""
    _require_manager(actor, policy.customer)
    with transaction.atomic():
        policy = _lock(policy)
        if policy.status != ST.ACTIVE:
            raise TransitionError(
                f"This policy is {policy.get_status_display().lower()}; only an active policy "
                "can be paused."
            )
        policy.status = ST.PAUSED
        policy.paused_at = timezone.now()
        policy.paused_by = actor  # type: ignore[assignment]
        policy.pause_reason = reason.strip()
        policy.save()
        _stop_requests(policy, actor=actor, why="was paused")
        audit.record(
            "policy.paused",
            obj=policy,
            actor=actor,
            source=source,
            customer=policy.customer_id,
            before={"status": ST.ACTIVE},
            after={"status": ST.PAUSED},
            detail={"reason": policy.pause_reason},
        )
    return policy


def resume_policy(
    policy: RetentionPolicy, *, actor: Actor, source: Source | str
) -> RetentionPolicy:
    """Let a paused policy act again (its approval stands: pausing changed nothing it selects);
    its paused requests run on, unless the console's switch stops all policies."""
    _require_manager(actor, policy.customer)
    with transaction.atomic():
        policy = _lock(policy)
        if policy.status != ST.PAUSED:
            raise TransitionError("Only a paused policy can be resumed.")
        policy.status = ST.ACTIVE
        policy.paused_at = None
        policy.paused_by = None
        policy.pause_reason = ""
        policy.next_evaluation_at = next_evaluation(policy, timezone.now())
        policy.save()
        if not RetentionSwitch.current().stopped_at:
            _resume_requests(policy, actor=actor)
        audit.record(
            "policy.resumed",
            obj=policy,
            actor=actor,
            source=source,
            customer=policy.customer_id,
            before={"status": ST.PAUSED},
            after={"status": ST.ACTIVE},
        )
    return policy


def retire_policy(
    policy: RetentionPolicy, *, actor: Actor, source: Source | str, reason: str = ""
) -> RetentionPolicy:
    """End a policy for good (it stays on record with its evaluations); its requests stop."""
    _require_manager(actor, policy.customer)
    with transaction.atomic():
        policy = _lock(policy)
        if policy.status not in RetentionPolicy.OPEN_STATUSES:
            raise TransitionError(f"This policy is already {policy.get_status_display().lower()}.")
        before = policy.status
        policy.status = ST.RETIRED
        policy.next_evaluation_at = None
        policy.save()
        _stop_requests(policy, actor=actor, why="was retired")
        audit.record(
            "policy.retired",
            obj=policy,
            actor=actor,
            source=source,
            customer=policy.customer_id,
            before={"status": before},
            after={"status": ST.RETIRED},
            detail={"reason": reason.strip()},
        )
    return policy


def stop_all(*, actor: Actor, source: Source | str, reason: str) -> RetentionSwitch:
    """The console's kill switch: no policy is evaluated, and every retention request in
    progress stops at once, until staff turn it back on."""
    transitions.require_operator(actor, "stop every retention policy")
    reason = reason.strip()
    if not reason:
        raise RuleViolation("Please say why every retention policy is stopped.")
    with transaction.atomic():
        switch = RetentionSwitch.locked()
        if switch.stopped_at:
            raise TransitionError("Retention policies are already stopped.")
        switch.stopped_at = timezone.now()
        switch.stopped_by = actor  # type: ignore[assignment]
        switch.reason = reason
        switch.save()
        for policy in RetentionPolicy.objects.filter(
            requests__status__in=DeletionRequest.OPEN_STATUSES
        ).distinct():
            _stop_requests(policy, actor=actor, why="is stopped with every policy (console switch)")
        audit.record(
            "policy.all_stopped", obj=switch, actor=actor, source=source, detail={"reason": reason}
        )
    return switch


def restart_all(*, actor: Actor, source: Source | str) -> RetentionSwitch:
    """Turn the console's switch back on: active policies act again and their paused requests
    resume (those of paused policies stay paused)."""
    transitions.require_operator(actor, "restart retention policies")
    with transaction.atomic():
        switch = RetentionSwitch.locked()
        if not switch.stopped_at:
            raise TransitionError("Retention policies are not stopped.")
        stopped = asdict_switch(switch)
        switch.stopped_at = None
        switch.stopped_by = None
        switch.reason = ""
        switch.save()
        for policy in RetentionPolicy.objects.filter(status=ST.ACTIVE):
            _resume_requests(policy, actor=actor)
        audit.record("policy.all_restarted", obj=switch, actor=actor, source=source, before=stopped)
    return switch


def asdict_switch(switch: RetentionSwitch) -> dict[str, Any]:
    return {
        "stopped_at": switch.stopped_at.isoformat() if switch.stopped_at else None,
        "reason": switch.reason,
    }
