"""Pauses have a maximum: staff are reminded before a paused deadline reaches it, and a pause
that reached it ends by itself (``GDPR_MAX_PAUSE_DAYS`` in all, per request; see
:func:`deletions.gdpr.deadlines.pause_ends_on`). Run hourly by beat; both are idempotent."""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from deletions import audit
from deletions.core import emails
from deletions.core.errors import RuleViolation
from deletions.gdpr import deadlines
from deletions.models import AuditEvent, DeletionRequest, Source
from deletions.workspaces.alerts import staff_alert_recipients

REMINDER_ACTION = "gdpr.pause_reminder_sent"


def _paused() -> list[DeletionRequest]:
    return list(
        deadlines.open_gdpr_requests()
        .filter(deadline_paused_at__isnull=False)
        .select_related("customer")
        .order_by("deadline_paused_at", "id")
    )


def remind_pauses_ending(today: date | None = None) -> int:
    """E-mail staff once per pause whose maximum is ``GDPR_PAUSE_REMINDER_DAYS`` days away or
    nearer; the reminder is recorded on the request's timeline. Returns how many were sent."""
    today = today or timezone.localdate()
    sent = 0
    for req in _paused():
        ends_on = deadlines.pause_ends_on(req)
        assert ends_on is not None and req.deadline_paused_at is not None
        if ends_on - today > timedelta(days=settings.GDPR_PAUSE_REMINDER_DAYS):
            continue
        paused_at = req.deadline_paused_at.isoformat()
        with transaction.atomic():
            locked = DeletionRequest.objects.select_for_update().get(pk=req.pk)
            if locked.deadline_paused_at != req.deadline_paused_at:
                continue  # resumed meanwhile
            # Once per pause: the reminder names the pause it is about.
            if AuditEvent.objects.filter(
                request_id=req.pk, action=REMINDER_ACTION, detail__paused_at=paused_at
            ).exists():
                continue
            audit.record(
                REMINDER_ACTION,
                obj=req,
                actor=None,
                source=Source.SYSTEM,
                detail={"paused_at": paused_at, "pause_ends_on": ends_on.isoformat()},
            )
            sent += emails.send(
                "gdpr_pause_ending",
                staff_alert_recipients(),
                {
                    "req": req,
                    "customer": req.customer,
                    "ends_on": ends_on,
                    "days": (ends_on - today).days,
                    "max_days": settings.GDPR_MAX_PAUSE_DAYS,
                    "url": emails.absolute_url(reverse("console:request_detail", args=[req.pk])),
                },
            )
    return sent


def end_overlong_pauses(today: date | None = None) -> int:
    """Resume every paused deadline that reached its maximum (source SYSTEM, on its timeline);
    the due date moves by the days allowed, no more. Returns how many were resumed."""
    today = today or timezone.localdate()
    ended = 0
    for req in _paused():
        ends_on = deadlines.pause_ends_on(req)
        if ends_on is None or ends_on > today:
            continue
        try:
            deadlines.resume_deadline(req, actor=None, source=Source.SYSTEM, today=today)
        except RuleViolation:
            continue  # resumed or finished meanwhile
        ended += 1
    return ended
