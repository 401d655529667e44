"""The landing page after sign-in: where each kind of user starts."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from deletions.models import DeletionRequest, ParseRun
from deletions.roles import is_staff_user, membership_of


@login_required
def home(request: HttpRequest) -> HttpResponse:
    membership = membership_of(request.user)
    context: dict[str, object] = {"staff": is_staff_user(request.user)}
    if membership is not None:
        customer = membership.customer
        context["customer"] = customer
        context["run_count"] = ParseRun.objects.filter(
            customer=customer, state=ParseRun.State.PRESENT
        ).count()
        context["open_requests"] = DeletionRequest.objects.filter(
            customer=customer, status__in=DeletionRequest.OPEN_STATUSES
        ).count()
    elif context["staff"]:
        context["pending_approval"] = DeletionRequest.objects.filter(
            status=DeletionRequest.Status.PENDING_APPROVAL
        ).count()
    return render(request, "home.html", context)
