"""Calendar arithmetic, including the statutory deadline of a GDPR request.

Here rather than in :mod:`deletions.gdpr` because submitting a request (``requests``) already
sets the deadline, and ``gdpr`` sits above ``requests``.
"""

from __future__ import annotations

import calendar
from datetime import date


def add_months(day: date, months: int) -> date:
    """The same date *months* later, or that month's last day when the date does not exist."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def due_date(received_on: date) -> date:
    """The statutory due date of a request received on *received_on* (day one)."""
    return add_months(received_on, 1)
