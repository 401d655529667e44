"""How far a deletion request has got, and an honest estimate of the time left.

Read on every poll of the progress bar, so it uses the request's counters (kept by the item
transitions) and one small COUNT of the items in flight, never a COUNT over all the items.
The estimate assumes the observed rate, which the workspace's rate limit caps: Extend will not
go faster than that whatever the portal does.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from deletions.models import DeletionItem, DeletionRequest

RS = DeletionRequest.Status
IS = DeletionItem.Status
FINISHED_STATUSES = frozenset({RS.COMPLETED, RS.COMPLETED_WITH_FAILURES})


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
    rate_per_second: float
    eta_seconds: float | None
    eta_text: str


def duration_text(seconds: float) -> str:
    if seconds < 90:
        return "less than 2 minutes"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"about {minutes} minutes"
    hours = seconds / 3600
    return f"about {hours:.1f} hours" if hours < 36 else f"about {hours / 24:.1f} days"


def progress_for(req: DeletionRequest) -> Progress:
    """Where *req* stands: counters (no COUNT over the items), the few items in flight, the
    observed rate capped at the workspace's limit, and an honest time left."""
    done = req.done_count
    remaining = req.remaining_count
    in_flight = DeletionItem.objects.filter(request=req, status=IS.IN_FLIGHT).count()
    paused = req.status == RS.PAUSED
    held = remaining if paused else 0
    pending = max(remaining - in_flight - held, 0)
    item = (
        DeletionItem.objects.filter(request=req)
        .select_related("workspace")
        .only("workspace__rate_limit")
        .first()
    )
    limit = float(item.workspace.rate_limit) if item else 0.0
    rate = limit
    if req.started_at and done:
        elapsed = (timezone.now() - req.started_at).total_seconds()
        if elapsed > 0:
            rate = min(done / elapsed, limit) if limit else done / elapsed
    eta: float | None = None
    if not remaining:
        text = "Finished" if req.status in FINISHED_STATUSES else "All items are done"
        eta = 0.0
    elif paused:
        text = "Paused: no estimate until the deletions resume."
    elif rate <= 0:
        text = "No estimate yet."
    else:
        eta = remaining / rate
        text = f"{duration_text(eta)} left"
        if req.status == RS.APPROVED:
            text = f"Starting soon; then {duration_text(eta)} at up to {limit:g} deletions a second"
    return Progress(
        total=req.item_count,
        deleted=req.deleted_count,
        already_gone=req.already_gone_count,
        failed=req.failed_count,
        pending=pending,
        in_flight=in_flight,
        held=held,
        percent=req.progress_percent,
        rate_per_second=rate,
        eta_seconds=eta,
        eta_text=text,
    )
