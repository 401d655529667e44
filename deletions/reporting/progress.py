"""How far a deletion request has got, and an estimate of the time left only when one is true.

An estimate is given only while the request runs on a workspace the engine may send for now
(health active, a key, the circuit breaker closed). It counts the work queued ahead of the
request in the same Extend organisation (the pending items of other running requests that are
due earlier, which the engine sends first) and divides by the organisation's WRITE limit, which
Extend enforces whatever the portal does. In every other state the page says why there is no
estimate, in the customer's words (``eta_text``) and in the staff's (``staff_text``).

Read on every poll of the progress bar, so it uses the request's counters (kept by the item
transitions), one small COUNT of the items in flight or awaiting proof, and, while running, the
request's first pending item and one index-backed COUNT of the organisation's earlier pending
items: never a COUNT over all of the request's items. A request that erases uploaded files adds
one grouped count of its files (there are no counters for them on the request).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count
from django.utils import dateformat, timezone

from deletions.engine.due import waiting_items
from deletions.models import DeletionItem, DeletionRequest, Workspace
from deletions.requests import file_results
from deletions.requests.file_results import FileTally
from deletions.workspaces import ratelimit

RS = DeletionRequest.Status
IS = DeletionItem.Status
WH = Workspace.Health
FINISHED_STATUSES = frozenset({RS.COMPLETED, RS.COMPLETED_WITH_FAILURES})
ENDED_UNDONE = {
    RS.REJECTED: "Rejected: nothing will be deleted",
    RS.CANCELLED: "Cancelled: nothing will be deleted",
    RS.EXPIRED: "Expired before it was verified: nothing will be deleted",
}

WAITING_FOR_APPROVAL = "Waiting for approval"
PAUSED_BY_OPERATOR = "Paused by the operator"
WORKSPACE_PAUSED = "Paused by the operator; staff are notified"
CONNECTION_STOPPED = (
    "Deletion is stopped until the operator fixes the connection to Extend; staff are notified"
)


@dataclass
class Progress:
    total: int
    deleted: int
    already_gone: int
    failed: int
    pending: int
    in_flight: int
    held: int
    percent: int
    # Running: the organisation's WRITE limit the estimate assumes. Finished: the rate achieved
    # from start to finish. Otherwise 0.
    rate_per_second: float
    # Seconds left, only while the request runs on a runnable workspace; else None.
    eta_seconds: float | None
    # What the page says: the estimate, or why there is none (customer's words).
    eta_text: str
    # The same for staff, with the precise reason (workspace health, breaker).
    staff_text: str = ""
    # Items of this request that Extend answered 404 to, waiting for proof that they are gone.
    unconfirmed: int = 0
    # Pending items of other requests of the same organisation that are sent first.
    ahead: int = 0
    # Finished requests: seconds from start to finish.
    duration_seconds: float | None = None
    # The request's uploaded files per outcome; None when it does not erase them.
    files: FileTally | None = None

    @property
    def has_estimate(self) -> bool:
        return self.eta_seconds is not None


def duration_text(seconds: float) -> str:
    """A rough duration for an estimate: 'less than 2 minutes', 'about 5 minutes', …"""
    if seconds < 90:
        return "less than 2 minutes"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"about {minutes} minutes"
    hours = seconds / 3600
    return f"about {hours:.1f} hours" if hours < 36 else f"about {hours / 24:.1f} days"


def elapsed_text(seconds: float) -> str:
    """A measured duration: '12 s', '4 min 09 s', '2 h 05 min', '3 d 4 h'."""
    return _duration(max(round(seconds), 0), hour_minutes="{:02d}")


def _duration(s: int, *, hour_minutes: str) -> str:
    days, rest = divmod(s, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {hour_minutes.format(minutes)} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def clock(when: datetime) -> str:
    """HH:MM in the portal's time zone."""
    return dateformat.format(timezone.localtime(when), "H:i")


def moment(when: datetime) -> str:
    """Day and time in the portal's time zone, e.g. '3 Dec 2026, 14:30'."""
    return dateformat.format(timezone.localtime(when), "j M Y, H:i")


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _workspace_of(req: DeletionRequest) -> Workspace | None:
    """The workspace the request's remaining work goes to: that of its first pending item (an
    index scan of one row), else of any of its items."""
    items = DeletionItem.objects.filter(request=req).select_related("workspace__organization")
    item = items.filter(status=IS.PENDING).order_by("id").first() or items.first()
    return item.workspace if item is not None else None


def _ahead_of(req: DeletionRequest, ws: Workspace) -> int:
    """Pending items of other running requests of *ws*'s organisation (or of *ws* alone when it
    has none) that are due before this request's items were: the engine sends them first."""
    if req.started_at is None:
        return 0
    items = waiting_items().exclude(request_id=req.pk).filter(next_attempt_at__lt=req.started_at)
    if ws.organization_id is not None:
        items = items.filter(workspace__organization_id=ws.organization_id)
    else:
        items = items.filter(workspace_id=ws.pk)
    return items.count()


def _stopped(ws: Workspace | None, now: datetime) -> tuple[str, str] | None:
    """Why the engine sends nothing for *ws* now (customer's words, staff's words), or None."""
    if ws is None:
        return None
    if ws.health == WH.PAUSED:
        reason = f": {ws.health_reason.rstrip('. ')}" if ws.health_reason else ""
        return WORKSPACE_PAUSED, f"Workspace {ws.name} is paused by staff{reason}"
    if ws.health != WH.ACTIVE:
        reason = f": {ws.health_reason.rstrip('. ')}" if ws.health_reason else ""
        return CONNECTION_STOPPED, (
            f"Stopped: workspace {ws.name} is {ws.get_health_display().lower()}{reason}. "
            "Fix it on the workspace's page, then resume the workspace"
        )
    if not ws.has_api_key:
        return CONNECTION_STOPPED, f"Stopped: workspace {ws.name} has no API key"
    if ws.breaker_open_until is not None and ws.breaker_open_until > now:
        at = clock(ws.breaker_open_until)
        return f"Extend is unavailable; next try at {at}", (
            f"Extend unavailable for workspace {ws.name}: the circuit breaker is open after "
            f"{_plural(ws.breaker_failures, 'failure')} in a row; next try at {at}"
        )
    return None


def progress_for(req: DeletionRequest, *, now: datetime | None = None) -> Progress:
    """Where *req* stands: its counters, the few items in flight or awaiting proof, and either
    an estimate of the time left (running on a runnable workspace) or why there is none."""
    now = now or timezone.now()
    remaining = req.remaining_count
    busy = dict(
        DeletionItem.objects.filter(request=req, status__in=(IS.IN_FLIGHT, IS.UNCONFIRMED))
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
    )
    in_flight, unconfirmed = busy.get(IS.IN_FLIGHT, 0), busy.get(IS.UNCONFIRMED, 0)
    paused = req.status == RS.PAUSED
    held = remaining if paused else 0
    pending = max(remaining - in_flight - unconfirmed - held, 0)
    p = Progress(
        total=req.item_count,
        deleted=req.deleted_count,
        already_gone=req.already_gone_count,
        failed=req.failed_count,
        pending=pending,
        in_flight=in_flight,
        held=held,
        percent=req.progress_percent,
        rate_per_second=0.0,
        eta_seconds=None,
        eta_text="",
        unconfirmed=unconfirmed,
        files=file_results.tally(req),
    )
    status = req.status
    if status in FINISHED_STATUSES:
        _finished(req, p)
    elif status in ENDED_UNDONE:
        p.eta_text = p.staff_text = ENDED_UNDONE[RS(status)]
    elif status == RS.AWAITING_VERIFICATION:
        p.eta_text = p.staff_text = "Waiting for the data subject to verify their e-mail address"
    elif status == RS.PENDING_APPROVAL:
        p.eta_text = p.staff_text = WAITING_FOR_APPROVAL
    elif status in (RS.APPROVED, RS.RUNNING) and req.held_count and not remaining:
        _all_held(req, p)
    elif status == RS.APPROVED:
        if req.execute_after is not None and req.execute_after > now:
            at = moment(req.execute_after)
            p.eta_text = (
                f"Starts after the cooling-off window, at {at}; you can still cancel until then"
            )
            p.staff_text = (
                f"Starts after the customer's cooling-off window, at {at}; it can still be "
                "cancelled until then"
            )
        else:
            p.eta_text = p.staff_text = "Approved; deletion is about to start"
    elif paused:
        p.eta_text, p.staff_text = PAUSED_BY_OPERATOR, "Paused by staff"
    else:
        _running(req, p, now)
    return p


def _finished(req: DeletionRequest, p: Progress) -> None:
    if req.started_at is None or req.finished_at is None:
        p.eta_text = p.staff_text = "Finished"
        return
    seconds = max((req.finished_at - req.started_at).total_seconds(), 0.0)
    p.duration_seconds = seconds
    done = req.done_count
    p.rate_per_second = done / seconds if seconds > 0 else 0.0
    rate = f" at {p.rate_per_second:.1f} runs a second" if seconds >= 1 else ""
    p.eta_text = p.staff_text = f"Finished in {elapsed_text(seconds)}{rate}"


def _all_held(req: DeletionRequest, p: Progress) -> None:
    n = req.held_count
    verb = "is" if n == 1 else "are"
    p.eta_text = f"Nothing else to do now: {_plural(n, 'run')} {verb} retained for legal reasons"
    p.staff_text = f"No estimate: every remaining item ({n:,}) is on legal hold"


def _running(req: DeletionRequest, p: Progress, now: datetime) -> None:
    remaining = req.remaining_count
    if not remaining:
        if p.files is not None and p.files.in_progress:
            p.eta_text = p.staff_text = (
                f"All runs are done; erasing their uploaded files ({p.files.progress_text})"
            )
        else:
            p.eta_text = p.staff_text = "All runs are done; finishing"
        return
    ws = _workspace_of(req)
    stopped = _stopped(ws, now)
    if stopped is not None or ws is None:
        p.eta_text, p.staff_text = stopped or ("No estimate yet", "No estimate yet")
        return
    if not p.pending:
        if p.unconfirmed:
            p.eta_text = p.staff_text = (
                f"{_plural(p.unconfirmed, 'run')} not found at Extend, awaiting proof that "
                f"{'it is' if p.unconfirmed == 1 else 'they are'} gone"
            )
        else:
            p.eta_text = p.staff_text = "The last runs are being deleted now"
        return
    limit = ratelimit.limit_for(ws, ratelimit.WRITE)
    p.rate_per_second = limit
    p.ahead = _ahead_of(req, ws)
    p.eta_seconds = (p.ahead + p.pending) / (limit * ratelimit.SAFETY_FACTOR)
    left = f"{duration_text(p.eta_seconds)} left"
    # Customers learn that others are ahead, not how much work other customers have.
    p.eta_text = f"{left}; other requests are ahead in the queue" if p.ahead else left
    scope = " for the organisation" if ws.organization_id else ""
    p.staff_text = f"{left} at {limit:g} deletions a second{scope}"
    if p.ahead:
        p.staff_text += f"; {_plural(p.ahead, 'item')} of other requests go first"


def cooling_off(req: DeletionRequest) -> dict[str, Any] | None:
    """The cooling-off window an approved request is waiting out, or None."""
    if req.status != DeletionRequest.Status.APPROVED or req.execute_after is None:
        return None
    now = timezone.now()
    if req.execute_after <= now:
        return None
    return {
        "until": req.execute_after,
        "hours": req.customer.cooling_off_hours,
        "left": remaining_text((req.execute_after - now).total_seconds()),
    }


def remaining_text(seconds: float) -> str:
    """'2 d 3 h', '5 h 12 min', '4 min 09 s', '12 s' (static/js/countdown.js says the same):
    a countdown never rounds up, and its minutes next to hours are not padded."""
    return _duration(max(int(seconds), 0), hour_minutes="{}")
