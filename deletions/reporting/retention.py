"""What retention policies did: a customer's monthly summary (its page and the e-mail to its
admins) and, for the console's dashboard, the runs deleted by policies beside one-off requests.

A fixed number of queries whatever the number of runs, evaluations or requests: each figure is
one aggregate grouped by policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Exists, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import dateformat, timezone

from deletions.models import (
    Customer,
    DeletionItem,
    DeletionRequest,
    PolicyEvaluation,
    RetentionPolicy,
)
from deletions.policies.schedule import customer_zone

FINISHED = (DeletionRequest.Status.COMPLETED, DeletionRequest.Status.COMPLETED_WITH_FAILURES)
GONE = (DeletionItem.Status.DELETED, DeletionItem.Status.ALREADY_GONE)
# The fields of an evaluation the summary reports as they stood at the month's last one: each
# evaluation counts the runs it skipped then, so adding them up over a month would count a run
# held for thirty days thirty times.
LAST_EVALUATION_FIELDS = (
    "evaluated_at",
    "skipped_held",
    "skipped_exempt",
    "skipped_open",
    "deferred",
)


@dataclass(frozen=True)
class PolicyMonth:
    """One policy's month."""

    policy: RetentionPolicy
    # Of its retention requests that finished in the month: runs Extend confirmed deleted, runs
    # already gone before the portal's DELETE, runs that failed, and runs a hold retained.
    deleted: int
    already_gone: int
    failed: int
    held: int
    requests: int
    evaluations: int
    # As the month's last evaluation found them (None: it was not evaluated in the month).
    last_evaluated_at: datetime | None
    skipped_held: int
    skipped_exempt: int
    skipped_open: int
    deferred: int

    @property
    def gone(self) -> int:
        """Runs no longer at Extend: deleted by the portal or already gone."""
        return self.deleted + self.already_gone


@dataclass(frozen=True)
class MonthlySummary:
    """One customer's month of retention policies, in its time zone."""

    customer: Customer
    year: int
    month: int
    starts: datetime
    ends: datetime
    policies: list[PolicyMonth]

    @property
    def label(self) -> str:
        """'November 2026'."""
        return dateformat.format(date(self.year, self.month, 1), "F Y")

    @property
    def key(self) -> str:
        """'2026-11', how the month is named in records."""
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def gone(self) -> int:
        return sum(p.gone for p in self.policies)

    @property
    def evaluations(self) -> int:
        return sum(p.evaluations for p in self.policies)


def month_bounds(customer: Customer, year: int, month: int) -> tuple[datetime, datetime]:
    """The month's first moment and the next month's, in *customer*'s time zone."""
    zone = customer_zone(customer)
    following = date(year + month // 12, month % 12 + 1, 1)
    return (
        datetime.combine(date(year, month, 1), time.min, tzinfo=zone),
        datetime.combine(following, time.min, tzinfo=zone),
    )


def previous_month(day: date) -> tuple[int, int]:
    """The (year, month) before the month of *day*."""
    last = day.replace(day=1) - timedelta(days=1)
    return last.year, last.month


def monthly_summary(customer: Customer, year: int, month: int) -> MonthlySummary:
    """Per policy of *customer*: the runs its requests finished in the month deleted, its
    evaluations, and what the month's last evaluation skipped (held, exempted, in another
    request) or left for later (the cap). Lists the policies that were active or paused, or
    acted in the month; the month is the customer's (its time zone)."""
    starts, ends = month_bounds(customer, year, month)
    in_month = {"finished_at__gte": starts, "finished_at__lt": ends}
    finished = DeletionRequest.objects.filter(
        retention_policy=OuterRef("pk"), status__in=FINISHED, **in_month
    )
    evaluated = PolicyEvaluation.objects.filter(
        policy=OuterRef("pk"), dry_run=False, evaluated_at__gte=starts, evaluated_at__lt=ends
    )
    last = evaluated.order_by("-evaluated_at", "-id")
    policies = (
        RetentionPolicy.objects.filter(customer=customer, proposed_at__lt=ends)
        .filter(
            Q(status__in=(RetentionPolicy.Status.ACTIVE, RetentionPolicy.Status.PAUSED))
            | Exists(finished)
            | Exists(evaluated)
        )
        .annotate(
            **{f"month_{name}": Subquery(last.values(name)[:1]) for name in LAST_EVALUATION_FIELDS}
        )
        .order_by("name", "pk")
    )
    requests = {
        row["retention_policy"]: row
        for row in DeletionRequest.objects.filter(
            customer=customer, kind=DeletionRequest.Kind.RETENTION, status__in=FINISHED, **in_month
        )
        .order_by()
        .values("retention_policy")
        .annotate(
            n=Count("id"),
            deleted=Coalesce(Sum("deleted_count"), 0),
            already_gone=Coalesce(Sum("already_gone_count"), 0),
            failed=Coalesce(Sum("failed_count"), 0),
            held=Coalesce(Sum("held_count"), 0),
        )
    }
    evaluations = dict(
        PolicyEvaluation.objects.filter(
            policy__customer=customer,
            dry_run=False,
            evaluated_at__gte=starts,
            evaluated_at__lt=ends,
        )
        .order_by()
        .values_list("policy")
        .annotate(n=Count("id"))
    )
    rows = []
    for policy in policies:
        done = requests.get(policy.pk, {})
        rows.append(
            PolicyMonth(
                policy=policy,
                deleted=done.get("deleted", 0),
                already_gone=done.get("already_gone", 0),
                failed=done.get("failed", 0),
                held=done.get("held", 0),
                requests=done.get("n", 0),
                evaluations=evaluations.get(policy.pk, 0),
                last_evaluated_at=policy.month_evaluated_at,  # type: ignore[attr-defined]
                skipped_held=policy.month_skipped_held or 0,  # type: ignore[attr-defined]
                skipped_exempt=policy.month_skipped_exempt or 0,  # type: ignore[attr-defined]
                skipped_open=policy.month_skipped_open or 0,  # type: ignore[attr-defined]
                deferred=policy.month_deferred or 0,  # type: ignore[attr-defined]
            )
        )
    return MonthlySummary(customer, year, month, starts, ends, rows)


@dataclass(frozen=True)
class DeletedByKind:
    """Runs confirmed gone over a period, by what asked for them."""

    days: int
    by_policies: int
    by_requests: int

    @property
    def total(self) -> int:
        return self.by_policies + self.by_requests


def deleted_by_policies_and_requests(
    days: int = 30, *, now: datetime | None = None
) -> DeletedByKind:
    """Runs confirmed gone over the last *days* days (the dashboard chart's days), by retention
    policies and by one-off requests (standard and GDPR), in one query."""
    now = now or timezone.now()
    first = timezone.localdate(now) - timedelta(days=days - 1)
    since = datetime.combine(first, time.min, tzinfo=timezone.get_current_timezone())
    retention = Q(request__kind=DeletionRequest.Kind.RETENTION)
    counts = DeletionItem.objects.filter(confirmed_at__gte=since, status__in=GONE).aggregate(
        by_policies=Count("id", filter=retention), by_requests=Count("id", filter=~retention)
    )
    return DeletedByKind(days, counts["by_policies"], counts["by_requests"])


def last_month_summary(customer: Customer, now: datetime | None = None) -> MonthlySummary:
    """The summary of the customer's previous month (in its time zone), as its admins are
    e-mailed it: for the customer's pages (``templates/customer/_retention_summary.html``)."""
    today = timezone.localtime(now or timezone.now(), customer_zone(customer)).date()
    return monthly_summary(customer, *previous_month(today))
