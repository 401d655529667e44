"""The public erasure form's intakes: submission, e-mail verification, expiry, and freezing a
verified intake into a GDPR deletion request.

Nothing here tells the visitor whether the reference they typed matches any data: every valid
submission is stored and answered the same way. The address and the reference are stored as
keyed hashes with masked hints; their clear values only encrypted, and only while needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from deletions import audit
from deletions.core import crypto, emails
from deletions.core.errors import RuleViolation, TransitionError
from deletions.gdpr import controller_notices
from deletions.gdpr import deadlines as gdpr
from deletions.gdpr.links import TokenInvalid as TokenInvalid
from deletions.gdpr.links import intake_for_token as intake_for_token
from deletions.gdpr.links import make_token as make_token
from deletions.models import Customer, DeletionRequest, ErasureIntake, ParseRun, Source
from deletions.requests import transitions
from deletions.requests.submission import RunFilter, Selection, customer_runs, submit_request

if TYPE_CHECKING:
    from deletions.audit import Actor

SAMPLE_SIZE = 10


def mask_email(address: str) -> str:
    """``j••••@example.com``: enough for staff to recognise an address, not to use it."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}••••@{domain}"[:80]


def email_hash(address: str) -> str:
    return crypto.keyed_hash(address.strip().lower(), purpose="intake-email")


def subject_hash(reference: str) -> str:
    """The same keyed hash that requests store (``DeletionRequest.subject_ref_hash``)."""
    return crypto.keyed_hash(reference, purpose="subject")


def create_intake(
    customer: Customer,
    *,
    email: str,
    reference: str,
    today: date | None = None,
    wants_recipients: bool = False,
) -> ErasureIntake:
    """Store a public erasure request and send the verification e-mail. *wants_recipients*: the
    subject asked to be told who their data was disclosed to (Art. 19)."""
    email = email.strip()
    reference = reference.strip()
    with transaction.atomic():
        intake = ErasureIntake.objects.create(
            customer=customer,
            email_hash=email_hash(email),
            email_hint=mask_email(email),
            email_encrypted=crypto.encrypt(email),
            subject_ref_hash=subject_hash(reference),
            subject_ref_hint=crypto.mask(reference),
            subject_ref_encrypted=crypto.encrypt(reference),
            received_on=today or timezone.localdate(),
            wants_recipients=wants_recipients,
        )
        audit.record(
            "intake.received",
            obj=intake,
            actor=None,
            source=Source.PUBLIC,
            customer=customer,
            detail={"email": intake.email_hint, "subject_ref": intake.subject_ref_hint},
        )
    link = emails.absolute_url(reverse("public:verify", args=[make_token(intake)]))
    emails.send(
        "gdpr_verify",
        [email],
        {
            "customer": customer,
            "link": link,
            "hours": settings.GDPR_VERIFICATION_MAX_AGE_SECONDS // 3600,
        },
    )
    return intake


def verify_intake(token: str) -> ErasureIntake:
    """Confirm the e-mail address of the intake behind *token* (once); for an answer link,
    resume the paused deadline of its request (source PUBLIC)."""
    with transaction.atomic():
        intake = intake_for_token(token)
        answering = getattr(intake, "answering", None)
        if answering is not None:
            try:
                gdpr.resume_deadline(answering, actor=None, source=Source.PUBLIC)
            except RuleViolation:
                raise TokenInvalid("used") from None
            return intake
        updated = ErasureIntake.objects.filter(
            pk=intake.pk, status=ErasureIntake.Status.AWAITING_VERIFICATION
        ).update(status=ErasureIntake.Status.VERIFIED, verified_at=timezone.now())
        if not updated:
            raise TokenInvalid("used")
        intake.refresh_from_db()
        audit.record(
            "intake.verified",
            obj=intake,
            actor=None,
            source=Source.PUBLIC,
            customer=intake.customer_id,
            before={"status": ErasureIntake.Status.AWAITING_VERIFICATION},
            after={"status": intake.status},
        )
        # The customer (the controller) confirms the person next (deletions.gdpr.controller).
        controller_notices.confirmation_needed(intake)
    return intake


def expire_unverified(now: datetime | None = None) -> int:
    """Expire intakes and requests left unverified past GDPR_UNVERIFIED_EXPIRY_DAYS."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.GDPR_UNVERIFIED_EXPIRY_DAYS)
    count = 0
    for intake in ErasureIntake.objects.filter(
        status=ErasureIntake.Status.AWAITING_VERIFICATION, created_at__lt=cutoff
    ):
        close_intake(intake, ErasureIntake.Status.EXPIRED, actor=None, source=Source.SYSTEM)
        count += 1
    for req in DeletionRequest.objects.filter(
        status=DeletionRequest.Status.AWAITING_VERIFICATION, submitted_at__lt=cutoff
    ):
        transitions.expire_request(req, actor=None, source=Source.SYSTEM)
        count += 1
    return count


def close_intake(
    intake: ErasureIntake,
    status: str,
    *,
    actor: Actor,
    source: Source | str,
    note: str = "",
    request: DeletionRequest | None = None,
    detail: dict[str, str] | None = None,
) -> ErasureIntake:
    """End an intake (expired, dismissed, refused or converted) and erase the clear values it
    kept (*detail* goes into the audit event).

    A converted intake keeps the encrypted address while its request is open, for the
    deadline notices; it is erased when the request's records are purged.
    """
    with transaction.atomic():
        locked = ErasureIntake.objects.select_for_update().get(pk=intake.pk)
        before = locked.status
        locked.status = status
        locked.closed_at = timezone.now()
        locked.subject_ref_encrypted = ""
        if status != ErasureIntake.Status.CONVERTED:
            locked.email_encrypted = ""
        if note:
            locked.staff_note = note
        if request is not None:
            locked.request = request
        locked.save()
        audit.record(
            f"intake.{status}",
            obj=locked,
            actor=actor,
            source=source,
            request=request,
            customer=locked.customer_id,
            before={"status": before},
            after={"status": status},
            detail={**({"note": note} if note else {}), **(detail or {})},
        )
    return locked


OPEN_STATUSES = (
    ErasureIntake.Status.CONFIRMED,
    ErasureIntake.Status.VERIFIED,
    ErasureIntake.Status.AWAITING_VERIFICATION,
)


def dismiss_intake(
    intake: ErasureIntake, *, note: str, actor: Actor, source: Source | str
) -> ErasureIntake:
    """Close an open intake without a request, saying why (the note is kept and audited)."""
    note = note.strip()
    with transaction.atomic():
        status = ErasureIntake.objects.select_for_update().get(pk=intake.pk).status
        if status not in OPEN_STATUSES:
            raise TransitionError(f"Intake #{intake.pk} is already closed.")
        if not note:
            raise RuleViolation("Say why the intake is dismissed.")
        return close_intake(
            intake, ErasureIntake.Status.DISMISSED, actor=actor, source=source, note=note
        )


# The staff lists of intakes: name -> (label, statuses shown).
LIST_FILTERS = {
    "confirmed": ("Confirmed by the customer, to handle", [ErasureIntake.Status.CONFIRMED]),
    "verified": ("Awaiting the customer's confirmation", [ErasureIntake.Status.VERIFIED]),
    "awaiting": ("Awaiting verification", [ErasureIntake.Status.AWAITING_VERIFICATION]),
    "closed": (
        "Closed",
        [
            ErasureIntake.Status.CONVERTED,
            ErasureIntake.Status.REFUSED,
            ErasureIntake.Status.DISMISSED,
            ErasureIntake.Status.EXPIRED,
        ],
    ),
}


def verified_intakes() -> QuerySet[ErasureIntake]:
    return ErasureIntake.objects.filter(status=ErasureIntake.Status.VERIFIED).select_related(
        "customer"
    )


# --- From subject to runs --------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    count: int
    busy: int
    sample: list[ParseRun]


def subject_filter(reference: str) -> RunFilter:
    return RunFilter(metadata_key=settings.GDPR_SUBJECT_METADATA_KEY, metadata_value=reference)


def selection_for(reference: str, run_ids: list[str]) -> Selection:
    """Explicit *run_ids* if given, otherwise the runs carrying the subject's reference."""
    if run_ids:
        return Selection(scope=DeletionRequest.Scope.EXPLICIT, run_ids=run_ids)
    return Selection(scope=DeletionRequest.Scope.FILTER, run_filter=subject_filter(reference))


def preview(customer: Customer, selection: Selection) -> Preview:
    """How many of *customer*'s present runs the selection would take, with a sample."""
    runs = customer_runs(customer)
    if selection.scope == DeletionRequest.Scope.EXPLICIT:
        runs = runs.filter(run_id__in=list(selection.run_ids))
    else:
        runs = selection.run_filter.apply(runs)
    free = runs.filter(open_request__isnull=True)
    return Preview(
        count=free.count(),
        busy=runs.filter(open_request__isnull=False).count(),
        sample=list(free.select_related("workspace").order_by("id")[:SAMPLE_SIZE]),
    )


def intake_reference(intake: ErasureIntake) -> str:
    if not intake.subject_ref_encrypted:
        raise RuleViolation(f"Intake #{intake.pk} no longer holds the subject's reference.")
    return crypto.decrypt(intake.subject_ref_encrypted)


def freeze_intake(
    intake: ErasureIntake,
    *,
    run_ids: list[str],
    reason: str,
    actor: Actor,
    source: Source | str,
) -> DeletionRequest:
    """Turn an intake the customer confirmed into a GDPR request for the subject's runs (or
    *run_ids*).

    *actor* becomes the requester, so the usual approval follows and they cannot approve it
    themselves (four eyes). An intake whose e-mail is verified but that the customer (the
    controller) has not confirmed is refused: mailbox control alone does not tie the person to
    the reference."""
    if intake.status != ErasureIntake.Status.CONFIRMED:
        if intake.status == ErasureIntake.Status.VERIFIED:
            raise RuleViolation(
                f"Intake #{intake.pk} is not confirmed by the customer yet: its admins (or an "
                "approver on its behalf) must confirm the person first."
            )
        raise RuleViolation(f"Intake #{intake.pk} is {intake.get_status_display().lower()}.")
    reference = intake_reference(intake)
    with transaction.atomic():
        req = submit_request(
            customer=intake.customer,
            selection=selection_for(reference, run_ids),
            reason=reason,
            requested_by=actor,
            source=source,
            kind=DeletionRequest.Kind.GDPR,
            subject_ref=reference,
            received_on=intake.received_on,
            # The document is the personal data: a GDPR request always erases the files.
            erase_files=True,
        )
        if intake.wants_recipients:
            DeletionRequest.objects.filter(pk=req.pk).update(subject_wants_recipients=True)
            req.subject_wants_recipients = True
        close_intake(
            intake, ErasureIntake.Status.CONVERTED, actor=actor, source=source, request=req
        )
    return req


def file_on_behalf(
    customer: Customer,
    *,
    reference: str,
    received_on: date,
    run_ids: list[str],
    reason: str,
    actor: Actor,
    source: Source | str,
) -> DeletionRequest:
    """Staff file a GDPR request for a data subject who asked them directly (*actor* becomes
    its requester)."""
    reference = reference.strip()
    if not reference:
        raise RuleViolation("Give the data subject's reference.")
    if received_on > timezone.localdate():
        raise RuleViolation("The date received cannot be in the future.")
    return submit_request(
        customer=customer,
        selection=selection_for(reference, run_ids),
        reason=reason,
        requested_by=actor,
        source=source,
        kind=DeletionRequest.Kind.GDPR,
        subject_ref=reference,
        received_on=received_on,
        erase_files=True,
    )
