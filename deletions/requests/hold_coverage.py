"""Which runs an active legal hold covers, and moving waiting items to ``held``.

Kept apart from :mod:`deletions.requests.holds` (placing and lifting, which need the transitions)
so that the transitions and the engine's gate can ask "is this run held?" without importing them
back.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from deletions.models import DeletionItem, DeletionRequest, LegalHold, ParseRun

IS = DeletionItem.Status


def active_holds(today: date | None = None) -> QuerySet[LegalHold]:
    today = today or timezone.localdate()
    return LegalHold.objects.filter(lifted_at__isnull=True).filter(
        Q(ends_on__isnull=True) | Q(ends_on__gte=today)
    )


def covered(prefix: str) -> Q:
    """A condition on a row whose parse run is reached through *prefix* ('' for ParseRun)."""
    holds = active_holds()
    return (
        Q(
            Exists(
                holds.filter(
                    scope=LegalHold.Scope.CUSTOMER, customer=OuterRef(f"{prefix}customer_id")
                )
            )
        )
        | Q(
            Exists(
                holds.filter(
                    scope=LegalHold.Scope.WORKSPACE, workspace=OuterRef(f"{prefix}workspace_id")
                )
            )
        )
        | Q(Exists(holds.filter(scope=LegalHold.Scope.RUNS, runs=OuterRef(f"{prefix}id"))))
    )


def holds_covering(run: ParseRun) -> QuerySet[LegalHold]:
    """The active holds that cover *run*."""
    return active_holds().filter(
        Q(scope=LegalHold.Scope.CUSTOMER, customer_id=run.customer_id)
        | Q(scope=LegalHold.Scope.WORKSPACE, workspace_id=run.workspace_id)
        | Q(scope=LegalHold.Scope.RUNS, runs=run)
    )


def is_held(run: ParseRun) -> bool:
    return holds_covering(run).exists()


def recount(request_ids: Iterable[int]) -> None:
    """Refresh the held counters of *request_ids* (held items are few; the index serves this)."""
    ids = set(request_ids)
    if not ids:
        return
    counts = dict(
        DeletionItem.objects.filter(request_id__in=ids, status=IS.HELD)
        .values_list("request_id")
        .annotate(n=Count("id"))
    )
    for request_id in ids:
        DeletionRequest.objects.filter(pk=request_id).update(held_count=counts.get(request_id, 0))


def apply_holds() -> int:
    """Move every waiting item of an open or running request that a hold covers to ``held``."""
    items = DeletionItem.objects.filter(status=IS.PENDING).filter(
        Exists(ParseRun.objects.filter(pk=OuterRef("parse_run_id")).filter(covered("")))
    )
    request_ids = set(items.values_list("request_id", flat=True).distinct())
    moved = items.update(status=IS.HELD, next_attempt_at=None)
    recount(request_ids)
    return moved
