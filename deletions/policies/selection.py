"""Which runs a retention policy selects at a moment, and its preview.

Everything here is a bounded query: counts stop at a limit (the evaluation cap, plus one) and the
date range comes from the ends of an index, so a policy's page costs the same at 1,000,000 runs
as at 100.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet

from deletions.models import (
    Customer,
    DeletionRequest,
    LegalHold,
    ParseRun,
    RetentionExemption,
    RetentionPolicy,
)
from deletions.requests.hold_coverage import active_holds, covered
from deletions.requests.submission import RunFilter, customer_runs

PREVIEW_PAGE = 20


def cut_off(policy: RetentionPolicy, now: datetime) -> datetime:
    """Runs created (age) or processed (after processing) before this have expired."""
    return now - policy.period


def _date_field(policy: RetentionPolicy) -> str:
    return "extend_created_at" if policy.basis == RetentionPolicy.Basis.AGE else "processed_at"


def run_filter(policy: RetentionPolicy) -> RunFilter:
    return RunFilter(
        status=policy.extend_status,
        file_name_contains=policy.file_name_contains,
        metadata_key=policy.metadata_key,
        metadata_value=policy.metadata_value,
    )


def in_scope(policy: RetentionPolicy) -> QuerySet[ParseRun]:
    """The customer's present runs the policy is about, expired or not (workspaces, filter)."""
    runs = run_filter(policy).apply(customer_runs(policy.customer))
    workspace_ids = [w.pk for w in policy.workspaces.all()]
    if workspace_ids:
        runs = runs.filter(workspace_id__in=workspace_ids)
    return runs


def expired(policy: RetentionPolicy, now: datetime) -> QuerySet[ParseRun]:
    """The runs in scope past the policy's period, whatever else stands in their way."""
    return in_scope(policy).filter(**{f"{_date_field(policy)}__lt": cut_off(policy, now)})


def exempt() -> Exists:
    return Exists(RetentionExemption.objects.filter(parse_run_id=OuterRef("pk")))


def selectable(policy: RetentionPolicy, now: datetime) -> QuerySet[ParseRun]:
    """Expired runs that an evaluation would take now, oldest first: not exempted, not in
    another open request, not under a legal hold."""
    field = _date_field(policy)
    return (
        expired(policy, now)
        .filter(open_request__isnull=True)
        .exclude(exempt())
        .exclude(covered(""))
        .order_by(field, "id")
    )


def bounded_count(runs: QuerySet[ParseRun], limit: int) -> int:
    """``runs.count()``, but never counting past *limit* (the caller shows "more than")."""
    return runs.order_by()[:limit].count()


@dataclass(frozen=True)
class Skipped:
    """Expired runs an evaluation leaves, and why (each count bounded by the cap + 1)."""

    exempt: int
    open_request: int
    held: int


def skipped(policy: RetentionPolicy, now: datetime, limit: int) -> Skipped:
    """Each count starts from the small side (the customer's exemptions, its open requests, the
    active holds that can reach it), never by walking every expired run: the preview stays as
    cheap at 1,000,000 runs as at 1,000."""
    runs = expired(policy, now)
    customer = policy.customer
    exempt_count = 0
    if RetentionExemption.objects.filter(customer=customer).exists():
        exempt_count = bounded_count(
            runs.filter(
                pk__in=RetentionExemption.objects.filter(customer=customer).values("parse_run_id")
            ),
            limit,
        )
    not_exempt = runs.exclude(exempt())
    open_ids = DeletionRequest.objects.filter(
        customer=customer, status__in=DeletionRequest.OPEN_STATUSES
    ).values_list("pk", flat=True)
    busy = 0
    if open_ids.exists():
        busy = bounded_count(not_exempt.filter(open_request__in=list(open_ids)), limit)
    held = 0
    if _holds_may_reach(customer):
        held = bounded_count(
            not_exempt.filter(open_request__isnull=True).filter(covered("")), limit
        )
    return Skipped(exempt=exempt_count, open_request=busy, held=held)


def _holds_may_reach(customer: Customer) -> bool:
    """Whether any active hold could cover one of *customer*'s runs (few holds: a quick look)."""
    holds = active_holds()
    workspaces = ParseRun.objects.filter(customer=customer).values("workspace_id")
    return holds.filter(
        Q(scope=LegalHold.Scope.CUSTOMER, customer=customer)
        | Q(scope=LegalHold.Scope.WORKSPACE, workspace_id__in=workspaces)
        | Q(scope=LegalHold.Scope.RUNS, runs__customer=customer)
    ).exists()


@dataclass(frozen=True)
class Preview:
    """What the policy would delete if it ran now."""

    cut_off: datetime
    count: int
    # The count reached the limit: there are at least that many (the cap + 1).
    more: bool
    cap: int
    oldest: datetime | None
    newest: datetime | None
    first_page: list[ParseRun]
    skipped: Skipped

    @property
    def capped(self) -> bool:
        """An evaluation now would take the cap and leave the rest for the next days."""
        return self.count > self.cap


def preview(policy: RetentionPolicy, now: datetime) -> Preview:
    """Count (up to the cap + 1), date range and the first runs an evaluation would take now."""
    cap = settings.RETENTION_POLICY_CAP
    runs = selectable(policy, now)
    field = _date_field(policy)
    count = bounded_count(runs, cap + 1)
    # The ends of the index, not an aggregate over every selected run.
    oldest = runs.values_list(field, flat=True).first() if count else None
    newest = (
        runs.order_by(f"-{field}", "-id").values_list(field, flat=True).first() if count else None
    )
    return Preview(
        cut_off=cut_off(policy, now),
        count=min(count, cap + 1),
        more=count > cap,
        cap=cap,
        oldest=oldest,
        newest=newest,
        first_page=list(runs.select_related("workspace")[:PREVIEW_PAGE]),
        skipped=skipped(policy, now, cap + 1),
    )
