"""Who may do what in the staff console, checked on the server for every page and action.

Anonymous visitors are sent to the login page; signed-in users without the permission get 403
(customer users included: the console is not theirs, and saying so reveals nothing).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render

from deletions.accounts import roles
from deletions.models import DeletionRequest, ErasureIntake, RetentionPolicy

# Short names for the pages; the permissions themselves are named in deletions.accounts.roles.
VIEW = roles.VIEW_PERMISSION
APPROVE = roles.APPROVE_PERMISSION
OPERATE = roles.OPERATE_PERMISSION
ADMINISTER = roles.ADMINISTER_PERMISSION

# What each permission is called in a "you may not" explanation next to a disabled button.
ROLE_NEEDED = {
    VIEW: "a console viewer",
    APPROVE: "an approver",
    OPERATE: "an approver",
    ADMINISTER: "a console admin",
}

View = TypeVar("View", bound=Callable[..., HttpResponseBase])


def console_required(perm: str = VIEW) -> Callable[[View], View]:
    """Decorate a console view: sign-in required, then *perm* (plus viewing the console)."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not (user.is_active and user.has_perm(VIEW) and user.has_perm(perm)):
                raise PermissionDenied(f"This needs {ROLE_NEEDED.get(perm, perm)}.")
            return view(request, *args, **kwargs)

        wrapped.console_permission = perm  # type: ignore[attr-defined]
        return cast(View, wrapped)

    return decorator


def perms_for(request: HttpRequest) -> dict[str, bool]:
    """The signed-in user's console abilities, for templates (buttons, links)."""
    user = request.user
    return {
        "view": user.has_perm(VIEW),
        "approve": user.has_perm(APPROVE),
        "operate": user.has_perm(OPERATE),
        "administer": user.has_perm(ADMINISTER),
    }


def missing_reason(request: HttpRequest, perm: str) -> str:
    """Why a button is disabled for this user, or "" if they may use it."""
    if request.user.has_perm(perm):
        return ""
    return f"Only {ROLE_NEEDED[perm]} can do this."


def render_console(
    request: HttpRequest,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    section: str = "",
    status: int = 200,
) -> HttpResponse:
    """Render a console page with what the layout needs: the navigation counts and the user's
    abilities."""
    ctx: dict[str, Any] = {
        "console_perms": perms_for(request),
        "nav_pending": DeletionRequest.objects.filter(
            status=DeletionRequest.Status.PENDING_APPROVAL
        ).count(),
        # Intakes the customer confirmed: staff turn them into requests.
        "nav_intakes": ErasureIntake.objects.filter(status=ErasureIntake.Status.CONFIRMED).count(),
        # Retention policies waiting for a decision (their queue is on the Retention page).
        "nav_policies": RetentionPolicy.objects.filter(
            status=RetentionPolicy.Status.PENDING_APPROVAL
        ).count(),
        "section": section,
        **(context or {}),
    }
    return render(request, template, ctx, status=status)
