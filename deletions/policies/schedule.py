"""When a retention policy is next evaluated.

An age policy runs once a day at ``RETENTION_POLICY_EVALUATION_HOUR`` in its customer's time
zone; an "after processing" policy at every beat tick (its runs expire by the hour). Neither acts
before ``first_action_at``: the day its customer's admins were told it would begin.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta, tzinfo

from django.conf import settings
from django.utils import timezone

from deletions.models import Customer, RetentionPolicy


def customer_zone(customer: Customer) -> tzinfo:
    """The customer's time zone, or the portal's when it has none (or an unknown one)."""
    if customer.time_zone:
        try:
            return zoneinfo.ZoneInfo(customer.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
    return timezone.get_default_timezone()


def next_daily_hour(zone: tzinfo, after: datetime, hour: int) -> datetime:
    """The first moment at *hour* o'clock in *zone* at or after *after*."""
    local = after.astimezone(zone)
    candidate = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if candidate < local:
        # The next day at that hour, rebuilt from the date so that a DST change in between
        # keeps the wall-clock hour.
        next_day = (candidate + timedelta(days=1)).date()
        candidate = datetime(next_day.year, next_day.month, next_day.day, hour, tzinfo=zone)
    return candidate


def next_evaluation(policy: RetentionPolicy, now: datetime) -> datetime:
    """When *policy* (active) should next be evaluated, after an evaluation at *now*."""
    start = max(now, policy.first_action_at or now)
    if policy.basis == RetentionPolicy.Basis.AFTER_PROCESSING:
        return start
    moment = next_daily_hour(
        customer_zone(policy.customer), start, settings.RETENTION_POLICY_EVALUATION_HOUR
    )
    if moment <= now:
        moment = next_daily_hour(
            customer_zone(policy.customer),
            now + timedelta(seconds=1),
            settings.RETENTION_POLICY_EVALUATION_HOUR,
        )
    return moment
