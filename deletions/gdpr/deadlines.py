"""GDPR deadlines (Art. 12(3)): one month from receipt, extendable by two further months."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from deletions import audit
from deletions.accounts.roles import APPROVE_PERMISSION, VIEW_PERMISSION
from deletions.core import emails
from deletions.core.dates import add_months as add_months
from deletions.core.dates import due_date as due_date
from deletions.core.errors import RuleViolation
from deletions.gdpr import links, subject_notices
from deletions.models import AuditEvent, DeletionRequest, ErasureIntake, Source
from deletions.workspaces.alerts import staff_alert_recipients

if TYPE_CHECKING:
    from deletions.audit import Actor


# --- Extension (Art. 12(3)) ------------------------------------------------------------------

MAX_TOTAL_MONTHS = 3
DIGEST_WARNING_DAYS = 7


def days_left(req: DeletionRequest, today: date | None = None) -> int | None:
    """Days until the due date in force (negative when overdue), or None without a deadline.

    While the deadline is paused its clock stands still: the days left are those it had on the
    day it was paused (the due date moves by the paused days when it resumes), so a request
    paused when overdue stays overdue, and one paused near its date stays due soon.
    """
    due = req.effective_due_on
    if due is None:
        return None
    if req.deadline_paused_at is not None:
        return (due - timezone.localdate(req.deadline_paused_at)).days
    return (due - (today or timezone.localdate())).days


def extended_due_date(req: DeletionRequest, months: int) -> date:
    """The due date after extending by *months* in total, moved by the days paused so far."""
    assert req.received_on is not None
    return add_months(req.received_on, 1 + months) + timedelta(days=req.deadline_paused_days)


def extension_months(req: DeletionRequest) -> int:
    """How many months the deadline has been extended by so far."""
    if not req.extended_due_on or not req.received_on:
        return 0
    for months in range(1, MAX_TOTAL_MONTHS):
        if extended_due_date(req, months) == req.extended_due_on:
            return months
    return MAX_TOTAL_MONTHS - 1


def extend_deadline(
    request: DeletionRequest,
    *,
    months: int,
    reason: str,
    actor: Actor,
    source: Source | str,
    today: date | None = None,
) -> DeletionRequest:
    """Extend a GDPR request's deadline by *months* further months, with a recorded reason.

    Refused for other kinds, finished requests, after the statutory due date (the subject must be
    told within the first month) and beyond three months from receipt in total. The notice to the
    data subject (and the customer user who filed it) is sent after commit.
    """
    reason = reason.strip()
    today = today or timezone.localdate()
    if not reason:
        raise RuleViolation("Give the reason for the extension: it is sent to the data subject.")
    if months < 1:
        raise RuleViolation("Extend by at least one month.")
    with transaction.atomic():
        req = DeletionRequest.objects.select_for_update().get(pk=request.pk)
        if req.kind != DeletionRequest.Kind.GDPR or not req.due_on or not req.received_on:
            raise RuleViolation("Only GDPR erasure requests have a deadline to extend.")
        if not req.is_open:
            raise RuleViolation(f"Request #{req.pk} is finished; its deadline cannot change.")
        if today > req.due_on:
            raise RuleViolation(
                f"The deadline can only be extended within the first month (until "
                f"{req.due_on:%-d %B %Y}); it has passed."
            )
        total = extension_months(req) + months
        if 1 + total > MAX_TOTAL_MONTHS:
            raise RuleViolation(
                "An extension may add at most two further months (three months from receipt "
                f"in total); request #{req.pk} can be extended by "
                f"{max(MAX_TOTAL_MONTHS - 1 - extension_months(req), 0)} more."
            )
        before = req.effective_due_on
        req.extended_due_on = extended_due_date(req, total)
        req.extension_reason = reason
        req.extended_at = timezone.now()
        req.save(update_fields=["extended_due_on", "extension_reason", "extended_at", "updated_at"])
        audit.record(
            "request.deadline_extended",
            obj=req,
            actor=actor,
            source=source,
            before={"due_on": before.isoformat() if before else None},
            after={"due_on": req.extended_due_on.isoformat()},
            detail={"months": months, "total_months": total, "reason": reason},
        )
        transaction.on_commit(lambda: send_extension_notice(req))
    return req


def notice_recipients(req: DeletionRequest) -> list[str]:
    """Who else is told about the request's deadline: the customer user who filed it (the data
    subject's own notice is :func:`deletions.gdpr.subject_notices.notify`, recorded)."""
    if req.requested_by is not None and not req.requested_by.has_perm(VIEW_PERMISSION):
        return [req.requested_by.email] if req.requested_by.email else []
    return []


def send_extension_notice(req: DeletionRequest) -> int:
    """Tell the data subject (recorded on the timeline) and the customer user who filed it."""
    told = int(subject_notices.notify(req, subject_notices.EXTENDED))
    return told + emails.send(
        "gdpr_extension",
        notice_recipients(req),
        {"req": req, "customer": req.customer},
    )


# --- Pause while waiting on the data subject ----------------------------------------------
#
# Staff pause a GDPR request's deadline while they wait on the data subject (typically for
# information that identifies them, Art. 12(6)). Resuming moves the stored due date (and the
# extended one, if any) by the calendar days between the pause date and the resume date, so
# every page, badge and query that reads ``due_on``/``extended_due_on`` stays right. Who may:
# anyone with ``deletions.approve_request`` (approvers and admins), like extending; the data
# subject resumes it through the e-mailed link (source PUBLIC, no actor).

PAUSE_PERMISSION = APPROVE_PERMISSION


def is_paused(req: DeletionRequest) -> bool:
    return req.deadline_paused_at is not None


def _check_staff(actor: Actor, action: str) -> None:
    if actor is None or not actor.is_authenticated or not actor.has_perm(PAUSE_PERMISSION):
        raise RuleViolation(f"Only an approver or an admin can {action} a deadline.")


def days_paused(req: DeletionRequest, today: date | None = None) -> int:
    """Calendar days between the pause date and *today* (0 when not paused), counted up to the
    pause allowance left (``GDPR_MAX_PAUSE_DAYS`` in all): a deadline never moves by more."""
    if req.deadline_paused_at is None:
        return 0
    since = timezone.localdate(req.deadline_paused_at)
    return min(max(((today or timezone.localdate()) - since).days, 0), pause_allowance_left(req))


def pause_allowance_left(req: DeletionRequest) -> int:
    """Days the request's deadline may still be paused, over all its pauses."""
    return max(settings.GDPR_MAX_PAUSE_DAYS - req.deadline_paused_days, 0)


def pause_ends_on(req: DeletionRequest) -> date | None:
    """The day a running pause reaches the maximum and ends by itself (None when not paused)."""
    if req.deadline_paused_at is None:
        return None
    return timezone.localdate(req.deadline_paused_at) + timedelta(days=pause_allowance_left(req))


def pause_deadline(
    request: DeletionRequest,
    *,
    reason: str,
    actor: Actor,
    source: Source | str,
    ask_subject: bool = False,
) -> DeletionRequest:
    """Pause an open GDPR request's deadline while waiting on the data subject.

    With *ask_subject*, the data subject (if they came through the public form) is e-mailed
    after commit with *reason* and a signed link to answer, which resumes the deadline.
    """
    reason = reason.strip()
    _check_staff(actor, "pause")
    if not reason:
        raise RuleViolation("Say what you are waiting for from the data subject.")
    with transaction.atomic():
        req = DeletionRequest.objects.select_for_update().get(pk=request.pk)
        if req.kind != DeletionRequest.Kind.GDPR or not req.due_on:
            raise RuleViolation("Only GDPR erasure requests have a deadline to pause.")
        if not req.is_open:
            raise RuleViolation(f"Request #{req.pk} is finished; its deadline cannot change.")
        if req.deadline_paused_at is not None:
            raise RuleViolation(
                f"The deadline of request #{req.pk} is already paused "
                f"(since {timezone.localdate(req.deadline_paused_at):%-d %B %Y})."
            )
        if not pause_allowance_left(req):
            raise RuleViolation(
                f"The deadline of request #{req.pk} has already been paused for "
                f"{req.deadline_paused_days} days, the most allowed "
                f"({settings.GDPR_MAX_PAUSE_DAYS} in all); it cannot be paused again."
            )
        if ask_subject and subject_address(req) is None:
            raise RuleViolation(
                "This request did not come through the public form, so there is no address "
                "to ask the data subject; contact them directly and resume the deadline here."
            )
        req.deadline_paused_at = timezone.now()
        req.deadline_pause_reason = reason
        req.save(update_fields=["deadline_paused_at", "deadline_pause_reason", "updated_at"])
        due = req.effective_due_on
        audit.record(
            "gdpr.deadline_paused",
            obj=req,
            actor=actor,
            source=source,
            request=req,
            before={"deadline": f"due {due:%-d %b %Y}" if due else "none"},
            after={"deadline": "paused"},
            detail={"reason": reason, "subject_asked": ask_subject},
        )
        # The data subject is told (if they gave an address): asked for what is needed, with
        # a link to answer, or only told that the deadline waits and why.
        if ask_subject:
            transaction.on_commit(lambda: send_more_info_request(req))
        else:
            transaction.on_commit(lambda: send_pause_notice(req))
    return req


def send_pause_notice(req: DeletionRequest) -> bool:
    return subject_notices.notify(
        req,
        subject_notices.PAUSED,
        {"reason": req.deadline_pause_reason, "ends_on": pause_ends_on(req)},
    )


def resume_deadline(
    request: DeletionRequest,
    *,
    actor: Actor,
    source: Source | str,
    today: date | None = None,
) -> DeletionRequest:
    """Resume a paused deadline: the due date moves by the calendar days it was paused.

    Staff need the pause permission; the data subject's link resumes it with source PUBLIC, and
    a pause that reached its maximum ends with source SYSTEM (:func:`end_overlong_pauses`).
    """
    if source not in (Source.PUBLIC, Source.SYSTEM):
        _check_staff(actor, "resume")
    today = today or timezone.localdate()
    with transaction.atomic():
        req = DeletionRequest.objects.select_for_update().get(pk=request.pk)
        if req.deadline_paused_at is None:
            raise RuleViolation(f"The deadline of request #{req.pk} is not paused.")
        if not req.is_open:
            raise RuleViolation(f"Request #{req.pk} is finished; its deadline cannot change.")
        days = days_paused(req, today)
        before = req.effective_due_on
        if req.due_on:
            req.due_on += timedelta(days=days)
        if req.extended_due_on:
            req.extended_due_on += timedelta(days=days)
        paused_on = timezone.localdate(req.deadline_paused_at)
        req.deadline_paused_days += days
        req.deadline_paused_at = None
        req.save(
            update_fields=[
                "due_on",
                "extended_due_on",
                "deadline_paused_at",
                "deadline_paused_days",
                "updated_at",
            ]
        )
        after = req.effective_due_on
        audit.record(
            "gdpr.deadline_resumed",
            obj=req,
            actor=actor,
            source=source,
            request=req,
            before={"due_on": before.isoformat() if before else None},
            after={"due_on": after.isoformat() if after else None},
            detail={
                "paused_on": paused_on.isoformat(),
                "days_paused": days,
                "total_days_paused": req.deadline_paused_days,
            },
        )
    return req


subject_address = subject_notices.subject_address


def send_more_info_request(req: DeletionRequest) -> int:
    """E-mail the data subject what is needed, with a signed link to answer (see intake)."""
    found = ErasureIntake.objects.filter(request=req).exclude(email_encrypted="").first()
    if found is None or req.deadline_paused_at is None:
        return 0
    token = links.make_answer_token(found, req)
    return int(
        subject_notices.notify(
            req,
            subject_notices.MORE_INFO,
            {
                "reason": req.deadline_pause_reason,
                "link": emails.absolute_url(reverse("public:verify", args=[token])),
                "days": links.ANSWER_MAX_AGE_SECONDS // 86400,
            },
        )
    )


# --- Deadline digest -------------------------------------------------------------------------


def open_gdpr_requests() -> QuerySet[DeletionRequest]:
    """Open GDPR requests with a deadline, paused ones included: a pause stops the clock, it
    does not make the deadline go away."""
    return DeletionRequest.objects.filter(
        kind=DeletionRequest.Kind.GDPR,
        status__in=DeletionRequest.OPEN_STATUSES,
        due_on__isnull=False,
    ).annotate(effective_due=Coalesce("extended_due_on", "due_on"))


def overdue_and_due_soon(
    today: date, within_days: int
) -> tuple[list[DeletionRequest], list[DeletionRequest]]:
    """The open GDPR requests overdue, and those due within *within_days*, most urgent first,
    each with ``days_left`` (:func:`days_left`: a paused one's as it stood when paused), in one
    query. Paused requests stay in both lists (pages show them with a "paused" badge); they are
    few, as a pause lasts ``GDPR_MAX_PAUSE_DAYS`` at most."""
    rows = (
        open_gdpr_requests()
        .filter(
            Q(deadline_paused_at__isnull=False)
            | Q(effective_due__lte=today + timedelta(days=within_days))
        )
        .select_related("customer")
    )
    found = []
    for req in rows:
        req.days_left = days_left(req, today)  # type: ignore[attr-defined]
        if req.days_left <= within_days:  # type: ignore[attr-defined]
            found.append(req)
    found.sort(key=lambda r: (r.days_left, r.pk))  # type: ignore[attr-defined]
    overdue = [r for r in found if r.days_left < 0]  # type: ignore[attr-defined]
    return overdue, [r for r in found if r.days_left >= 0]  # type: ignore[attr-defined]


def waiting_intakes(today: date) -> list[ErasureIntake]:
    """Verified public intakes not yet turned into requests whose deadline is near or past:
    their month runs from receipt too."""
    found = []
    for intake in ErasureIntake.objects.filter(
        status__in=[ErasureIntake.Status.VERIFIED, ErasureIntake.Status.CONFIRMED]
    ).select_related("customer"):
        intake.due_on = due_date(intake.received_on)  # type: ignore[attr-defined]
        intake.days_left = (intake.due_on - today).days  # type: ignore[attr-defined]
        if intake.days_left <= DIGEST_WARNING_DAYS:  # type: ignore[attr-defined]
            found.append(intake)
    return sorted(found, key=lambda i: (i.received_on, i.pk))


def send_deadline_digest(today: date | None = None) -> int:
    """E-mail staff the open GDPR requests due within 7 days or overdue, once a day.

    The audit trail records each digest; a second call on the same day sends nothing. Returns
    the number of messages sent.
    """
    today = today or timezone.localdate()
    with transaction.atomic():
        if AuditEvent.objects.filter(
            action="gdpr.digest_sent", object_type="digest", object_id=today.isoformat()
        ).exists():
            return 0
        overdue, due_soon = overdue_and_due_soon(today, DIGEST_WARNING_DAYS)
        intakes = waiting_intakes(today)
        if not overdue and not due_soon and not intakes:
            return 0
        AuditEvent.objects.create(
            actor_label="system",
            source=Source.SYSTEM,
            action="gdpr.digest_sent",
            object_type="digest",
            object_id=today.isoformat(),
            detail={
                "overdue": [r.pk for r in overdue],
                "due_soon": [r.pk for r in due_soon],
                "intakes": [i.pk for i in intakes],
            },
        )
    return emails.send(
        "gdpr_digest",
        staff_alert_recipients(),
        {
            "overdue": overdue,
            "due_soon": due_soon,
            "intakes": intakes,
            "intakes_url": emails.absolute_url(reverse("console:intake_list")),
            "today": today,
            "queue_url": emails.absolute_url(reverse("console:queue")),
        },
    )
