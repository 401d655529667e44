"""Notices to the data subject about their erasure request (Art. 12(1), (3) and (4)).

A data subject who asked through the public form gave an address; it is kept encrypted on
their intake (``ErasureIntake.email_encrypted``) while the request it became is open. They are
told, in plain words, when the request is extended or paused, and how it ended: completed
(what was erased and the certificate, attached, with where to verify it), rejected (the ground,
the explanation, and how to complain to the supervisory authority), cancelled (by whom, by
role, and why), or that no data was found (:mod:`deletions.gdpr.no_data`). A request filed by
staff or a customer on the subject's behalf holds no address: nobody is written to, and the
pages say so rather than claim a notice.

Each notice is sent after the change it reports has committed, and recorded on the request's
timeline as ``subject.notified`` with its kind; the final one erases the address in the same
transaction that records it, so the portal keeps it no longer than it needs it. A final notice
that could not be sent keeps the address, and :func:`send_pending_final_notices` tries again.

Notices are in English: the public form does not record the language its visitor used.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from deletions import audit
from deletions.core import crypto, emails
from deletions.core.errors import RuleViolation
from deletions.gdpr import certificate_roles, certificates, recipients
from deletions.models import AuditEvent, DeletionRequest, ErasureIntake, Source
from deletions.requests import file_results, grounds, transitions

logger = logging.getLogger(__name__)

RS = DeletionRequest.Status

ACTION = "subject.notified"

COMPLETED = "completed"
REJECTED = "rejected"
CANCELLED = "cancelled"
NO_DATA = "no_data"
EXTENDED = "extended"
PAUSED = "paused"
MORE_INFO = "more_information_asked"

# The e-mail (templates/emails/<name>-*) of each kind.
TEMPLATES = {
    COMPLETED: "gdpr_subject_completed",
    REJECTED: "gdpr_subject_rejected",
    CANCELLED: "gdpr_subject_cancelled",
    NO_DATA: "gdpr_subject_no_data",
    EXTENDED: "gdpr_extension",
    PAUSED: "gdpr_subject_paused",
    MORE_INFO: "gdpr_more_info",
}

# How each final status is reported; after that notice the address is erased.
FINAL_NOTICE = {
    RS.COMPLETED: COMPLETED,
    RS.COMPLETED_WITH_FAILURES: COMPLETED,
    RS.REJECTED: REJECTED,
    RS.CANCELLED: CANCELLED,
}

# Final notices that failed are tried again this long after the request finished; older ones
# (finished before these notices existed) are left to the retention purge.
RETRY_FINAL_NOTICE_DAYS = 7


def _intake_with_address(req: DeletionRequest) -> ErasureIntake | None:
    return ErasureIntake.objects.filter(request_id=req.pk).exclude(email_encrypted="").first()


def subject_address(req: DeletionRequest) -> str | None:
    """The data subject's address, if they filed the request through the public form and it is
    still kept (it is erased after the final notice)."""
    intake = _intake_with_address(req)
    if intake is None:
        return None
    with contextlib.suppress(crypto.DecryptionError):
        return crypto.decrypt(intake.email_encrypted) or None
    return None


def can_notify(req: DeletionRequest) -> bool:
    """Whether the data subject can be written to about *req* (for what pages promise)."""
    return subject_address(req) is not None


def complaint_context() -> dict[str, str]:
    """Where to complain (Art. 77), from the settings, for the notices' templates."""
    return {
        "authority_name": settings.GDPR_SUPERVISORY_AUTHORITY_NAME,
        "authority_url": settings.GDPR_SUPERVISORY_AUTHORITY_URL,
    }


def _record(req: DeletionRequest, kind: str, intake: ErasureIntake, **detail: Any) -> None:
    audit.record(
        ACTION,
        obj=req,
        actor=None,
        source=Source.SYSTEM,
        request=req,
        detail={"notice": kind, "to": intake.email_hint, **detail},
    )


def notify(
    req: DeletionRequest,
    kind: str,
    context: dict[str, Any] | None = None,
    *,
    attachments: list[tuple[str, str, str]] | None = None,
    final: bool = False,
) -> bool:
    """E-mail the data subject notice *kind* about *req* and record it on its timeline.

    Call after the change has committed. With *final*, the address is erased in the same
    transaction as the record, and a final notice already sent is not sent again. Returns
    whether a notice went out; a failure to send is logged and leaves the address for a retry.
    """
    try:
        with transaction.atomic():
            # Locked: a hook and the retry sweep never both send the final notice.
            intake = (
                ErasureIntake.objects.select_for_update()
                .filter(request_id=req.pk)
                .exclude(email_encrypted="")
                .first()
            )
            if intake is None:
                return False
            try:
                address = crypto.decrypt(intake.email_encrypted)
            except crypto.DecryptionError:
                return False
            ctx = {"req": req, "customer": req.customer, **complaint_context(), **(context or {})}
            if not emails.send(TEMPLATES[kind], [address], ctx, attachments=attachments or ()):
                return False
            _record(req, kind, intake, **({"address_erased": True} if final else {}))
            if final:
                intake.email_encrypted = ""
                intake.save(update_fields=["email_encrypted"])
    except Exception:
        logger.exception("Could not send the %s notice of request %s", kind, req.pk)
        return False
    return True


def notified(req: DeletionRequest, kind: str, *, since: Any = None) -> bool:
    """Whether the data subject was sent notice *kind* about *req* (since *since*)."""
    events = AuditEvent.objects.filter(request_id=req.pk, action=ACTION, detail__notice=kind)
    if since is not None:
        events = events.filter(at__gte=since)
    return events.exists()


# --- The final notices ---------------------------------------------------------------------


def _runs(n: int) -> str:
    return f"{n:,} document{'' if n == 1 else 's'}"


def completion_lines(req: DeletionRequest) -> list[str]:
    """What the request came to, in the data subject's words: only the outcomes that happened."""
    lines = [f"{_runs(req.deleted_count + req.already_gone_count)} erased"]
    if req.already_gone_count:
        lines.append(
            f"(of which {_runs(req.already_gone_count)} had already been removed before we asked)"
        )
    if req.failed_count:
        lines.append(
            f"{_runs(req.failed_count)} could not be erased yet; we are working on "
            f"{'it' if req.failed_count == 1 else 'them'}"
        )
    if req.held_count:
        lines.append(
            f"{_runs(req.held_count)} kept for legal reasons for now; "
            f"{'it' if req.held_count == 1 else 'they'} will be erased when those reasons end"
        )
    return lines + _file_lines(req)


def _files(n: int) -> str:
    return f"{n:,} uploaded file{'' if n == 1 else 's'}"


def _file_lines(req: DeletionRequest) -> list[str]:
    """The uploaded files (the documents as they were sent), when the request erased them: what
    was erased, and what was kept and why (in the customer's words, never "legal hold")."""
    tally = file_results.tally(req)
    if tally is None or not tally.total:
        return []
    lines = [f"{_files(tally.erased)} (the documents as they were sent) erased"]
    lines += [f"{_files(n)} kept: {why}" for why, n in file_results.kept_by_reason(req)]
    if tally.failed:
        lines.append(f"{_files(tally.failed)} could not be erased yet; we are working on it")
    return lines


def notify_completed(req: DeletionRequest) -> bool:
    """The completion notice, with the certificate attached: issued here if the finish hook's
    task has not yet (issuing is idempotent). Raises ``certificates.UnconfirmedRuns`` while
    the request cannot be certified, so the caller retries."""
    req = DeletionRequest.objects.select_related("customer").get(pk=req.pk)
    if req.status not in (RS.COMPLETED, RS.COMPLETED_WITH_FAILURES) or not can_notify(req):
        return False
    cert = certificates.issue(req)
    return notify(
        req,
        COMPLETED,
        {
            "lines": completion_lines(req),
            # Art. 19: who else received the data, when the subject asked on the form.
            "recipients": recipients.recipients_for_notice(req),
            "certificate": cert,
            "verify_url": certificates.verify_page_url(),
            "keys_url": certificates.keys_url(),
            "file_name": certificates.file_name(cert, "json"),
        },
        attachments=[
            (
                certificates.file_name(cert, "json"),
                certificates.signed_json(cert),
                "application/json",
            )
        ],
        final=True,
    )


def notify_rejected(req: DeletionRequest) -> bool:
    return notify(
        req,
        REJECTED,
        {"ground": grounds.label(req.refusal_ground), "explanation": req.decision_comment},
        final=True,
    )


def cancelled_by(req: DeletionRequest) -> tuple[str, str]:
    """Who cancelled *req*, as the data subject is told (a role, never a name), and why."""
    event = (
        AuditEvent.objects.filter(request_id=req.pk, action=f"request.{RS.CANCELLED}")
        .order_by("-at", "-id")
        .first()
    )
    reason = str((event.detail or {}).get("reason", "")) if event else ""
    user = (
        get_user_model().objects.filter(pk=event.actor_id).first()
        if event is not None and event.actor_id
        else None
    )
    name = req.customer.name
    role = certificate_roles.requester_role(user, from_public_form=False)
    if role == certificate_roles.CUSTOMER_ADMIN:
        who = f"an administrator at {name}"
    elif role == certificate_roles.CUSTOMER_MEMBER:
        who = f"a member of staff at {name}"
    elif role == certificate_roles.OPERATOR_STAFF:
        who = f"staff of {settings.SITE_NAME}, who handle erasure requests for {name}"
    else:
        who = "the portal, automatically"
    return who, reason


def notify_cancelled(req: DeletionRequest) -> bool:
    who, reason = cancelled_by(req)
    return notify(req, CANCELLED, {"who": who, "reason": reason}, final=True)


def _on_transition(req: DeletionRequest, before: str, after: str) -> None:
    """Rejection and cancellation are told at once; completion waits for the certificate (the
    task layer calls :func:`notify_completed` after the finish)."""
    if req.kind != DeletionRequest.Kind.GDPR:
        return
    if after == RS.REJECTED:
        notify_rejected(DeletionRequest.objects.select_related("customer").get(pk=req.pk))
    elif after == RS.CANCELLED:
        notify_cancelled(DeletionRequest.objects.select_related("customer").get(pk=req.pk))


def register() -> None:
    """Called from DeletionsConfig.ready()."""
    transitions.on_transition(_on_transition)


def send_pending_final_notices(now: Any = None) -> int:
    """Send again the final notices that could not be sent (the address is still kept) for
    requests finished within the last few days. Returns how many went out."""
    since = (now or timezone.now()) - timedelta(days=RETRY_FINAL_NOTICE_DAYS)
    pending = DeletionRequest.objects.filter(
        kind=DeletionRequest.Kind.GDPR,
        status__in=list(FINAL_NOTICE),
        finished_at__gte=since,
        intake__isnull=False,
    ).exclude(intake__email_encrypted="")
    sent = 0
    for req in pending.select_related("customer"):
        kind = FINAL_NOTICE[RS(req.status)]
        try:
            done = {
                COMPLETED: notify_completed,
                REJECTED: notify_rejected,
                CANCELLED: notify_cancelled,
            }[kind](req)
        except RuleViolation:
            continue  # not certifiable yet (unconfirmed runs): the next sweep tries again
        sent += int(done)
    return sent
