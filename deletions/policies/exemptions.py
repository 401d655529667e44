"""Exempting runs from every retention policy of their customer, and removing exemptions.

An exemption is recorded with who and why and lasts until removed. Exempting a run that a
retention request already took removes it from that request while nothing was sent for it (an
item still pending with no attempt); once a DELETE may have left, it is too late and the answer
says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import F

from deletions import audit
from deletions.core.errors import RuleViolation, SubmissionError
from deletions.models import (
    DeletionItem,
    DeletionRequest,
    ParseRun,
    RetentionExemption,
    RetentionPolicy,
    Source,
)
from deletions.policies.rules import may_manage
from deletions.requests import transitions

if TYPE_CHECKING:
    from deletions.audit import Actor

MAX_REASON_LENGTH = 2000


def exempt_run(
    run: ParseRun,
    *,
    actor: Actor,
    source: Source | str,
    reason: str,
    policy: RetentionPolicy | None = None,
) -> tuple[RetentionExemption, str]:
    """Exempt *run*; return the exemption and a sentence on what became of a retention request
    that held it ("" when none did)."""
    if run.customer is None or not may_manage(actor, run.customer):
        raise RuleViolation("You are not allowed to exempt this run.")
    reason = reason.strip()
    if not reason:
        raise SubmissionError("Please say why this run is kept.")
    if len(reason) > MAX_REASON_LENGTH:
        raise SubmissionError(f"The reason is too long (at most {MAX_REASON_LENGTH} characters).")
    with transaction.atomic():
        # The run's row lock orders this against an evaluation claiming it (see evaluation).
        run = ParseRun.objects.select_for_update().get(pk=run.pk)
        if run.state != ParseRun.State.PRESENT:
            raise SubmissionError(
                f"Parse run {run.run_id} is already {run.get_state_display().lower()}."
            )
        exemption, created = RetentionExemption.objects.get_or_create(
            parse_run=run,
            defaults={
                "customer_id": run.customer_id,
                "policy": policy,
                "reason": reason,
                "created_by": actor,
            },
        )
        if not created:
            raise SubmissionError(f"Parse run {run.run_id} is already exempted.")
        outcome = _take_out_of_retention_request(run, actor=actor)
        audit.record(
            "policy.run_exempted",
            obj=exemption,
            actor=actor,
            source=source,
            customer=run.customer_id,
            detail={
                "run_id": run.run_id,
                "reason": reason,
                "policy": policy.pk if policy else None,
                "request": outcome,
            },
        )
    return exemption, outcome


def _take_out_of_retention_request(run: ParseRun, *, actor: Actor) -> str:
    if run.open_request_id is None:
        return ""
    req = DeletionRequest.objects.select_for_update().get(pk=run.open_request_id)
    if req.kind != DeletionRequest.Kind.RETENTION:
        return (
            f"It is also in request #{req.pk}, which is not a retention request: the exemption "
            "does not change that request."
        )
    # A pending item with no attempt was never sent: the engine's claim (pending to in flight)
    # and this DELETE exclude each other, so it is either gone from the request or sent.
    removed, _ = DeletionItem.objects.filter(
        request=req, parse_run=run, status=DeletionItem.Status.PENDING, attempts=0
    ).delete()
    if not removed:
        return (
            f"Request #{req.pk} had already started deleting it: the exemption applies to the "
            "next evaluations."
        )
    ParseRun.objects.filter(pk=run.pk).update(open_request=None)
    DeletionRequest.objects.filter(pk=req.pk).update(item_count=F("item_count") - 1)
    req.refresh_from_db()
    audit.record(
        "request.item_exempted",
        obj=req,
        actor=actor,
        source=Source.SYSTEM,
        detail={"run_id": run.run_id, "items": req.item_count},
    )
    if req.item_count == 0 and transitions.can("cancel", req):
        transitions.cancel_request(
            req, actor=actor, source=Source.SYSTEM, reason="Every run in it was exempted."
        )
    return f"It was taken out of retention request #{req.pk} before anything was sent."


def remove_exemption(exemption: RetentionExemption, *, actor: Actor, source: Source | str) -> None:
    """The run is subject to the customer's policies again from their next evaluation."""
    if not may_manage(actor, exemption.customer):
        raise RuleViolation("You are not allowed to remove this exemption.")
    with transaction.atomic():
        audit.record(
            "policy.exemption_removed",
            obj=exemption,
            actor=actor,
            source=source,
            customer=exemption.customer_id,
            before={
                "run_id": exemption.parse_run.run_id,
                "reason": exemption.reason,
                "created_by": exemption.created_by.get_username(),
                "created_at": exemption.created_at.isoformat(),
            },
        )
        exemption.delete()
