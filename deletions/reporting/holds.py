"""What the console shows about legal holds: which items a hold reaches, what placing one
would do, which holds cover a page of runs, and how many items each active hold keeps, each in
a few queries whatever the numbers. Placing and lifting are :mod:`deletions.requests.holds`'."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from deletions.engine.due import open_pending_items
from deletions.models import Customer, DeletionItem, LegalHold, ParseRun, Workspace
from deletions.requests import holds

IS = DeletionItem.Status
Scope = LegalHold.Scope


def plural(n: int, word: str, plural: str = "") -> str:
    return f"{n:,} {word if n == 1 else plural or word + 's'}"


def items_under(
    scope: str,
    *,
    customer: Customer | None = None,
    workspace: Workspace | None = None,
    runs: Iterable[ParseRun] = (),
    hold: LegalHold | None = None,
) -> QuerySet[DeletionItem]:
    """The deletion items whose runs a hold with this target covers (any state)."""
    items = DeletionItem.objects.all()
    if scope == Scope.CUSTOMER:
        return items.filter(parse_run__customer=customer)
    if scope == Scope.WORKSPACE:
        return items.filter(parse_run__workspace=workspace)
    if hold is not None:
        return items.filter(parse_run__legal_holds=hold)
    return items.filter(parse_run__in=[run.pk for run in runs])


def items_of(hold: LegalHold) -> QuerySet[DeletionItem]:
    return items_under(hold.scope, customer=hold.customer, workspace=hold.workspace, hold=hold)


def _covered_by_other_holds(hold: LegalHold) -> Q:
    """Items whose run another active hold covers (they stay held when *hold* is lifted)."""
    others = holds.active_holds().exclude(pk=hold.pk)
    return (
        Q(Exists(others.filter(scope=Scope.CUSTOMER, customer=OuterRef("parse_run__customer_id"))))
        | Q(
            Exists(
                others.filter(scope=Scope.WORKSPACE, workspace=OuterRef("parse_run__workspace_id"))
            )
        )
        | Q(Exists(others.filter(scope=Scope.RUNS, runs=OuterRef("parse_run_id"))))
    )


@dataclass(frozen=True)
class PlacePreview:
    waiting: int  # pending items that become held
    requests: int  # the open requests they belong to
    in_flight: int  # being sent right now: cannot be recalled
    done: int  # already deleted or gone at Extend
    already_held: int  # held by another hold already
    runs: int  # runs the hold names (runs scope) or covers

    @property
    def consequence(self) -> str:
        text = (
            f"{plural(self.waiting, 'waiting deletion')} of "
            f"{plural(self.requests, 'open request')} will be held; "
            "items already sent cannot be recalled."
        )
        if self.in_flight:
            text += (
                f" {plural(self.in_flight, 'item is', 'items are')} being sent to Extend right "
                "now and may still be deleted."
            )
        return text


def preview_place(data: dict[str, Any]) -> PlacePreview:
    items = items_under(
        data["scope"],
        customer=data.get("customer"),
        workspace=data.get("workspace"),
        runs=data.get("runs") or (),
    )
    waiting = open_pending_items(within=items)
    counts = dict(
        items.exclude(status=IS.PENDING).values_list("status").annotate(n=Count("id")).order_by()
    )
    if data["scope"] == Scope.CUSTOMER:
        runs = ParseRun.objects.filter(customer=data.get("customer")).count()
    elif data["scope"] == Scope.WORKSPACE:
        runs = ParseRun.objects.filter(workspace=data.get("workspace")).count()
    else:
        runs = len(data.get("runs") or ())
    return PlacePreview(
        waiting=waiting.count(),
        requests=waiting.values("request_id").distinct().count(),
        in_flight=counts.get(IS.IN_FLIGHT, 0),
        done=counts.get(IS.DELETED, 0) + counts.get(IS.ALREADY_GONE, 0),
        already_held=counts.get(IS.HELD, 0),
        runs=runs,
    )


def releasable(hold: LegalHold) -> QuerySet[DeletionItem]:
    """The held items that lifting *hold* sends back to work (no other hold covers them)."""
    return items_of(hold).filter(status=IS.HELD).exclude(_covered_by_other_holds(hold))


def holds_for_runs(runs: Iterable[ParseRun]) -> dict[int, list[LegalHold]]:
    """The active holds covering each of *runs* (by run pk), in two queries whatever the count:
    what ``holds.holds_covering(run)`` answers for one run, for a page of them."""
    run_list = list(runs)
    if not run_list:
        return {}
    active = list(holds.active_holds().order_by("placed_at"))
    listed: dict[int, set[int]] = defaultdict(set)
    runs_holds = [h.pk for h in active if h.scope == Scope.RUNS]
    if runs_holds:
        through = LegalHold.runs.through.objects.filter(
            legalhold_id__in=runs_holds, parserun_id__in=[r.pk for r in run_list]
        )
        for hold_id, run_id in through.values_list("legalhold_id", "parserun_id"):
            listed[run_id].add(hold_id)
    covering: dict[int, list[LegalHold]] = {}
    for run in run_list:
        covering[run.pk] = [
            h
            for h in active
            if (h.scope == Scope.CUSTOMER and h.customer_id == run.customer_id)
            or (h.scope == Scope.WORKSPACE and h.workspace_id == run.workspace_id)
            or (h.scope == Scope.RUNS and h.pk in listed[run.pk])
        ]
    return covering


def held_counts(hold_list: Sequence[LegalHold]) -> dict[int, int]:
    """How many items each active hold of *hold_list* covers that are held: three queries."""
    active = [h for h in hold_list if h.is_active]
    held = DeletionItem.objects.filter(status=IS.HELD).order_by()
    by_customer: dict[int, int] = {}
    by_workspace: dict[int, int] = {}
    by_hold: dict[int, int] = {}
    customers = {h.customer_id for h in active if h.scope == Scope.CUSTOMER}
    workspaces = {h.workspace_id for h in active if h.scope == Scope.WORKSPACE}
    listed = [h.pk for h in active if h.scope == Scope.RUNS]
    if customers:
        by_customer = dict(
            held.filter(parse_run__customer_id__in=customers)
            .values_list("parse_run__customer_id")
            .annotate(n=Count("id"))
        )
    if workspaces:
        by_workspace = dict(
            held.filter(parse_run__workspace_id__in=workspaces)
            .values_list("parse_run__workspace_id")
            .annotate(n=Count("id"))
        )
    if listed:
        by_hold = dict(
            held.filter(parse_run__legal_holds__in=listed)
            .values_list("parse_run__legal_holds")
            .annotate(n=Count("id"))
        )
    counts = {}
    for h in active:
        if h.scope == Scope.CUSTOMER:
            counts[h.pk] = by_customer.get(h.customer_id or 0, 0)
        elif h.scope == Scope.WORKSPACE:
            counts[h.pk] = by_workspace.get(h.workspace_id or 0, 0)
        else:
            counts[h.pk] = by_hold.get(h.pk, 0)
    return counts
