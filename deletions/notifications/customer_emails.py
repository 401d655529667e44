"""E-mails to customers about their deletion requests.

Transitions (approved, rejected, completed, completed with failures) reach us through
:func:`deletions.requests.transitions.on_transition`, registered when the app is ready, and run
after the transition has committed. Submission is not a transition: the submit view calls
:func:`request_submitted` itself, from ``transaction.on_commit``.

Each e-mail goes to the requester and to the customer's admins (active users with an address).
A failure to send is logged and never undoes or breaks the transition that caused it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from deletions.core import emails
from deletions.models import DeletionRequest, Membership
from deletions.reporting import progress
from deletions.requests import file_results, receipts, transitions

logger = logging.getLogger(__name__)

RS = DeletionRequest.Status

# The statuses that the requester hears about, and the e-mail for each.
EMAIL_FOR_STATUS = {
    RS.APPROVED: "request_approved",
    RS.REJECTED: "request_rejected",
    RS.COMPLETED: "request_completed",
    RS.COMPLETED_WITH_FAILURES: "request_completed_with_failures",
}


def recipients(req: DeletionRequest) -> list[str]:
    """The requester and the customer's admins, active and with an e-mail address."""
    user_model = get_user_model()
    users = user_model.objects.filter(is_active=True).exclude(email="")
    users = users.filter(
        Q(pk=req.requested_by_id)
        | Q(
            membership__customer_id=req.customer_id,
            membership__role=Membership.Role.ADMIN,
        )
    )
    return sorted(set(users.values_list("email", flat=True)))


def _runs(n: int) -> str:
    return f"{n:,} parse run{'' if n == 1 else 's'}"


@dataclass(frozen=True)
class Outcomes:
    """What a finished request did, each outcome with its number, in the customer's words."""

    gone: int  # deleted (answer lost or not) + already gone
    all_gone: bool  # every run of the request is gone: nothing failed, nothing retained
    lines: list[str]
    # The uploaded files: a heading and its lines when the request erased them; otherwise the
    # heading says that they were not part of it, and there are no lines.
    files_heading: str = ""
    file_lines: tuple[str, ...] = ()
    runs_failed: int = 0
    files_failed: int = 0

    @property
    def failed_text(self) -> str:
        """'1 parse run could not be deleted', '2 uploaded files could not be deleted', or
        both."""
        parts = []
        if self.runs_failed or not self.files_failed:
            parts.append(_runs(self.runs_failed))
        if self.files_failed:
            n = self.files_failed
            parts.append(f"{n:,} uploaded file{'' if n == 1 else 's'}")
        return f"{' and '.join(parts)} could not be deleted"


def _files(req: DeletionRequest) -> tuple[str, tuple[str, ...], int]:
    """The uploaded files' heading, lines and failures for the completion e-mail."""
    tally = file_results.tally(req)
    if tally is None or not tally.total:
        return file_results.files_text(req, tally), (), 0
    lines = [f"{tally.erased:,} erased"]
    lines += [f"{n:,} kept: {why}" for why, n in file_results.kept_by_reason(req)]
    if tally.failed:
        lines.append(f"{tally.failed:,} could not be deleted")
    noun = "uploaded file" if tally.total == 1 else "uploaded files"
    return f"The {tally.total:,} {noun} of these runs:", tuple(lines), tally.failed


def outcomes(req: DeletionRequest) -> Outcomes:
    """'104 deleted', 'N deleted (the answer to our request was lost; …)', 'N already gone at
    Extend', 'N failed', 'N retained for legal reasons; they will be deleted when the hold
    ends': only the outcomes that happened (deleted always). Then the uploaded files: erased,
    kept and why, failed; or that they were not part of the request."""
    lost = receipts.answer_lost_count(req) if req.deleted_count else 0
    lines = [f"{req.deleted_count - lost:,} deleted"]
    if lost:
        lines.append(
            f"{lost:,} deleted (the answer to our request was lost; Extend confirms "
            f"{'it is' if lost == 1 else 'they are'} gone)"
        )
    if req.already_gone_count:
        lines.append(f"{req.already_gone_count:,} already gone at Extend")
    if req.failed_count:
        lines.append(f"{req.failed_count:,} failed")
    if req.held_count:
        n = req.held_count
        lines.append(
            f"{n:,} retained for legal reasons; {'it' if n == 1 else 'they'} will be deleted "
            "when the hold ends"
        )
    gone = req.deleted_count + req.already_gone_count
    heading, file_lines, files_failed = _files(req)
    return Outcomes(
        gone=gone,
        all_gone=gone == req.item_count,
        lines=lines,
        files_heading=heading,
        file_lines=file_lines,
        runs_failed=req.failed_count,
        files_failed=files_failed,
    )


def _send(name: str, req: DeletionRequest) -> int:
    req = DeletionRequest.objects.select_related("customer", "requested_by").get(pk=req.pk)
    context = {
        "req": req,
        "customer": req.customer,
        "runs": _runs(req.item_count),
        "url": emails.absolute_url(reverse("customer:request", args=[req.pk])),
        "receipt_url": emails.absolute_url(reverse("customer:receipt", args=[req.pk])),
        "cancel_url": emails.absolute_url(reverse("customer:cancel", args=[req.pk])),
    }
    if req.execute_after is not None and req.execute_after > timezone.now():
        # Approved into the customer's cooling-off window: when it ends, and how to cancel.
        context["cooling_off_until"] = progress.moment(req.execute_after)
        context["cooling_off_hours"] = req.customer.cooling_off_hours
        context["time_zone"] = timezone.get_current_timezone_name()
    if req.status in (RS.COMPLETED, RS.COMPLETED_WITH_FAILURES):
        context["outcomes"] = outcomes(req)
    try:
        return emails.send(name, recipients(req), context)
    except Exception:
        logger.exception("Could not send the %s e-mail for request %s", name, req.pk)
        return 0


def request_submitted(req: DeletionRequest) -> int:
    """Tell the requester (and admins) that the request is waiting for approval."""
    return _send("request_submitted", req)


# A retention request was asked for by no one: its policy's notices (before the first action,
# and before a large evaluation's deletion) and the monthly summary tell the customer's admins.
# A message per evaluation, at every tick for an "after processing" policy, would bury them;
# a failure is still told at once.
QUIET_FOR_RETENTION = frozenset({RS.APPROVED, RS.COMPLETED})


def on_request_transition(req: DeletionRequest, before: str, after: str) -> None:
    """The transition hook: send the e-mail that *after* calls for, if any."""
    if req.kind == DeletionRequest.Kind.RETENTION and after in QUIET_FOR_RETENTION:
        return
    name = EMAIL_FOR_STATUS.get(RS(after)) if after in RS.values else None
    if name:
        _send(name, req)


def register() -> None:
    """Called from DeletionsConfig.ready()."""
    transitions.on_transition(on_request_transition)
