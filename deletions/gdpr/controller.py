"""The controller's confirmation of a public intake: before a verified intake can become a
request, the customer (the data controller) confirms that the person is its data subject, or
refuses, each with a reason. Staff approvers may confirm on the customer's behalf, also with a
reason; refusing is the customer's alone (staff dismiss instead).

Mailbox control proves only that the address is the subject's; the customer's records are what
tie the address to the reference. So the customer's admins see both in clear, as do staff who
state why, and every such read is in the audit trail (``intake.viewed``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from deletions import audit
from deletions.accounts.roles import membership_of
from deletions.core import crypto
from deletions.core.errors import RuleViolation, TransitionError
from deletions.gdpr import controller_notices
from deletions.gdpr.intake import close_intake
from deletions.models import ErasureIntake, Source
from deletions.requests.transitions import APPROVE_PERMISSION

if TYPE_CHECKING:
    from deletions.audit import Actor

MAX_REASON_LENGTH = 2000
VIEWED = "intake.viewed"


@dataclass(frozen=True)
class ClearValues:
    """What the data subject typed on the form, decrypted for one page or answer."""

    reference: str
    email: str


def awaiting_confirmation(customer_id: int) -> QuerySet[ErasureIntake]:
    """The customer's intakes whose e-mail is verified and that wait for its confirmation,
    oldest first (the deadline runs from the day received)."""
    return ErasureIntake.objects.filter(
        customer_id=customer_id, status=ErasureIntake.Status.VERIFIED
    ).order_by("received_on", "id")


def _clear_values(intake: ErasureIntake) -> ClearValues:
    if not intake.subject_ref_encrypted:
        raise RuleViolation(f"Intake #{intake.pk} no longer holds the subject's reference.")
    return ClearValues(
        reference=crypto.decrypt(intake.subject_ref_encrypted),
        email=crypto.decrypt(intake.email_encrypted) if intake.email_encrypted else "",
    )


def record_view(
    intake: ErasureIntake,
    *,
    actor: Actor,
    source: Source | str,
    clear: bool = False,
    purpose: str = "",
) -> None:
    """Record that *actor* read *intake* (its masked hints, or with *clear* its clear values)."""
    detail: dict[str, object] = {"clear_values": clear}
    if purpose:
        detail["purpose"] = purpose
    audit.record(
        VIEWED, obj=intake, actor=actor, source=source, customer=intake.customer_id, detail=detail
    )


def show_to_customer_admin(
    intake: ErasureIntake, *, actor: Actor, source: Source | str
) -> ClearValues:
    """The clear reference and address for the customer's own admin, recorded as a read."""
    _customer_admin(intake, actor)
    values = _clear_values(intake)
    record_view(intake, actor=actor, source=source, clear=True)
    return values


def reveal_to_staff(
    intake: ErasureIntake, *, purpose: str, actor: Actor, source: Source | str
) -> ClearValues:
    """The clear reference and address for a staff approver who says why they need them (the
    purpose is recorded with the read)."""
    purpose = purpose.strip()
    if not purpose:
        raise RuleViolation("Say why you need to see the data subject's reference and address.")
    if not _is_staff_approver(actor):
        raise RuleViolation("Only an approver can see the data subject's reference and address.")
    values = _clear_values(intake)
    record_view(intake, actor=actor, source=source, clear=True, purpose=purpose[:MAX_REASON_LENGTH])
    return values


def _is_staff_approver(actor: Actor) -> bool:
    return (
        isinstance(actor, User)
        and actor.is_active
        and membership_of(actor) is None
        and actor.has_perm(APPROVE_PERMISSION)
    )


def _customer_admin(intake: ErasureIntake, actor: Actor) -> bool:
    """Whether *actor* is an admin of the intake's customer; refuses anyone else but a staff
    approver (who acts on the customer's behalf)."""
    membership = membership_of(actor) if isinstance(actor, User) and actor.is_active else None
    if membership is not None:
        if membership.customer_id == intake.customer_id and membership.is_customer_admin:
            return True
        raise RuleViolation("Only the customer's admins can decide on this erasure request.")
    if _is_staff_approver(actor):
        return False
    raise RuleViolation("Only the customer's admins or an approver can decide on this request.")


def _locked_awaiting(intake: ErasureIntake) -> ErasureIntake:
    locked = ErasureIntake.objects.select_for_update().get(pk=intake.pk)
    if locked.status != ErasureIntake.Status.VERIFIED:
        raise TransitionError(
            f"Intake #{intake.pk} is {locked.get_status_display().lower()}: "
            "only one awaiting the customer's confirmation can be confirmed or refused."
        )
    return locked


def _reason(reason: str, what: str) -> str:
    reason = reason.strip()
    if not reason:
        raise RuleViolation(f"Say {what}.")
    return reason[:MAX_REASON_LENGTH]


def confirm_intake(
    intake: ErasureIntake, *, reason: str, actor: Actor, source: Source | str
) -> ErasureIntake:
    """The customer's admin (or a staff approver on its behalf) confirms that the person is the
    customer's data subject: the intake may now be frozen into a request."""
    on_behalf = not _customer_admin(intake, actor)
    reason = _reason(
        reason,
        "why you confirm on the customer's behalf"
        if on_behalf
        else "how you checked that this person is your data subject",
    )
    with transaction.atomic():
        locked = _locked_awaiting(intake)
        locked.status = ErasureIntake.Status.CONFIRMED
        locked.decided_at = timezone.now()
        locked.decided_by = actor if isinstance(actor, User) else None
        locked.decided_on_behalf = on_behalf
        locked.decision_reason = reason
        locked.save(
            update_fields=[
                "status",
                "decided_at",
                "decided_by",
                "decided_on_behalf",
                "decision_reason",
            ]
        )
        audit.record(
            "intake.confirmed",
            obj=locked,
            actor=actor,
            source=source,
            customer=locked.customer_id,
            before={"status": ErasureIntake.Status.VERIFIED},
            after={"status": locked.status},
            detail={"reason": reason, "on_behalf_of_customer": on_behalf},
        )
    return locked


def refuse_intake(
    intake: ErasureIntake, *, reason: str, actor: Actor, source: Source | str
) -> ErasureIntake:
    """The customer's admin cannot confirm the person as its data subject: the intake ends, its
    clear values are erased, and the person is told by e-mail (after commit)."""
    if not _customer_admin(intake, actor):
        raise RuleViolation(
            "Only the customer can refuse an erasure request; staff dismiss it instead."
        )
    reason = _reason(reason, "why you cannot confirm this person")
    with transaction.atomic():
        locked = _locked_awaiting(intake)
        address = crypto.decrypt(locked.email_encrypted) if locked.email_encrypted else ""
        ErasureIntake.objects.filter(pk=locked.pk).update(
            decided_at=timezone.now(),
            decided_by=actor if isinstance(actor, User) else None,
            decided_on_behalf=False,
            decision_reason=reason,
        )
        closed = close_intake(
            locked,
            ErasureIntake.Status.REFUSED,
            actor=actor,
            source=source,
            detail={"reason": reason},
        )
        if address:
            controller_notices.subject_not_confirmed(closed, address)
    return closed
