"""E-mails to customers about their deletion requests.

Transitions (approved, rejected, completed, completed with failures) reach us through
:func:`deletions.transitions.on_transition`, registered when the app is ready, and run after the
transition has committed. Submission is not a transition: the submit view calls
:func:`request_submitted` itself, from ``transaction.on_commit``.

Each e-mail goes to the requester and to the customer's admins (active users with an address).
A failure to send is logged and never undoes or breaks the transition that caused it.
"""

from __future__ import annotations

import logging

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.urls import reverse

from deletions import emails, transitions
from deletions.models import DeletionRequest, Membership

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


def _send(name: str, req: DeletionRequest) -> int:
    req = DeletionRequest.objects.select_related("customer", "requested_by").get(pk=req.pk)
    context = {
        "req": req,
        "customer": req.customer,
        "url": emails.absolute_url(reverse("customer:request", args=[req.pk])),
        "receipt_url": emails.absolute_url(reverse("customer:receipt", args=[req.pk])),
    }
    try:
        return emails.send(name, recipients(req), context)
    except Exception:
        logger.exception("Could not send the %s e-mail for request %s", name, req.pk)
        return 0


def request_submitted(req: DeletionRequest) -> int:
    """Tell the requester (and admins) that the request is waiting for approval."""
    return _send("request_submitted", req)


def on_request_transition(req: DeletionRequest, before: str, after: str) -> None:
    """The transition hook: send the e-mail that *after* calls for, if any."""
    name = EMAIL_FOR_STATUS.get(RS(after)) if after in RS.values else None
    if name:
        _send(name, req)


def register() -> None:
    """Called from DeletionsConfig.ready()."""
    transitions.on_transition(on_request_transition)
