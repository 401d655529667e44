"""Art. 19 recipients: who each customer's data was disclosed to, and that each was informed of
a completed GDPR erasure (when, and by what means).

Extend, the operator's processor, holds every run: it is always a recipient, informed by the
erasure itself (the portal's DELETE calls), so it is listed first and is no row staff keep.
:func:`recipients_for_notice` is what the data subject's completion notice lists when they asked
for it on the public form.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from deletions import audit
from deletions.core.errors import RuleViolation
from deletions.models import Customer, DeletionRequest, Recipient, RecipientNotice, Source

if TYPE_CHECKING:
    from deletions.audit import Actor

PROCESSOR_NAME = "Extend (the operator's processor)"
PROCESSOR_MEANS = "the erasure itself: the portal deleted the parse runs through Extend's API"

# A recipient is informed once its erasure is over: these are the ends that erased runs.
FINISHED = (DeletionRequest.Status.COMPLETED, DeletionRequest.Status.COMPLETED_WITH_FAILURES)


@dataclass(frozen=True)
class RecipientRow:
    """One recipient of a request's data and whether it was informed of the erasure."""

    name: str
    contact: str
    means: str
    processor: bool = False
    recipient: Recipient | None = None
    informed_on: date | None = None
    informed_means: str = ""


def customer_recipients(customer: Customer | int) -> QuerySet[Recipient]:
    customer_id = customer.pk if isinstance(customer, Customer) else customer
    return Recipient.objects.filter(customer_id=customer_id).order_by("name", "id")


def _as_user(actor: Actor) -> User | None:
    return actor if isinstance(actor, User) else None


def add_recipient(
    customer: Customer, *, name: str, contact: str, means: str, actor: Actor, source: Source | str
) -> Recipient:
    """Record that *customer*'s data was disclosed to *name* (audited)."""
    name, contact, means = name.strip(), contact.strip(), means.strip()
    if not (name and contact and means):
        raise RuleViolation("Give the recipient's name, contact and how they are informed.")
    if name.casefold().startswith("extend"):
        # Extend is always listed; a second row would let staff "remove" it.
        raise RuleViolation("Extend, the processor, is always a recipient: it needs no row.")
    try:
        with transaction.atomic():
            recipient = Recipient.objects.create(
                customer=customer,
                name=name,
                contact=contact,
                means=means,
                created_by=_as_user(actor),
            )
            audit.record(
                "recipient.added",
                obj=recipient,
                actor=actor,
                source=source,
                customer=customer,
                after={"name": name, "contact": contact, "means": means},
            )
    except IntegrityError:
        raise RuleViolation(f"{customer.name} already has a recipient named {name!r}.") from None
    return recipient


def remove_recipient(recipient: Recipient, *, actor: Actor, source: Source | str) -> None:
    """Take *recipient* off its customer's list (audited); the records of erasures it was
    informed of keep its name."""
    with transaction.atomic():
        audit.record(
            "recipient.removed",
            obj=recipient,
            actor=actor,
            source=source,
            customer=recipient.customer_id,
            before={"name": recipient.name, "contact": recipient.contact, "means": recipient.means},
        )
        recipient.delete()


def can_record_informed(req: DeletionRequest) -> bool:
    """Recipients are informed of a GDPR erasure once it is over."""
    return req.kind == DeletionRequest.Kind.GDPR and req.status in FINISHED


def mark_informed(
    req: DeletionRequest,
    recipient: Recipient,
    *,
    informed_on: date,
    means: str,
    actor: Actor,
    source: Source | str,
) -> RecipientNotice:
    """Record that *recipient* was informed of *req*'s erasure on *informed_on* by *means*
    (audited; recording it again corrects the date and means)."""
    means = means.strip()
    if recipient.customer_id != req.customer_id:
        raise RuleViolation("This recipient is not one of the request's customer's.")
    if not can_record_informed(req):
        raise RuleViolation(
            f"Request #{req.pk} is not a finished GDPR erasure: recipients are informed once it "
            "is completed."
        )
    if not means:
        raise RuleViolation("Say how the recipient was informed.")
    if informed_on > timezone.localdate():
        raise RuleViolation("The date informed cannot be in the future.")
    if req.submitted_at and informed_on < timezone.localdate(req.submitted_at):
        raise RuleViolation("The date informed cannot be before the request was made.")
    with transaction.atomic():
        notice = (
            RecipientNotice.objects.select_for_update()
            .filter(request=req, recipient=recipient)
            .first()
        )
        before = None
        if notice is None:
            notice = RecipientNotice(request=req, recipient=recipient)
        else:
            before = {"informed_on": notice.informed_on.isoformat(), "means": notice.means}
        notice.recipient_name = recipient.name
        notice.informed_on = informed_on
        notice.means = means
        notice.recorded_at = timezone.now()
        notice.recorded_by = _as_user(actor)
        notice.save()
        audit.record(
            "recipient.informed",
            obj=req,
            actor=actor,
            source=source,
            before=before,
            after={"informed_on": informed_on.isoformat(), "means": means},
            detail={"recipient": recipient.pk, "name": recipient.name},
        )
    return notice


def for_request(req: DeletionRequest) -> list[RecipientRow]:
    """The request's recipients: Extend first, then the customer's list, then any recipient
    informed of this erasure and removed since; each with when and how it was informed."""
    finished_on = timezone.localdate(req.finished_at) if req.finished_at else None
    rows = [
        RecipientRow(
            name=PROCESSOR_NAME,
            contact="",
            means=PROCESSOR_MEANS,
            processor=True,
            informed_on=finished_on if req.status in FINISHED else None,
            informed_means=PROCESSOR_MEANS if req.status in FINISHED else "",
        )
    ]
    notices = {n.recipient_id: n for n in req.recipient_notices.all()}
    for recipient in customer_recipients(req.customer_id):
        notice = notices.pop(recipient.pk, None)
        rows.append(
            RecipientRow(
                name=recipient.name,
                contact=recipient.contact,
                means=recipient.means,
                recipient=recipient,
                informed_on=notice.informed_on if notice else None,
                informed_means=notice.means if notice else "",
            )
        )
    for notice in notices.values():
        rows.append(
            RecipientRow(
                name=notice.recipient_name,
                contact="",
                means="",
                informed_on=notice.informed_on,
                informed_means=notice.means,
            )
        )
    return rows


def recipients_for_notice(request: DeletionRequest) -> list[str]:
    """What the data subject's completion notice lists, one line per recipient, if they asked
    on the public form to be told who their data was disclosed to (Art. 19); [] otherwise.

    Plain sentences, e.g. "Extend (the operator's processor): ..." and "Acme Billing Ltd,
    informed on 3 December 2026 by e-mail"."""
    if not request.subject_wants_recipients:
        return []
    lines = []
    for row in for_request(request):
        if row.processor:
            lines.append(f"{row.name}: your data was erased there by the portal itself")
        elif row.informed_on:
            lines.append(
                f"{row.name}, informed on {row.informed_on:%-d %B %Y} by {row.informed_means}"
            )
        else:
            lines.append(row.name)
    return lines
