"""The customer admin's confirmation tasks: erasure requests from the public form whose e-mail
the person verified, waiting for the customer (the controller) to confirm that the person is its
data subject, or to refuse.

Customer admins only (members get a 403); an intake of another customer is a 404. The detail page
shows the clear reference and address, decrypted for that page alone, and records the read
(``intake.viewed``).
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from deletions.core.errors import DomainError
from deletions.forms.controller import ConfirmForm, RefuseForm
from deletions.gdpr import controller
from deletions.gdpr import deadlines as gdpr
from deletions.models import ErasureIntake, Source
from deletions.views.customer import CustomerRequest, customer_admin_required

RECENT_SHOWN = 20


def get_intake_for_admin(request: CustomerRequest, pk: int) -> ErasureIntake:
    """The ownership helper for intakes: one of this customer's, or 404."""
    return get_object_or_404(
        ErasureIntake.objects.select_related("customer", "decided_by"),
        pk=pk,
        customer_id=request.membership.customer_id,
    )


@require_GET
@customer_admin_required
def intake_list(request: CustomerRequest) -> HttpResponse:
    """The intakes awaiting this customer's confirmation (masked; the detail page shows them
    in clear), and the latest decisions."""
    customer_id = request.membership.customer_id
    waiting = list(controller.awaiting_confirmation(customer_id)[:200])
    for item in waiting:
        item.due_on = gdpr.due_date(item.received_on)  # type: ignore[attr-defined]
    decided = (
        ErasureIntake.objects.filter(customer_id=customer_id, decided_at__isnull=False)
        .select_related("decided_by")
        .order_by("-decided_at", "-id")[:RECENT_SHOWN]
    )
    return render(
        request,
        "customer/intakes.html",
        {"waiting": waiting, "decided": decided, "nav": "intakes"},
    )


def _detail_page(
    request: CustomerRequest,
    item: ErasureIntake,
    *,
    confirm_form: ConfirmForm | None = None,
    refuse_form: RefuseForm | None = None,
    status: int = 200,
) -> HttpResponse:
    clear = None
    if item.status == ErasureIntake.Status.VERIFIED:
        clear = controller.show_to_customer_admin(item, actor=request.user, source=Source.WEB)
    else:
        controller.record_view(item, actor=request.user, source=Source.WEB)
    response = render(
        request,
        "customer/intake_detail.html",
        {
            "intake": item,
            "clear": clear,
            "due_on": gdpr.due_date(item.received_on),
            "confirm_form": confirm_form or ConfirmForm(),
            "refuse_form": refuse_form or RefuseForm(),
            "nav": "intakes",
        },
        status=status,
    )
    # The clear values are on this page only: no cache keeps them.
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@customer_admin_required
def intake_detail(request: CustomerRequest, pk: int) -> HttpResponse:
    return _detail_page(request, get_intake_for_admin(request, pk))


@require_POST
@customer_admin_required
def intake_confirm(request: CustomerRequest, pk: int) -> HttpResponse:
    item = get_intake_for_admin(request, pk)
    form = ConfirmForm(request.POST)
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
                f"Erasure request #{item.pk} confirmed. The operator's staff now find the "
                "person's parse runs and erase them.",
            )
            return redirect("customer:intakes")
    return _detail_page(request, item, confirm_form=form, status=400)


@require_POST
@customer_admin_required
def intake_refuse(request: CustomerRequest, pk: int) -> HttpResponse:
    item = get_intake_for_admin(request, pk)
    form = RefuseForm(request.POST)
    if form.is_valid():
        try:
            controller.refuse_intake(
                item, reason=form.cleaned_data["reason"], actor=request.user, source=Source.WEB
            )
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                f"Erasure request #{item.pk} refused. The person is told by e-mail that you "
                "could not confirm them; their reference and address are erased.",
            )
            return redirect("customer:intakes")
    return _detail_page(request, item, refuse_form=form, status=400)
