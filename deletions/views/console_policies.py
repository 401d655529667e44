"""Console: every customer's retention policies, the queue of those awaiting approval, a
policy's page with approve and reject (approvers) and pause and resume (staff who operate), and
the switch that stops every policy at once.

Viewers read everything here and act on nothing. The rules (four eyes, never the proposer) are
the domain's (:mod:`deletions.policies.rules`); these pages confirm first, then call it.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.models import User
from django.db.models import Count, F, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from deletions.core.errors import DomainError
from deletions.forms.policies import PolicyFilterForm, StopAllForm
from deletions.models import (
    DeletionRequest,
    PolicyApproval,
    RetentionPolicy,
    RetentionSwitch,
    Source,
)
from deletions.policies import rules
from deletions.reporting import console_queries
from deletions.views import policy_pages
from deletions.views.console_auth import (
    APPROVE,
    OPERATE,
    console_required,
    missing_reason,
    render_console,
)

ST = RetentionPolicy.Status
PER_PAGE = 50
# The approvals queue lists this many, oldest proposal first.
QUEUE_SHOWN = 50
# Who may do each action on a policy's page.
PERMS = {"approve": APPROVE, "reject": APPROVE, "pause": OPERATE, "resume": OPERATE}


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def get_policy(pk: int) -> RetentionPolicy:
    """Load a policy for the console (staff see every customer's)."""
    return get_object_or_404(
        RetentionPolicy.objects.select_related("customer", "proposed_by", "paused_by"), pk=pk
    )


def _approvals_given() -> Count:
    return Count(
        "approvals",
        filter=Q(
            approvals__version=F("version"),
            approvals__decision=PolicyApproval.Decision.APPROVE,
        ),
    )


@console_required()
@require_GET
def policy_list(request: HttpRequest) -> HttpResponse:
    form = PolicyFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    policies = policy_pages.with_last_evaluation(
        RetentionPolicy.objects.select_related("customer").prefetch_related("workspaces")
    ).order_by("customer__name", "name", "pk")
    if filters.get("status"):
        policies = policies.filter(status=filters["status"])
    if filters.get("customer"):
        policies = policies.filter(customer=filters["customer"])
    page = console_queries.paginate(policies, request.GET, per_page=PER_PAGE)
    policy_pages.attach_last_evaluations(page.objects)
    policy_pages.with_zones(page.objects)
    pending = list(
        RetentionPolicy.objects.filter(status=ST.PENDING_APPROVAL)
        .select_related("customer", "proposed_by")
        .annotate(given=_approvals_given())
        .order_by("proposed_at", "pk")[:QUEUE_SHOWN]
    )
    return render_console(
        request,
        "console/policies/list.html",
        {
            "form": form,
            "page": page,
            "pending": pending,
            "switch": RetentionSwitch.current(),
            "switch_reason": missing_reason(request, OPERATE),
        },
        section="retention",
    )


def _buttons(request: HttpRequest, policy: RetentionPolicy, state: dict[str, Any]) -> list[Any]:
    """The actions possible now, each with the reason it is disabled for this user, if it is."""
    buttons = []
    for name, perm in PERMS.items():
        action = policy_pages.ACTIONS[name]
        if policy.status not in action.statuses:
            continue
        reason = missing_reason(request, perm) or policy_pages.refusal(policy, name, state)
        url = reverse(f"console:policy_{name}", args=[policy.pk])
        buttons.append({"action": action, "disabled_reason": reason, "url": url})
    return buttons


@console_required()
@require_GET
def policy_detail(request: HttpRequest, pk: int) -> HttpResponse:
    policy = get_policy(pk)
    ctx = policy_pages.detail_context(policy, request.GET, _user(request), now=timezone.now())
    ctx["buttons"] = _buttons(request, policy, ctx)
    return render_console(request, "console/policies/detail.html", ctx, section="retention")


def _action_view(name: str) -> Any:
    @console_required(PERMS[name])
    @require_http_methods(["GET", "POST"])
    def view(request: HttpRequest, pk: int) -> HttpResponse:
        policy = get_policy(pk)
        return policy_pages.action_page(
            request,
            policy,
            name,
            user=_user(request),
            detail_url=reverse("console:policy_detail", args=[policy.pk]),
            render_page=lambda ctx: render_console(
                request, "console/policies/action.html", ctx, section="retention"
            ),
        )

    view.__name__ = f"policy_{name}"
    return view


policy_approve = _action_view("approve")
policy_reject = _action_view("reject")
policy_pause = _action_view("pause")
policy_resume = _action_view("resume")


# --- The switch for every policy -------------------------------------------------------------


def _open_retention_requests() -> dict[str, int]:
    open_requests = DeletionRequest.objects.filter(
        kind=DeletionRequest.Kind.RETENTION, status__in=DeletionRequest.OPEN_STATUSES
    )
    return {
        "running": open_requests.filter(status=DeletionRequest.Status.RUNNING).count(),
        "paused": open_requests.filter(status=DeletionRequest.Status.PAUSED).count(),
        "waiting": open_requests.exclude(
            status__in=[DeletionRequest.Status.RUNNING, DeletionRequest.Status.PAUSED]
        ).count(),
        "active": RetentionPolicy.objects.filter(status=ST.ACTIVE).count(),
    }


def _switch_page(request: HttpRequest, *, stopping: bool) -> HttpResponse:
    """Stop or restart every policy: a confirmation with the counts, then the switch."""
    form = StopAllForm(request.POST if request.method == "POST" else None) if stopping else None
    if request.method == "POST" and (form is None or form.is_valid()):
        try:
            if form is not None:
                rules.stop_all(
                    actor=_user(request), source=Source.WEB, reason=form.cleaned_data["reason"]
                )
            else:
                rules.restart_all(actor=_user(request), source=Source.WEB)
        except DomainError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, STOPPED if stopping else RESTARTED)
        return redirect("console:policy_list")
    return render_console(
        request,
        "console/policies/switch.html",
        {
            "switch": RetentionSwitch.current(),
            "form": form,
            "stopping": stopping,
            "counts": _open_retention_requests(),
        },
        section="retention",
    )


STOPPED = (
    "Every retention policy is stopped: none is evaluated and their requests in progress "
    "stopped, until you restart them."
)
RESTARTED = (
    "Retention policies are running again: active policies are evaluated on their schedule "
    "and their paused requests resume."
)


@console_required(OPERATE)
@require_http_methods(["GET", "POST"])
def retention_stop(request: HttpRequest) -> HttpResponse:
    return _switch_page(request, stopping=True)


@console_required(OPERATE)
@require_http_methods(["GET", "POST"])
def retention_restart(request: HttpRequest) -> HttpResponse:
    return _switch_page(request, stopping=False)
