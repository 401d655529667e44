"""Console: GDPR erasure intakes from the public form, filing a request on a data subject's
behalf, turning either into a frozen deletion scope (with a preview), and extending a deadline.

Freezing makes the staff member the requester, so the usual approval follows and they cannot
approve it themselves (four eyes).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from deletions.core.errors import DomainError
from deletions.forms.controller import OnBehalfConfirmForm, RevealForm
from deletions.forms.gdpr import DismissForm, ExtendForm, OnBehalfForm, ScopeForm
from deletions.gdpr import controller, intake, no_data, subject_notices
from deletions.gdpr import deadlines as gdpr
from deletions.models import AuditEvent, Customer, DeletionRequest, ErasureIntake, Source
from deletions.views.console_auth import APPROVE, VIEW, console_required, render_console
from deletions.views.console_requests import get_request


@console_required(VIEW)
def intake_list(request: HttpRequest) -> HttpResponse:
    show = request.GET.get("show", "confirmed")
    if show not in intake.LIST_FILTERS:
        show = "confirmed"
    intakes = (
        ErasureIntake.objects.filter(status__in=intake.LIST_FILTERS[show][1])
        .select_related("customer", "request")
        .order_by("received_on", "id")[:200]
    )
    rows = []
    today = timezone.localdate()
    for item in intakes:
        due = gdpr.due_date(item.received_on)
        rows.append({"intake": item, "due_on": due, "days_left": (due - today).days})
    return render_console(
        request,
        "console/gdpr/intake_list.html",
        {"rows": rows, "show": show, "filters": intake.LIST_FILTERS},
        section="intakes",
    )


def _preview_context(customer: Customer, reference: str, run_ids: list[str]) -> dict[str, Any]:
    selection = intake.selection_for(reference, run_ids)
    return {"preview": intake.preview(customer, selection), "explicit": bool(run_ids)}


def get_intake(pk: int) -> ErasureIntake:
    return get_object_or_404(
        ErasureIntake.objects.select_related("customer", "request", "decided_by"), pk=pk
    )


def intake_context(item: ErasureIntake, form: ScopeForm | None = None) -> dict[str, Any]:
    """What the intake's page shows, with the controller's step (deletions.gdpr.controller)."""
    return {
        "intake": item,
        "form": form or ScopeForm(),
        "dismiss_form": DismissForm(),
        "confirm_form": OnBehalfConfirmForm(),
        "reveal_form": RevealForm(),
        "due_on": gdpr.due_date(item.received_on),
        "metadata_key": _metadata_key(),
    }


@console_required(VIEW)
@require_http_methods(["GET", "POST"])
def intake_detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_intake(pk)
    form = ScopeForm(request.POST if request.method == "POST" else None)
    ctx = intake_context(item, form)
    if request.method == "GET":
        # A read of the intake (its masked hints), recorded like every read of one.
        controller.record_view(item, actor=request.user, source=Source.WEB)
    if request.method == "POST":
        if not request.user.has_perm(APPROVE):
            messages.error(request, "Only an approver can turn an intake into a request.")
            return redirect("console:intake_detail", pk=item.pk)
        if form.is_valid():
            run_ids = form.cleaned_data["run_ids"]
            try:
                if request.POST.get("action") == "freeze":
                    req = intake.freeze_intake(
                        item,
                        run_ids=run_ids,
                        reason=form.cleaned_data["reason"],
                        actor=request.user,
                        source=Source.WEB,
                    )
                    messages.success(
                        request,
                        f"Request #{req.pk} created with {req.item_count:,} parse runs; it now "
                        "needs approval by someone else.",
                    )
                    return redirect("console:request_detail", pk=req.pk)
                ctx.update(_preview_context(item.customer, intake.intake_reference(item), run_ids))
            except DomainError as exc:
                form.add_error(None, str(exc))
    return render_console(request, "console/gdpr/intake_detail.html", ctx, section="intakes")


@console_required(APPROVE)
@require_http_methods(["POST"])
def intake_dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(ErasureIntake, pk=pk)
    try:
        if request.POST.get("no_data"):
            no_data.close_no_data(
                item, note=request.POST.get("note", ""), actor=request.user, source=Source.WEB
            )
        else:
            intake.dismiss_intake(
                item,
                note=request.POST.get("note", ""),
                actor=request.user,
                source=Source.WEB,
            )
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        if request.POST.get("no_data"):
            told = (
                " The data subject was told by e-mail."
                if AuditEvent.objects.filter(
                    object_type="erasureintake",
                    object_id=str(item.pk),
                    action=subject_notices.ACTION,
                ).exists()
                else ""
            )
            messages.success(request, f"Intake #{item.pk} closed: no data found.{told}")
        else:
            messages.success(request, f"Intake #{item.pk} dismissed.")
    return redirect("console:intake_detail", pk=item.pk)


@console_required(APPROVE)
@require_http_methods(["GET", "POST"])
def file_request(request: HttpRequest) -> HttpResponse:
    form = OnBehalfForm(
        request.POST if request.method == "POST" else None,
        initial={"received_on": timezone.localdate()},
    )
    ctx: dict[str, Any] = {"form": form, "metadata_key": _metadata_key()}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if request.POST.get("action") == "freeze":
                req = intake.file_on_behalf(
                    data["customer"],
                    reference=data["reference"],
                    received_on=data["received_on"],
                    run_ids=data["run_ids"],
                    reason=data["reason"],
                    actor=request.user,
                    source=Source.WEB,
                )
                messages.success(
                    request,
                    f"GDPR request #{req.pk} created with {req.item_count:,} parse runs; it now "
                    "needs approval by someone else.",
                )
                return redirect("console:request_detail", pk=req.pk)
            ctx.update(_preview_context(data["customer"], data["reference"], data["run_ids"]))
        except DomainError as exc:
            form.add_error(None, str(exc))
    return render_console(request, "console/gdpr/file_request.html", ctx, section="intakes")


@console_required(APPROVE)
@require_http_methods(["GET", "POST"])
def request_extend(request: HttpRequest, pk: int) -> HttpResponse:
    req = get_request(pk)
    form = ExtendForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        started = timezone.now()
        try:
            gdpr.extend_deadline(
                req,
                months=form.cleaned_data["months"],
                reason=form.cleaned_data["reason"],
                actor=request.user,
                source=Source.WEB,
            )
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            req.refresh_from_db()
            # Claimed only when the notice is on the request's record (it is sent after the
            # commit): a request filed on the subject's behalf holds no address to write to.
            told = (
                "the data subject was told why by e-mail."
                if subject_notices.notified(req, subject_notices.EXTENDED, since=started)
                else "the data subject left no address here, so tell them yourself why."
            )
            messages.success(
                request, f"Deadline extended to {req.extended_due_on:%-d %B %Y}; {told}"
            )
            return redirect("console:request_detail", pk=req.pk)
    options = []
    if req.received_on:
        done = gdpr.extension_months(req)
        for months in (1, 2):
            if done + months <= gdpr.MAX_TOTAL_MONTHS - 1:
                options.append((months, gdpr.extended_due_date(req, done + months)))
    return render_console(
        request,
        "console/gdpr/extend.html",
        {
            "req": req,
            "form": form,
            "options": options,
            "subject_has_address": subject_notices.can_notify(req),
            "can_extend": bool(
                req.kind == DeletionRequest.Kind.GDPR
                and req.is_open
                and req.due_on
                and timezone.localdate() <= req.due_on
                and options
            ),
        },
        section="queue",
    )


def _metadata_key() -> str:
    from django.conf import settings

    return str(settings.GDPR_SUBJECT_METADATA_KEY)
