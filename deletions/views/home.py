"""The landing page after sign-in: where each kind of user starts."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse

from deletions.accounts.roles import is_staff_user, membership_of
from deletions.models import DeletionRequest


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Customer users go to their parse runs, staff to the console; others see what to do."""
    if membership_of(request.user) is not None:
        return redirect("customer:runs")
    staff = is_staff_user(request.user)
    if staff:
        try:
            return redirect(reverse("console:dashboard"))
        except NoReverseMatch:
            pass  # The console is not built yet: this page stands in for it.
    context: dict[str, object] = {"staff": staff}
    if staff:
        context["pending_approval"] = DeletionRequest.objects.filter(
            status=DeletionRequest.Status.PENDING_APPROVAL
        ).count()
    return render(request, "home.html", context)
