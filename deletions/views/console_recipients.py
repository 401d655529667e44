"""Console: Art. 19 recipients. Admins keep, on a customer's page, the recipients its data was
disclosed to (Extend, the processor, is always one and needs no row); approvers record, on a
finished GDPR erasure's page, when and how each was informed. Every change is audited
(deletions.gdpr.recipients)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from deletions.core.errors import DomainError
from deletions.forms.controller import InformedForm, RecipientForm
from deletions.gdpr import recipients
from deletions.models import Customer, Recipient, Source
from deletions.views.console_auth import ADMINISTER, APPROVE, console_required
from deletions.views.console_requests import get_request


def _errors(form: RecipientForm | InformedForm) -> str:
    return " ".join(str(e) for errors in form.errors.values() for e in errors)


@console_required(ADMINISTER)
@require_POST
def recipient_add(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=pk)
    form = RecipientForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"The recipient was not added: {_errors(form)}")
    else:
        try:
            recipient = recipients.add_recipient(
                customer, **form.cleaned_data, actor=request.user, source=Source.WEB
            )
        except DomainError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"{recipient.name} added to {customer.name}'s recipients.")
    return redirect("console:customer_detail", pk=customer.pk)


@console_required(ADMINISTER)
@require_POST
def recipient_remove(request: HttpRequest, pk: int) -> HttpResponse:
    recipient = get_object_or_404(Recipient.objects.select_related("customer"), pk=pk)
    customer = recipient.customer
    recipients.remove_recipient(recipient, actor=request.user, source=Source.WEB)
    messages.success(request, f"{recipient.name} removed from {customer.name}'s recipients.")
    return redirect("console:customer_detail", pk=customer.pk)


@console_required(APPROVE)
@require_POST
def request_recipient_informed(request: HttpRequest, pk: int) -> HttpResponse:
    req = get_request(pk)
    form = InformedForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Nothing was recorded: {_errors(form)}")
        return redirect("console:request_detail", pk=req.pk)
    recipient = get_object_or_404(
        Recipient, pk=form.cleaned_data["recipient"], customer_id=req.customer_id
    )
    try:
        recipients.mark_informed(
            req,
            recipient,
            informed_on=form.cleaned_data["informed_on"],
            means=form.cleaned_data["means"],
            actor=request.user,
            source=Source.WEB,
        )
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Recorded that {recipient.name} was informed.")
    return redirect("console:request_detail", pk=req.pk)
