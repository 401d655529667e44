"""Console: legal holds. Everyone in the console reads them; only admins place and lift them.

Placing and lifting go through :mod:`deletions.requests.holds` (which also enforces the admin rule
and audits); these views confirm first, with the counts of what will happen.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.models import User
from django.db.models import Case, Count, IntegerField, Q, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from deletions.core.errors import DomainError
from deletions.forms.holds import LiftHoldForm, PlaceHoldForm
from deletions.models import (
    DeletionItem,
    LegalHold,
    ParseRun,
    Source,
)
from deletions.reporting import console_queries
from deletions.reporting.holds import (
    held_counts,
    items_of,
    plural,
    preview_place,
    releasable,
)
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
    counts = held_counts(page.objects)
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
        f"Hold {hold.reference} is placed: {plural(held, 'item')} on hold now.",
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
                f"Hold {hold.reference} is lifted: {plural(resuming, 'item')} resume.",
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
