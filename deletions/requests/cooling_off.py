"""The customer's cooling-off window after approval, and the statutory deadline it must not push.

A customer may ask for a window between approval and execution (``Customer.cooling_off_hours``)
in which the request can still be cancelled. A GDPR erasure request has a due date the operator
answers for (Art. 12(3)): its window is shortened so that execution starts no later than the
beginning of the due date (at once if that has passed), and the approval's transition records
that it was shortened (``request.cooling_off_shortened``, on the request's timeline).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.utils import timezone

from deletions.models import DeletionRequest


@dataclass(frozen=True)
class Window:
    execute_after: datetime
    # The end the customer's window would have had, when it was shortened; else None.
    shortened_from: datetime | None = None


def window(req: DeletionRequest, approved_at: datetime) -> Window:
    """When the approved *req* may start executing."""
    end = approved_at + timedelta(hours=req.customer.cooling_off_hours)
    due = req.effective_due_on
    if req.kind != DeletionRequest.Kind.GDPR or due is None or end <= approved_at:
        return Window(end)
    # The start of the due date in the portal's time zone: the engine then has the whole day.
    latest = max(
        datetime.combine(due, time.min, tzinfo=timezone.get_current_timezone()), approved_at
    )
    if end <= latest:
        return Window(end)
    return Window(latest, shortened_from=end)
