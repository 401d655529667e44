"""Console: legal holds. Everyone in the console reads them; only admins place and lift them.

Placing and lifting go through :mod:`deletions.requests.holds` (which also enforces the admin rule
and audits); these views confirm first, with the counts of what will happen.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.models import User
from django.db.models import Case, Count, Exists, IntegerField, OuterRef, Q, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from deletions.core.errors import DomainError
from deletions.engine.due import open_pending_items
from deletions.forms.holds import LiftHoldForm, PlaceHoldForm
from deletions.models import (
    Customer,
    DeletionItem,
    DeletionRequest,
    LegalHold,
    ParseRun,
    Source,
    Workspace,
)
from deletions.reporting import console_queries
from deletions.requests import holds
from deletions.views.console_auth import (
    ADMINISTER,
    console_required,
    missing_reason,
    render_console,
)

IS = DeletionItem.Status
Scope = LegalHold.Scope
PER_PAGE = 50
# A hold's detail page lists this many of its held items and runs.
SHOWN = 50


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _plural(n: int, word: str, plural: str = "") -> str:
    return f"{n:,} {word if n == 1 else plural or word + 's'}"


# --- Which items a hold reaches -------------------------------------------------------------


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
            f"{_plural(self.waiting, 'waiting deletion')} of "
            f"{_plural(self.requests, 'open request')} will be held; "
            "items already sent cannot be recalled."
        )
        if self.in_flight:
            text += (
                f" {_plural(self.in_flight, 'item is', 'items are')} being sent to Extend right "
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


def _held_counts(hold_list: Sequence[LegalHold]) -> dict[int, int]:
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


# --- Pages -----------------------------------------------------------------------------------


STATES = (("", "All"), ("active", "Active"), ("lifted", "Lifted or ended"))


@console_required()
def hold_list(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    state = request.GET.get("state", "")
    active_q = Q(lifted_at__isnull=True) & (Q(ends_on__isnull=True) | Q(ends_on__gte=today))
    qs = (
        LegalHold.objects.select_related("customer", "workspace", "placed_by", "lifted_by")
        .annotate(
            runs_listed=Count("runs"),
            active_first=Case(
                When(active_q, then=Value(0)), default=Value(1), output_field=IntegerField()
            ),
        )
        .order_by("active_first", "-placed_at", "-pk")
    )
    if state == "active":
        qs = qs.filter(active_q)
    elif state == "lifted":
        qs = qs.exclude(active_q)
    else:
        state = ""
    page = console_queries.paginate(qs, request.GET, per_page=PER_PAGE)
    counts = _held_counts(page.objects)
    for h in page.objects:
        h.held_items = counts.get(h.pk)  # type: ignore[attr-defined]
    return render_console(
        request,
        "console/holds/list.html",
        {
            "page": page,
            "state": state,
            "states": STATES,
            "admin_reason": missing_reason(request, ADMINISTER),
        },
        section="holds",
    )


@console_required(ADMINISTER)
@require_http_methods(["GET", "POST"])
def hold_new(request: HttpRequest) -> HttpResponse:
    """The form, then a confirmation page with the counts, then the hold."""
    if request.method == "GET":
        initial = {}
        if request.GET.get("customer", "").isdigit():
            initial = {"scope": Scope.CUSTOMER, "customer": int(request.GET["customer"])}
        form = PlaceHoldForm(initial=initial)
        return _hold_form(request, form)
    form = PlaceHoldForm(request.POST)
    if not form.is_valid() or "edit" in request.POST:
        return _hold_form(request, form)
    data = form.cleaned_data
    if request.POST.get("confirmed") != "yes":
        return render_console(
            request,
            "console/holds/confirm.html",
            {"form": form, "data": data, "preview": preview_place(data)},
            section="holds",
        )
    try:
        hold = holds.place_hold(
            scope=data["scope"],
            customer=data.get("customer"),
            workspace=data.get("workspace"),
            runs=data["runs"],
            reason=data["reason"],
            reference=data["reference"],
            ends_on=data.get("ends_on"),
            actor=_user(request),
            source=Source.WEB,
        )
    except DomainError as exc:
        form.add_error(None, str(exc))
        return _hold_form(request, form)
    held = items_of(hold).filter(status=IS.HELD).count()
    messages.success(
        request,
        f"Hold {hold.reference} is placed: {_plural(held, 'item')} on hold now.",
    )
    return redirect("console:hold_detail", pk=hold.pk)


def _hold_form(request: HttpRequest, form: PlaceHoldForm) -> HttpResponse:
    return render_console(request, "console/holds/form.html", {"form": form}, section="holds")


def get_hold(pk: int) -> LegalHold:
    return get_object_or_404(
        LegalHold.objects.select_related("customer", "workspace", "placed_by", "lifted_by"), pk=pk
    )


@console_required()
def hold_detail(request: HttpRequest, pk: int) -> HttpResponse:
    hold = get_hold(pk)
    held = items_of(hold).filter(status=IS.HELD)
    held_items = list(
        held.select_related("parse_run", "request__customer").order_by("request_id", "id")[:SHOWN]
    )
    runs: list[ParseRun] = []
    runs_total = 0
    if hold.scope == Scope.RUNS:
        runs_total = hold.runs.count()
        runs = list(hold.runs.select_related("customer").order_by("run_id")[:SHOWN])
    return render_console(
        request,
        "console/holds/detail.html",
        {
            "hold": hold,
            "held_total": held.count() if hold.is_active else 0,
            "held_items": held_items if hold.is_active else [],
            "held_requests": held.values("request_id").distinct().count() if hold.is_active else 0,
            "runs": runs,
            "runs_total": runs_total,
            "shown": SHOWN,
            "admin_reason": missing_reason(request, ADMINISTER),
            "customer_notice": holds.CUSTOMER_NOTICE,
        },
        section="holds",
    )


@console_required(ADMINISTER)
@require_http_methods(["GET", "POST"])
def hold_lift(request: HttpRequest, pk: int) -> HttpResponse:
    hold = get_hold(pk)
    form = LiftHoldForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and hold.is_active and form.is_valid():
        resuming = releasable(hold).count()
        try:
            holds.lift_hold(
                hold, actor=_user(request), source=Source.WEB, reason=form.cleaned_data["reason"]
            )
        except DomainError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request,
                f"Hold {hold.reference} is lifted: {_plural(resuming, 'item')} resume.",
            )
        return redirect("console:hold_detail", pk=hold.pk)
    resume = releasable(hold)
    stay = items_of(hold).filter(status=IS.HELD).count() - resume.count() if hold.is_active else 0
    return render_console(
        request,
        "console/holds/lift.html",
        {
            "hold": hold,
            "form": form,
            "resume": resume.count() if hold.is_active else 0,
            "resume_requests": resume.values("request_id").distinct().count(),
            "stay": stay,
            "refusal": "" if hold.is_active else "This hold is no longer active; nothing to lift.",
        },
        section="holds",
    )


# --- For the request detail page -------------------------------------------------------------


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
    """'2 d 3 h', '5 h 12 min', '4 min 09 s', '12 s' (static/js/countdown.js says the same)."""
    s = max(int(seconds), 0)
    days, rest = divmod(s, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"
