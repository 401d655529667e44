"""Legal holds: runs that must not be deleted while a hold covers them.

A hold covers a customer, a workspace or listed runs. Placing one moves the covered items that
are waiting (pending) to ``held``; the engine never claims held items, and checks once more right
before each DELETE, so a hold placed while a request runs stops its remaining items at once.
Lifting a hold (or its end date passing) sends the items that no other hold covers back to
pending, and a request that had finished meanwhile runs again for them: no new request needed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from deletions import audit
from deletions.accounts.roles import ADMINISTER_PERMISSION as ADMINISTER_PERMISSION
from deletions.core.errors import RuleViolation, TransitionError
from deletions.models import (
    Customer,
    DeletionItem,
    DeletionRequest,
    LegalHold,
    ParseRun,
    Source,
    Workspace,
)
from deletions.requests import transitions
from deletions.requests.hold_coverage import active_holds as active_holds
from deletions.requests.hold_coverage import apply_holds, covered, recount
from deletions.requests.hold_coverage import holds_covering as holds_covering
from deletions.requests.hold_coverage import is_held as is_held
from deletions.signals import announce_work_due
from deletions.workspaces import fence

if TYPE_CHECKING:
    from deletions.audit import Actor

IS = DeletionItem.Status
RS = DeletionRequest.Status
# Customers are told only this; the reason and reference are for staff.
CUSTOMER_NOTICE = "Retained for legal reasons"


def release_holds() -> int:
    """Send held items that no active hold covers any more back to work."""
    free = DeletionItem.objects.filter(status=IS.HELD).exclude(
        Exists(ParseRun.objects.filter(pk=OuterRef("parse_run_id")).filter(covered("")))
    )
    request_ids = set(free.values_list("request_id", flat=True).distinct())
    if not request_ids:
        return 0
    now = timezone.now()
    released = 0
    for req in DeletionRequest.objects.filter(pk__in=request_ids):
        # Items of requests not yet running become due when the request starts.
        due = (
            now if req.status in (RS.RUNNING, RS.PAUSED, *DeletionRequest.FINAL_STATUSES) else None
        )
        released += free.filter(request=req).update(status=IS.PENDING, next_attempt_at=due)
    recount(request_ids)
    for req in DeletionRequest.objects.filter(
        pk__in=request_ids, status__in=[RS.COMPLETED, RS.COMPLETED_WITH_FAILURES]
    ):
        try:
            transitions.reopen_request(req, actor=None, source=Source.SYSTEM)
        except TransitionError:
            continue
    return released


def _require_admin(actor: Actor) -> User:
    if not isinstance(actor, User) or not actor.has_perm(ADMINISTER_PERMISSION):
        raise RuleViolation("Only staff administrators may place or lift legal holds.")
    return actor


def place_hold(
    *,
    scope: str,
    reason: str,
    reference: str,
    actor: Actor,
    source: Source | str,
    customer: Customer | None = None,
    workspace: Workspace | None = None,
    runs: Iterable[ParseRun] = (),
    ends_on: date | None = None,
) -> LegalHold:
    """Place a hold; covered waiting items are held at once. Audited."""
    staff = _require_admin(actor)
    reason, reference = reason.strip(), reference.strip()
    if not reason or not reference:
        raise RuleViolation("A legal hold needs a reason and a reference.")
    if ends_on is not None and ends_on < timezone.localdate():
        raise RuleViolation("The end date of a hold cannot be in the past.")
    run_list = list(runs)
    target = {
        LegalHold.Scope.CUSTOMER: customer,
        LegalHold.Scope.WORKSPACE: workspace,
        LegalHold.Scope.RUNS: run_list or None,
    }.get(LegalHold.Scope(scope))
    if target is None:
        raise RuleViolation("Say what the hold covers: a customer, a workspace or some runs.")
    # Closing every workspace's fence: from this commit on, no DELETE of a covered run is sent.
    with fence.closed(Workspace.objects.values_list("pk", flat=True)):
        hold = LegalHold.objects.create(
            scope=scope,
            customer=customer if scope == LegalHold.Scope.CUSTOMER else None,
            workspace=workspace if scope == LegalHold.Scope.WORKSPACE else None,
            reason=reason,
            reference=reference,
            ends_on=ends_on,
            placed_by=staff,
        )
        if scope == LegalHold.Scope.RUNS:
            hold.runs.set(run_list)
        held = apply_holds()
        audit.record(
            "hold.placed",
            obj=hold,
            actor=actor,
            source=source,
            customer=customer,
            after={"scope": scope, "reference": reference, "ends_on": str(ends_on or "")},
            detail={"reason": reason, "items_held": held, "runs": len(run_list)},
        )
    return hold


def lift_hold(
    hold: LegalHold, *, actor: Actor, source: Source | str, reason: str = ""
) -> LegalHold:
    """Lift a hold: the items it held (and no other hold covers) go back to work. Audited."""
    staff = _require_admin(actor)
    with transaction.atomic():
        locked = LegalHold.objects.select_for_update().get(pk=hold.pk)
        if locked.lifted_at is not None:
            raise TransitionError("This hold has already been lifted.")
        locked.lifted_at, locked.lifted_by, locked.lift_reason = timezone.now(), staff, reason
        locked.save(update_fields=["lifted_at", "lifted_by", "lift_reason"])
        released = release_holds()
        audit.record(
            "hold.lifted",
            obj=locked,
            actor=actor,
            source=source,
            customer=locked.customer,
            detail={"reason": reason, "items_released": released},
        )
    _wake_released()
    return locked


def expire_holds() -> int:
    """Holds whose end date has passed stop holding (the reconciler calls this)."""
    ended = list(LegalHold.objects.filter(lifted_at__isnull=True, ends_on__lt=timezone.localdate()))
    if not ended:
        return 0
    with transaction.atomic():
        released = release_holds()
        for hold in ended:
            audit.record(
                "hold.ended",
                obj=hold,
                actor=None,
                source=Source.SYSTEM,
                customer=hold.customer,
                detail={"ends_on": str(hold.ends_on), "items_released": released},
            )
        LegalHold.objects.filter(pk__in=[h.pk for h in ended]).update(
            lifted_at=timezone.now(), lift_reason="End date passed"
        )
    _wake_released()
    return len(ended)


def _wake_released() -> None:
    announce_work_due(
        DeletionItem.objects.filter(
            status=IS.PENDING, next_attempt_at__isnull=False, request__status=RS.RUNNING
        ).values_list("workspace_id", flat=True)
    )
