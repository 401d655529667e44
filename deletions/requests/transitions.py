"""Every state change of a deletion request or item, one function per transition.

Each function locks the request row, checks the current state against the lifecycle in
DESIGN.md, raises :class:`TransitionError` for an illegal move (leaving no trace), saves with
``update_fields`` and writes the audit record in the same transaction. Views, the admin, the API
and the tasks all call these; nothing else assigns ``status``.

One module although it is long: it is the lifecycle, read top to bottom against DESIGN.md's
table (requests, then the items the engine moves), and a move split from its neighbours is
where an illegal path would hide.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from deletions import audit
from deletions.accounts.roles import APPROVE_PERMISSION as APPROVE_PERMISSION
from deletions.accounts.roles import OPERATE_PERMISSION as OPERATE_PERMISSION
from deletions.accounts.roles import same_person
from deletions.core.errors import RuleViolation, TransitionError
from deletions.models import (
    Approval,
    DeletionItem,
    DeletionRequest,
    FileErasure,
    OwnershipConflict,
    ParseRun,
    PolicyApproval,
    Source,
)
from deletions.requests import cooling_off, files, tombstones
from deletions.requests.grounds import checked_ground
from deletions.requests.hold_coverage import apply_holds
from deletions.workspaces import fence

if TYPE_CHECKING:
    from deletions.audit import Actor

RS = DeletionRequest.Status
IS = DeletionItem.Status

# The request lifecycle, one entry per transition: the statuses it may start from and the status
# it leads to ("finish" leads to completed or completed_with_failures, by the item outcomes).
REQUEST_TRANSITIONS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "verify": (frozenset({RS.AWAITING_VERIFICATION}), frozenset({RS.PENDING_APPROVAL})),
    "expire": (frozenset({RS.AWAITING_VERIFICATION}), frozenset({RS.EXPIRED})),
    "approve": (frozenset({RS.PENDING_APPROVAL}), frozenset({RS.APPROVED})),
    "reject": (frozenset({RS.PENDING_APPROVAL}), frozenset({RS.REJECTED})),
    "cancel": (DeletionRequest.CANCELLABLE_STATUSES, frozenset({RS.CANCELLED})),
    "start": (frozenset({RS.APPROVED}), frozenset({RS.RUNNING})),
    "pause": (frozenset({RS.RUNNING}), frozenset({RS.PAUSED})),
    "resume": (frozenset({RS.PAUSED}), frozenset({RS.RUNNING})),
    "finish": (frozenset({RS.RUNNING}), frozenset({RS.COMPLETED, RS.COMPLETED_WITH_FAILURES})),
    "retry": (frozenset({RS.COMPLETED_WITH_FAILURES}), frozenset({RS.RUNNING})),
    # A legal hold was lifted after the rest of the request had finished: its items resume.
    "reopen": (frozenset({RS.COMPLETED, RS.COMPLETED_WITH_FAILURES}), frozenset({RS.RUNNING})),
}

# The item lifecycle. In flight may go back to pending: a retry scheduled for later.
ITEM_TRANSITIONS: dict[str, frozenset[str]] = {
    IS.PENDING: frozenset({IS.IN_FLIGHT, IS.HELD}),
    IS.IN_FLIGHT: frozenset(
        {IS.PENDING, IS.UNCONFIRMED, IS.DELETED, IS.ALREADY_GONE, IS.FAILED, IS.HELD}
    ),
    # A 404 awaiting proof: confirmed gone once the workspace is shown healthy around it, or sent
    # again when it came under other credentials.
    IS.UNCONFIRMED: frozenset({IS.ALREADY_GONE, IS.PENDING}),
    IS.FAILED: frozenset({IS.PENDING}),
    IS.HELD: frozenset({IS.PENDING}),
    # A verification GET still found the run after Extend acknowledged its DELETE: sent again,
    # or failed after a few such verifications.
    IS.DELETED: frozenset({IS.PENDING, IS.FAILED}),
}


# Hooks run after commit of a transition, e.g. to wake workers or send e-mail. Registered by
# the modules that own those effects, so this module stays free of tasks and templates.
_after_commit_hooks: list[Callable[[DeletionRequest, str, str], None]] = []


def on_transition(hook: Callable[[DeletionRequest, str, str], None]) -> None:
    """Register *hook(request, before, after)* to run after any committed request transition."""
    if hook not in _after_commit_hooks:
        _after_commit_hooks.append(hook)


def can(transition: str, request: DeletionRequest) -> bool:
    """Whether *transition* is allowed from *request*'s current status (for showing buttons)."""
    return request.status in REQUEST_TRANSITIONS[transition][0]


def _check(req: DeletionRequest, transition: str) -> None:
    if not can(transition, req):
        raise TransitionError(
            f"Request #{req.pk} is {req.get_status_display().lower()}; "
            f"it cannot be {_PAST[transition]} now."
        )


_PAST = {
    "verify": "verified",
    "expire": "expired",
    "approve": "approved",
    "reject": "rejected",
    "cancel": "cancelled",
    "start": "started",
    "pause": "paused",
    "resume": "resumed",
    "finish": "finished",
    "retry": "retried",
    "reopen": "reopened",
}


def _lock(request: DeletionRequest) -> DeletionRequest:
    return DeletionRequest.objects.select_for_update().get(pk=request.pk)


def _move(
    req: DeletionRequest,
    transition: str,
    target: str,
    *,
    actor: Actor,
    source: Source | str,
    fields: tuple[str, ...] = (),
    detail: dict[str, object] | None = None,
) -> DeletionRequest:
    """Move the locked *req* by *transition* to *target*, saving *fields* too, and audit it."""
    _check(req, transition)
    assert target in REQUEST_TRANSITIONS[transition][1]
    before = req.status
    req.status = target
    req.save(update_fields=["status", "updated_at", *fields])
    audit.record(
        f"request.{target}",
        obj=req,
        actor=actor,
        source=source,
        before={"status": before},
        after={"status": target},
        detail=detail,
    )
    for hook in _after_commit_hooks:
        transaction.on_commit(lambda hook=hook: hook(req, before, target))  # type: ignore[misc]
    return req


def _require_perm(actor: Actor, perm: str, what: str) -> User:
    """Return *actor* as a user if they hold *perm*; refuse otherwise."""
    if not isinstance(actor, User) or not actor.is_active or not actor.has_perm(perm):
        raise RuleViolation(f"You are not allowed to {what}.")
    return actor


def require_approver(actor: Actor, what: str) -> User:
    """*actor* as a user who may approve (requests, and retention policies under the same
    rules); refuse otherwise with "You are not allowed to *what*"."""
    return _require_perm(actor, APPROVE_PERMISSION, what)


def require_operator(actor: Actor, what: str) -> User:
    """*actor* as a user who may pause, resume and retry deletion work."""
    return _require_perm(actor, OPERATE_PERMISSION, what)


def requested_by_same_person(req: DeletionRequest, user: User) -> bool:
    """Four eyes: whether the person behind *user* also stands behind *req*'s requester."""
    return same_person(req.requested_by, user)


def decided_by_same_person(approvals: Iterable[Approval], user: User) -> bool:
    """Four eyes: whether the person behind *user* already gave one of *approvals*."""
    return any(same_person(a.approver, user) for a in approvals)


def _release_runs(req: DeletionRequest, *, keep_unfinished: bool = False) -> None:
    """Let the request's runs be requested again.

    With *keep_unfinished*, its failed runs (staff may retry them) and held runs (they resume
    when the hold is lifted) stay reserved by it.
    """
    runs = ParseRun.objects.filter(open_request=req)
    if keep_unfinished:
        runs = runs.exclude(items__request=req, items__status__in=[IS.FAILED, IS.HELD])
    runs.update(open_request=None)
    _settle_conflicts(req)


def _settle_conflicts(req: DeletionRequest) -> None:
    """Apply the ownership changes Extend announced while *req* held its runs (frozen until
    now): a run the request released moves to the customer Extend names, audited; a run it
    deleted has nothing to move. Runs it still holds (failed, held) keep waiting."""
    now = timezone.now()
    conflicts = OwnershipConflict.objects.filter(request=req, resolved_at__isnull=True)
    for conflict in conflicts.select_related("parse_run", "observed_customer"):
        run = conflict.parse_run
        if run.open_request_id == req.pk:
            continue
        if run.state == ParseRun.State.DELETED:
            conflict.resolution = f"Deleted by request #{req.pk}; nothing to move."
        elif ParseRun.objects.filter(pk=run.pk, open_request__isnull=True).update(
            customer=conflict.observed_customer
        ):
            conflict.resolution = f"Moved to {conflict.observed_customer} when #{req.pk} ended."
            audit.record(
                "run.owner_changed",
                obj=run,
                actor=None,
                source=Source.SYSTEM,
                customer=conflict.observed_customer_id,
                before={"customer": conflict.current_customer_id},
                after={"customer": conflict.observed_customer_id},
                detail={"run_id": run.run_id, "request": req.pk, "seen_by": conflict.source},
            )
        else:
            continue  # already in another open request: settled when that one ends
        conflict.resolved_at = now
        conflict.save(update_fields=["resolution", "resolved_at"])


def verify_request(
    request: DeletionRequest, *, actor: Actor, source: Source | str
) -> DeletionRequest:
    """The data subject confirmed their e-mail: the request goes to the approval queue."""
    with transaction.atomic():
        req = _lock(request)
        return _move(req, "verify", RS.PENDING_APPROVAL, actor=actor, source=source)


def expire_request(
    request: DeletionRequest, *, actor: Actor, source: Source | str
) -> DeletionRequest:
    """An unverified request passed its verification deadline."""
    with transaction.atomic():
        req = _lock(request)
        req = _move(req, "expire", RS.EXPIRED, actor=actor, source=source)
        _release_runs(req)
        return req


def approve_request(
    request: DeletionRequest,
    *,
    actor: Actor,
    source: Source | str,
    comment: str = "",
) -> DeletionRequest:
    """Record *actor*'s approval; the request becomes approved once enough approvers agreed.

    Four eyes, between people (a service account counts as the person who created it): the
    requester never approves their own request, and nobody approves twice.
    """
    approver = _require_perm(actor, APPROVE_PERMISSION, "approve deletion requests")
    with transaction.atomic():
        req = _lock(request)
        _check(req, "approve")
        if requested_by_same_person(req, approver):
            raise RuleViolation("You cannot approve a request you made yourself.")
        if decided_by_same_person(req.approvals.select_related("approver"), approver):
            raise RuleViolation("You have already approved this request; another approver must.")
        Approval.objects.create(
            request=req, approver=approver, decision=Approval.Decision.APPROVE, comment=comment
        )
        given = req.approvals.filter(decision=Approval.Decision.APPROVE).count()
        audit.record(
            "request.approval_given",
            obj=req,
            actor=actor,
            source=source,
            detail={"comment": comment, "approvals": given, "required": req.required_approvals},
        )
        if given >= req.required_approvals:
            req.approved_at = timezone.now()
            window = cooling_off.window(req, req.approved_at)
            req.execute_after = window.execute_after
            _move(
                req,
                "approve",
                RS.APPROVED,
                actor=actor,
                source=source,
                fields=("approved_at", "execute_after"),
                detail={"execute_after": req.execute_after.isoformat()}
                if req.customer.cooling_off_hours
                else None,
            )
            if window.shortened_from is not None:
                # A GDPR deadline outranks the customer's window: the timeline says so.
                audit.record(
                    "request.cooling_off_shortened",
                    obj=req,
                    actor=None,
                    source=Source.SYSTEM,
                    before={"execute_after": window.shortened_from.isoformat()},
                    after={"execute_after": window.execute_after.isoformat()},
                    detail={
                        "why": f"the GDPR due date is {req.effective_due_on:%-d %B %Y}: "
                        "execution starts no later than that day",
                        "cooling_off_hours": req.customer.cooling_off_hours,
                    },
                )
        return req


def approve_under_policy(
    request: DeletionRequest,
    approvals: Iterable[PolicyApproval],
    *,
    not_before: datetime | None = None,
) -> DeletionRequest:
    """Approve a retention request by its policy's standing approval: each approval of the
    policy's version becomes one of the request's (its timeline and certificate name them), and
    the request waits for the customer's cooling-off window, or until *not_before* if later (a
    large evaluation's notice period)."""
    approvals = list(approvals)
    with transaction.atomic():
        req = _lock(request)
        _check(req, "approve")
        if req.kind != DeletionRequest.Kind.RETENTION or req.retention_policy_id is None:
            raise RuleViolation("Only a retention request is approved by its policy.")
        given = [a for a in approvals if a.decision == PolicyApproval.Decision.APPROVE]
        if len(given) < req.required_approvals:
            raise RuleViolation(
                f"Retention policy #{req.retention_policy_id} has {len(given)} of the "
                f"{req.required_approvals} approvals it needs."
            )
        Approval.objects.bulk_create(
            Approval(
                request=req,
                approver_id=a.approver_id,
                decision=Approval.Decision.APPROVE,
                comment=f"Standing approval of retention policy #{a.policy_id} "
                f"(version {a.version})" + (f": {a.comment}" if a.comment else ""),
                created_at=a.created_at,
            )
            for a in given
        )
        req.approved_at = timezone.now()
        window = cooling_off.window(req, req.approved_at)
        req.execute_after = max(window.execute_after, not_before or window.execute_after)
        return _move(
            req,
            "approve",
            RS.APPROVED,
            actor=None,
            source=Source.SYSTEM,
            fields=("approved_at", "execute_after"),
            detail={
                "retention_policy": req.retention_policy_id,
                "policy_version": req.policy_version,
                "approved_by": [a.approver_id for a in given],
                "execute_after": req.execute_after.isoformat(),
            },
        )


def reject_request(
    request: DeletionRequest,
    *,
    actor: Actor,
    source: Source | str,
    reason: str,
    ground: str = "",
) -> DeletionRequest:
    """Reject with a reason that the requester will see.

    A GDPR erasure request is refused only on a *ground* (:mod:`deletions.requests.grounds`:
    Art. 17(3) or an unverified identity), with *reason* as the explanation; a standard request
    takes none.
    """
    approver = _require_perm(actor, APPROVE_PERMISSION, "reject deletion requests")
    reason = reason.strip()
    if not reason:
        raise RuleViolation("A rejection needs a reason; the requester will see it.")
    with transaction.atomic():
        req = _lock(request)
        _check(req, "reject")
        if requested_by_same_person(req, approver):
            raise RuleViolation("You cannot decide on your own request; cancel it instead.")
        ground = checked_ground(ground, gdpr=req.kind == DeletionRequest.Kind.GDPR)
        Approval.objects.create(
            request=req, approver=approver, decision=Approval.Decision.REJECT, comment=reason
        )
        req.decision_comment = reason
        req.refusal_ground = ground
        req.finished_at = timezone.now()
        _move(
            req,
            "reject",
            RS.REJECTED,
            actor=actor,
            source=source,
            fields=("decision_comment", "refusal_ground", "finished_at"),
            detail={"reason": reason, **({"ground": ground} if ground else {})},
        )
        _release_runs(req)
        return req


def _workspaces_of(request: DeletionRequest) -> list[int]:
    """The workspaces a request's items are sent to: the fences its cancel or pause closes."""
    return list(
        DeletionItem.objects.filter(request_id=request.pk)
        .order_by()
        .values_list("workspace_id", flat=True)
        .distinct()
    )


CANCEL_REASON_REQUIRED = (
    "Say why this GDPR erasure request is cancelled: staff see it on the request, and the data "
    "subject is told it if they gave an address."
)


def cancel_request(
    request: DeletionRequest, *, actor: Actor, source: Source | str, reason: str = ""
) -> DeletionRequest:
    """Withdraw a request that has not started running. Nothing is sent to Extend after this.

    A GDPR erasure request is the exercise of a right: it is cancelled only with a *reason*,
    kept in the audit record (the request's timeline) and told to the data subject.
    """
    reason = reason.strip()
    with fence.closed(_workspaces_of(request)):
        req = _lock(request)
        _check(req, "cancel")
        if req.kind == DeletionRequest.Kind.GDPR and not reason:
            raise RuleViolation(CANCEL_REASON_REQUIRED)
        req.finished_at = timezone.now()
        _move(
            req,
            "cancel",
            RS.CANCELLED,
            actor=actor,
            source=source,
            fields=("finished_at",),
            detail={"reason": reason} if reason else None,
        )
        _release_runs(req)
        return req


def start_request(
    request: DeletionRequest, *, actor: Actor, source: Source | str
) -> DeletionRequest:
    """Execution begins: the request's items become due, so the engine may claim them.

    Refused during the customer's cooling-off window: nothing may be sent before it ends.
    Items that a legal hold covers are held instead.
    """
    with transaction.atomic():
        req = _lock(request)
        _check(req, "start")
        if req.execute_after and req.execute_after > timezone.now():
            raise TransitionError(
                f"Request #{req.pk} is in its cooling-off window until "
                f"{timezone.localtime(req.execute_after):%Y-%m-%d %H:%M}."
            )
        req.started_at = req.started_at or timezone.now()
        DeletionItem.objects.filter(
            request=req, status=IS.PENDING, next_attempt_at__isnull=True
        ).update(next_attempt_at=req.started_at)
        # The files its runs use, as the inventory knows them now (they go after the runs).
        files.plan(req)
        apply_holds()
        return _move(req, "start", RS.RUNNING, actor=actor, source=source, fields=("started_at",))


def pause_request(
    request: DeletionRequest, *, actor: Actor, source: Source | str, reason: str = ""
) -> DeletionRequest:
    """Stop a running request: from the commit on, none of its items is sent."""
    if source != Source.SYSTEM and source != Source.WORKER:
        _require_perm(actor, OPERATE_PERMISSION, "pause deletion work")
    # The fence: from this commit on, no DELETE of the request is sent (deletions.workspaces.fence).
    with fence.closed(_workspaces_of(request)):
        req = _lock(request)
        return _move(req, "pause", RS.PAUSED, actor=actor, source=source, detail={"reason": reason})


def resume_request(
    request: DeletionRequest, *, actor: Actor, source: Source | str
) -> DeletionRequest:
    """Let a paused request run again. The system resumes the requests a retention policy's
    pause stopped when the policy is resumed (deletions.policies.rules)."""
    if source != Source.SYSTEM:
        _require_perm(actor, OPERATE_PERMISSION, "resume deletion work")
    with transaction.atomic():
        req = _lock(request)
        return _move(req, "resume", RS.RUNNING, actor=actor, source=source)


def finish_request(
    request: DeletionRequest, *, actor: Actor, source: Source | str
) -> DeletionRequest:
    """A running request whose items are all terminal becomes completed (with failures or not).

    With its runs done, its files get their turn (:func:`files.release`): it finishes once they
    are done too.
    """
    files.release_if_runs_done(request.pk)  # committed, whatever follows
    with transaction.atomic():
        req = _lock(request)
        _check(req, "finish")
        if req.remaining_count:
            raise TransitionError(
                f"Request #{req.pk} still has {req.remaining_count} unfinished items."
            )
        file_counts = files.counts(req.pk) if req.erase_files else {}
        if left := sum(file_counts.get(str(status), 0) for status in FileErasure.OPEN_STATUSES):
            raise TransitionError(f"Request #{req.pk} still has {left} files to erase.")
        failed = req.failed_count or file_counts.get(files.FS.FAILED, 0)
        target = RS.COMPLETED_WITH_FAILURES if failed else RS.COMPLETED
        req.finished_at = timezone.now()
        _move(
            req,
            "finish",
            target,
            actor=actor,
            source=source,
            fields=("finished_at",),
            detail={
                "deleted": req.deleted_count,
                "already_gone": req.already_gone_count,
                "failed": req.failed_count,
                "held": req.held_count,
                **({"files": file_counts} if file_counts else {}),
            },
        )
        _release_runs(req, keep_unfinished=True)
        return req


def retry_failed_items(
    request: DeletionRequest, *, actor: Actor, source: Source | str
) -> DeletionRequest:
    """Staff send a request's failed items round again."""
    _require_perm(actor, OPERATE_PERMISSION, "retry failed deletions")
    with transaction.atomic():
        req = _lock(request)
        _check(req, "retry")
        retried = DeletionItem.objects.filter(request=req, status=IS.FAILED).update(
            status=IS.PENDING, attempts=0, next_attempt_at=timezone.now(), last_error=""
        )
        files.reopen(req.pk)
        req.failed_count = 0
        req.finished_at = None
        return _move(
            req,
            "retry",
            RS.RUNNING,
            actor=actor,
            source=source,
            fields=("failed_count", "finished_at"),
            detail={"retried_items": retried},
        )


def reopen_request(
    request: DeletionRequest, *, actor: Actor, source: Source | str
) -> DeletionRequest:
    """A finished request runs again because items it had on legal hold were released."""
    with transaction.atomic():
        req = _lock(request)
        if not req.remaining_count:
            raise TransitionError(f"Request #{req.pk} has nothing left to do.")
        files.reopen(req.pk)
        req.finished_at = None
        return _move(req, "reopen", RS.RUNNING, actor=actor, source=source, fields=("finished_at",))


def hold_item(item: DeletionItem) -> bool:
    """A claimed item turned out to be under a legal hold: it waits, nothing is sent."""
    with transaction.atomic():
        moved = _claimed(item).update(
            status=IS.HELD, lease_expires_at=None, next_attempt_at=None, claim_token=None
        )
        if moved:
            DeletionRequest.objects.filter(pk=item.request_id).update(
                held_count=F("held_count") + 1
            )
            DeletionItem.objects.filter(pk=item.pk).update(attempts=F("attempts") - 1)
        return bool(moved)


# --- Items. The engine moves many items at once, so these are conditional updates on the item
# row (which double as the claim check) plus counter updates on the request row. ---


def _claimed(item: DeletionItem | FileErasure) -> QuerySet[Any]:
    """*item*'s row (a run's item, or a file) if it is still in flight under *item*'s own claim
    (the fencing token): a runner whose claim was taken over changes nothing."""
    return type(item).objects.filter(pk=item.pk, status=IS.IN_FLIGHT, claim_token=item.claim_token)


def complete_item(
    item: DeletionItem,
    target: str,
    *,
    http_status: int | None,
    extend_request_id: str = "",
    error: str = "",
    at: datetime | None = None,
    answer_lost: bool = False,
) -> bool:
    """Move an in-flight item to a terminal state and update its request's counters.

    *answer_lost*: deleted, but the answer to the portal's own DELETE was lost.

    Returns False if the item was no longer in flight (another worker's lease took it over):
    the caller's outcome is then recorded in the attempt log only.
    """
    if target not in ITEM_TRANSITIONS[IS.IN_FLIGHT] or target in (IS.PENDING, IS.UNCONFIRMED):
        raise TransitionError(f"An in-flight item cannot become {target}.")
    now = at or timezone.now()
    with transaction.atomic():
        fields: dict[str, object] = {
            "status": target,
            "last_http_status": http_status,
            "last_request_id": extend_request_id,
            "last_error": error,
            "lease_expires_at": None,
            "next_attempt_at": None,
            "claim_token": None,
        }
        if target in (IS.DELETED, IS.ALREADY_GONE):
            fields["confirmed_at"] = now
        if answer_lost:
            fields["answer_lost"] = True
        moved = _claimed(item).update(**fields)
        if not moved:
            return False
        counter = {
            IS.DELETED: "deleted_count",
            IS.ALREADY_GONE: "already_gone_count",
            IS.FAILED: "failed_count",
        }[IS(target)]
        DeletionRequest.objects.filter(pk=item.request_id).update(**{counter: F(counter) + 1})
        if target in (IS.DELETED, IS.ALREADY_GONE):
            tombstones.bury([item.parse_run_id], request_id=item.request_id, at=now)
        return True


def reschedule_item(
    item: DeletionItem | FileErasure,
    *,
    next_attempt_at: datetime,
    http_status: int | None,
    extend_request_id: str = "",
    error: str = "",
    count_attempt: bool = True,
) -> bool:
    """Put an in-flight item (or file) back to pending, to be tried again at
    *next_attempt_at*."""
    updates: dict[str, object] = {
        "status": IS.PENDING,
        "next_attempt_at": next_attempt_at,
        "lease_expires_at": None,
        "claim_token": None,
        "last_http_status": http_status,
        "last_request_id": extend_request_id,
        "last_error": error,
    }
    if not count_attempt:
        # A call that never reached a decision at Extend (rate limit, stopped workspace)
        # does not use up the item's retry budget.
        updates["attempts"] = F("attempts") - 1
    return bool(_claimed(item).update(**updates))


def unconfirm_item(
    item: DeletionItem | FileErasure, *, http_status: int | None, extend_request_id: str = ""
) -> bool:
    """Extend answered 404 to the portal's first DELETE of *item* (or file): evidence, not
    proof. The item
    waits, under the credentials version it was claimed with, for the workspace to be shown
    healthy (:func:`confirm_unconfirmed`) or its credentials to change
    (:func:`requeue_unconfirmed`).
    """
    return bool(
        _claimed(item).update(
            status=IS.UNCONFIRMED,
            unconfirmed_at=timezone.now(),
            lease_expires_at=None,
            next_attempt_at=None,
            claim_token=None,
            last_http_status=http_status,
            last_request_id=extend_request_id,
            last_error="Extend answered 404. Awaiting proof that the workspace is healthy.",
        )
    )


def confirm_unconfirmed(workspace_id: int, *, version: int, proven_at: datetime) -> int:
    """The workspace answered well after these 404s, under the same credentials: the runs they
    concern are gone (already gone, not deleted by the portal). Returns how many."""
    with transaction.atomic():
        items = DeletionItem.objects.select_for_update().filter(
            workspace_id=workspace_id,
            status=IS.UNCONFIRMED,
            claim_version=version,
            unconfirmed_at__lt=proven_at,
        )
        rows = list(items.values_list("pk", "request_id", "parse_run_id"))
        if not rows:
            return 0
        pks = [pk for pk, _, _ in rows]
        DeletionItem.objects.filter(pk__in=pks).update(
            status=IS.ALREADY_GONE, confirmed_at=proven_at, last_error=""
        )
        per_request: dict[int, int] = {}
        for _, request_id, _ in rows:
            per_request[request_id] = per_request.get(request_id, 0) + 1
        for request_id, count in per_request.items():
            DeletionRequest.objects.filter(pk=request_id).update(
                already_gone_count=F("already_gone_count") + count
            )
            tombstones.bury(
                [run for _, req, run in rows if req == request_id],
                request_id=request_id,
                at=proven_at,
            )
        return len(rows)


def requeue_unconfirmed(workspace_id: int, *, version: int) -> int:
    """404s that came under other credentials than *version* prove nothing now: send again."""
    return (
        DeletionItem.objects.filter(workspace_id=workspace_id, status=IS.UNCONFIRMED)
        .exclude(claim_version=version)
        .update(status=IS.PENDING, next_attempt_at=timezone.now(), unconfirmed_at=None)
    )


def unverify_item(item: DeletionItem, *, give_up: bool) -> bool:
    """Extend acknowledged *item*'s DELETE, yet a GET still finds the run: it is not gone.

    The item goes back to pending (its DELETE is sent again) or, with *give_up*, fails; either
    way its run is present again and stays with the request.
    """
    target = IS.FAILED if give_up else IS.PENDING
    with transaction.atomic():
        moved = DeletionItem.objects.filter(pk=item.pk, status=IS.DELETED).update(
            status=target,
            confirmed_at=None,
            verified_at=None,
            verify_due_at=None,
            verify_failures=F("verify_failures") + 1,
            next_attempt_at=None if give_up else timezone.now(),
            last_error=(
                "Extend acknowledged the DELETE, but the run is still there"
                + ("; given up after repeated checks." if give_up else "; sending it again.")
            ),
        )
        if not moved:
            return False
        counters: dict[str, object] = {"deleted_count": F("deleted_count") - 1}
        if give_up:
            counters["failed_count"] = F("failed_count") + 1
        DeletionRequest.objects.filter(pk=item.request_id).update(**counters)
        run: dict[str, object] = {
            "state": ParseRun.State.PRESENT,
            "deleted_at": None,
            "deleted_by_request": None,
            "open_request_id": item.request_id,
        }
        # The tombstone forgot the run's file name and metadata: the name comes back from the
        # item, the metadata with the next sync (Extend still lists the run).
        name = DeletionItem.objects.filter(pk=item.pk).values_list("file_name", flat=True)[0]
        if name:
            run["file_name"] = name
        ParseRun.objects.filter(pk=item.parse_run_id).update(**run)
        return True
