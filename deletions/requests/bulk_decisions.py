"""Approving or rejecting several requests at once: what each decision would do (said before
it is made), then each one in turn through :mod:`deletions.requests.transitions`, which keeps every
rule (four eyes, states) for each request on its own. One refusal does not stop the others."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import User

from deletions.core.errors import DomainError, RuleViolation
from deletions.models import Approval, DeletionRequest, Source
from deletions.requests import transitions

APPROVE = "approve"
REJECT = "reject"
ACTIONS = (APPROVE, REJECT)
# At most this many requests in one go (the console's queue page shows 50 per page).
MAX_REQUESTS = 200


@dataclass(frozen=True)
class Outcome:
    request: DeletionRequest
    ok: bool
    message: str


def load(ids: Iterable[int]) -> list[DeletionRequest]:
    """The requests with these ids (unknown ones left out), by id, ready for :func:`preview`."""
    return list(
        DeletionRequest.objects.filter(pk__in=list(ids))
        .select_related("customer", "requested_by__service_account")
        .prefetch_related("approvals__approver__service_account")
        .order_by("id")
    )


def preview(req: DeletionRequest, user: User, action: str) -> Outcome:
    """What *action* by *user* would do to *req*, said in advance; the domain decides."""
    if not transitions.can(action, req):
        return Outcome(
            req, False, f"Not possible: the request is {req.get_status_display().lower()}."
        )
    if transitions.requested_by_same_person(req, user):
        return Outcome(req, False, "Not possible: you made this request yourself.")
    approvals = list(req.approvals.all())
    if action == APPROVE:
        if transitions.decided_by_same_person(approvals, user):
            return Outcome(
                req, False, "Not possible: you have already approved it; another approver must."
            )
        given = sum(a.decision == Approval.Decision.APPROVE for a in approvals) + 1
        if given >= req.required_approvals:
            return Outcome(
                req, True, f"Becomes approved: {req.item_count:,} parse runs will be deleted."
            )
        return Outcome(
            req, True, f"Your approval is {given} of {req.required_approvals}; it stays pending."
        )
    if req.kind == DeletionRequest.Kind.GDPR:
        return Outcome(
            req,
            True,
            f"Rejected on the ground given (GDPR erasure): none of its {req.item_count:,} parse "
            "runs is deleted.",
        )
    return Outcome(req, True, f"Rejected: none of its {req.item_count:,} parse runs is deleted.")


def decide(
    reqs: Iterable[DeletionRequest],
    action: str,
    *,
    actor: User,
    source: Source | str,
    reason: str = "",
    comment: str = "",
    ground: str = "",
) -> list[Outcome]:
    """Make *action* on each of *reqs*; each outcome says what happened or why not.

    A rejection's *ground* (:mod:`deletions.requests.grounds`) goes to its GDPR erasure requests
    only: standard requests take none, and a GDPR request without one is refused on its own.
    """
    if action not in ACTIONS:
        raise RuleViolation(f"{action!r} is not a bulk decision.")
    reason = reason.strip()
    if action == REJECT and not reason:
        raise RuleViolation("Say why; the requesters will see this reason.")
    results = []
    for req in reqs:
        try:
            if action == APPROVE:
                done = transitions.approve_request(req, actor=actor, source=source, comment=comment)
                message = (
                    "Approved."
                    if done.status == DeletionRequest.Status.APPROVED
                    else "Approval recorded; another approver is needed."
                )
            else:
                # The requester's e-mail is sent by deletions.notifications.customer_emails'
                # transition hook.
                transitions.reject_request(
                    req,
                    actor=actor,
                    source=source,
                    reason=reason,
                    ground=ground if req.kind == DeletionRequest.Kind.GDPR else "",
                )
                message = "Rejected; the requester was told your reason."
            results.append(Outcome(req, True, message))
        except DomainError as exc:
            results.append(Outcome(req, False, str(exc)))
    return results
