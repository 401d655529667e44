"""Console: the controller's step of a public intake, from the staff side. An approver may
confirm an intake on the customer's behalf (with a reason), and may see the subject's clear
reference and address after saying why (recorded in the audit trail as a read).

The clear values are shown on the answer to that POST only, never kept in the session.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from deletions.core.errors import DomainError
from deletions.forms.controller import OnBehalfConfirmForm, RevealForm
from deletions.gdpr import controller
from deletions.models import Source
from deletions.views.console_auth import APPROVE, console_required, render_console
from deletions.views.console_gdpr import get_intake, intake_context


@console_required(APPROVE)
@require_POST
def intake_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_intake(pk)
    form = OnBehalfConfirmForm(request.POST)
    if form.is_valid():
        try:
            controller.confirm_intake(
                item, reason=form.cleaned_data["reason"], actor=request.user, source=Source.WEB
            )
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                f"Intake #{item.pk} confirmed on {item.customer.name}'s behalf; find the "
                "subject's parse runs and freeze them.",
            )
            return redirect("console:intake_detail", pk=item.pk)
    ctx = intake_context(item)
    ctx["confirm_form"] = form
    return render_console(
        request, "console/gdpr/intake_detail.html", ctx, section="intakes", status=400
    )


@console_required(APPROVE)
@require_POST
def intake_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_intake(pk)
    form = RevealForm(request.POST)
    ctx = intake_context(item)
    ctx["reveal_form"] = form
    status = 400
    if form.is_valid():
        try:
            ctx["clear"] = controller.reveal_to_staff(
                item, purpose=form.cleaned_data["purpose"], actor=request.user, source=Source.WEB
            )
            status = 200
        except DomainError as exc:
            form.add_error(None, str(exc))
    response = render_console(
        request, "console/gdpr/intake_detail.html", ctx, section="intakes", status=status
    )
    response["Cache-Control"] = "no-store"
    return response
