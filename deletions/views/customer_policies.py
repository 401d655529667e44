"""The customer's retention policies: the list, proposing and changing one, its page with the
preview and its evaluations, pausing, resuming and retiring it; and the exempted runs, with the
page that exempts one (the link the policy notices carry).

Every user of the customer reads these pages; only its admins act (403 for members). Another
customer's policy or exemption is a 404 on every URL, whatever the user's role.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from deletions.core.errors import DomainError
from deletions.forms.policies import ExemptForm, PolicyForm
from deletions.models import (
    ParseRun,
    RetentionExemption,
    RetentionPolicy,
    RetentionSwitch,
    Source,
)
from deletions.policies import exemptions, rules
from deletions.policies.schedule import customer_zone
from deletions.reporting import retention
from deletions.views import policy_pages
from deletions.views.customer import CustomerRequest, customer_required, keyset_page

ST = RetentionPolicy.Status
EXEMPTIONS_PER_PAGE = 50
ADMINS_ONLY = "Only your organisation's admins can manage its retention policies."


def _policies(request: CustomerRequest) -> QuerySet[RetentionPolicy]:
    return RetentionPolicy.objects.filter(customer_id=request.membership.customer_id)


def get_policy_for_user(request: CustomerRequest, pk: int) -> RetentionPolicy:
    """The ownership helper: policy *pk* of this user's customer, or 404."""
    return get_object_or_404(
        _policies(request).select_related("customer", "proposed_by", "paused_by"), pk=pk
    )


def _require_admin(request: CustomerRequest) -> None:
    if not request.membership.is_customer_admin:
        raise PermissionDenied(ADMINS_ONLY)


def _render(
    request: CustomerRequest, template: str, ctx: dict[str, Any], **kw: Any
) -> HttpResponse:
    ctx = {"nav": "retention", "is_admin": request.membership.is_customer_admin, **ctx}
    return render(request, template, ctx, **kw)


@require_GET
@customer_required
def policy_list(request: CustomerRequest) -> HttpResponse:
    """Every policy of the customer, open ones first (a customer has a handful)."""
    policies = list(
        policy_pages.with_last_evaluation(_policies(request))
        .select_related("customer")
        .prefetch_related("workspaces")
        .order_by("name", "pk")
    )
    policy_pages.attach_last_evaluations(policies)
    policies.sort(key=lambda p: p.status not in RetentionPolicy.OPEN_STATUSES)
    customer = request.membership.customer
    return _render(
        request,
        "customer/policies.html",
        {
            "policies": policies,
            "zone": customer_zone(customer),
            "switch": RetentionSwitch.current(),
            # What the policies did last month, as its admins were e-mailed it.
            "summary": retention.last_month_summary(customer),
        },
    )


def _form_page(
    request: CustomerRequest, form: PolicyForm, policy: RetentionPolicy | None, status: int = 200
) -> HttpResponse:
    return _render(
        request, "customer/policy_form.html", {"form": form, "policy": policy}, status=status
    )


@require_http_methods(["GET", "POST"])
@customer_required
def policy_new(request: CustomerRequest) -> HttpResponse:
    """Propose a policy; it acts once the operator's staff approve it."""
    _require_admin(request)
    customer = request.membership.customer
    if request.method == "GET":
        return _form_page(request, PolicyForm(customer=customer), None)
    form = PolicyForm(request.POST, customer=customer)
    if not form.is_valid():
        return _form_page(request, form, None, status=400)
    try:
        policy = rules.propose_policy(
            customer, form.values(), actor=request.user, source=Source.WEB
        )
    except DomainError as exc:
        form.add_error(None, str(exc))
        return _form_page(request, form, None, status=400)
    n = policy.required_approvals
    messages.success(
        request,
        f"Policy “{policy.name}” is proposed. It acts only once {n} of the operator's approvers "
        f"{'approve' if n != 1 else 'approves'} it"
        + (" (it covers all your runs, or many of them)" if n > 1 else "")
        + "; nothing is deleted before then.",
    )
    return redirect("customer:policy", pk=policy.pk)


@require_GET
@customer_required
def policy_detail(request: CustomerRequest, pk: int) -> HttpResponse:
    policy = get_policy_for_user(request, pk)
    ctx = policy_pages.detail_context(policy, request.GET, request.user, now=timezone.now())
    return _render(request, "customer/policy_detail.html", ctx)


@require_http_methods(["GET", "POST"])
@customer_required
def policy_change(request: CustomerRequest, pk: int) -> HttpResponse:
    """Change a policy: a change of what it selects sends it back for approval."""
    policy = get_policy_for_user(request, pk)
    _require_admin(request)
    if policy.status not in RetentionPolicy.OPEN_STATUSES:
        messages.error(
            request, f"This policy is {policy.get_status_display().lower()}; it cannot change."
        )
        return redirect("customer:policy", pk=policy.pk)
    customer = request.membership.customer
    if request.method == "GET":
        form = PolicyForm(initial=PolicyForm.initial_for(policy), customer=customer)
        return _form_page(request, form, policy)
    form = PolicyForm(request.POST, customer=customer)
    if not form.is_valid():
        return _form_page(request, form, policy, status=400)
    version = policy.version
    try:
        policy = rules.change_policy(policy, form.values(), actor=request.user, source=Source.WEB)
    except DomainError as exc:
        form.add_error(None, str(exc))
        return _form_page(request, form, policy, status=400)
    if policy.version != version:
        messages.warning(
            request,
            f"Policy “{policy.name}” changed what it selects: it is now version {policy.version} "
            "and acts only once the operator's staff approve it again.",
        )
    else:
        messages.success(
            request,
            f"Policy “{policy.name}” is saved; its approval stands (what it selects "
            "did not change).",
        )
    return redirect("customer:policy", pk=policy.pk)


def _action_view(name: str) -> Any:
    @require_http_methods(["GET", "POST"])
    @customer_required
    def view(request: CustomerRequest, pk: int) -> HttpResponse:
        policy = get_policy_for_user(request, pk)
        _require_admin(request)
        return policy_pages.action_page(
            request,
            policy,
            name,
            user=request.user,
            detail_url=reverse("customer:policy", args=[policy.pk]),
            render_page=lambda ctx: _render(request, "customer/policy_action.html", ctx),
        )

    view.__name__ = f"policy_{name}"
    return view


policy_pause = _action_view("pause")
policy_resume = _action_view("resume")
policy_retire = _action_view("retire")


# --- Exemptions ------------------------------------------------------------------------------


@require_GET
@customer_required
def exemption_list(request: CustomerRequest) -> HttpResponse:
    """The customer's exempted runs, newest first."""
    rows = RetentionExemption.objects.filter(
        customer_id=request.membership.customer_id
    ).select_related("parse_run", "created_by", "policy")
    page = keyset_page(
        rows,
        field="created_at",
        descending=True,
        after=request.GET.get("after", ""),
        before=request.GET.get("before", ""),
        size=EXEMPTIONS_PER_PAGE,
    )
    return _render(request, "customer/exemptions.html", {"page": page})


def _runs_named(request: CustomerRequest, run_id: str) -> list[ParseRun]:
    """The customer's runs with this Extend id (one, or one per workspace in the rare case
    that two of its workspaces hold the same id)."""
    if not run_id or len(run_id) > 255:
        return []
    return list(
        ParseRun.objects.filter(customer_id=request.membership.customer_id, run_id=run_id)
        .select_related("workspace", "retention_exemption__created_by")
        .order_by("workspace__name", "pk")[:10]
    )


def _named_policy(request: CustomerRequest, raw: str) -> RetentionPolicy | None:
    """The policy a notice's link names, which must be the customer's (404 otherwise)."""
    if not raw:
        return None
    if not raw.isdigit():
        raise Http404("No such policy.")
    return get_policy_for_user(request, int(raw))


@require_http_methods(["GET", "POST"])
@customer_required
def exempt(request: CustomerRequest) -> HttpResponse:
    """``/retention/exempt/?run=<run_id>&policy=<id>``: keep one run whatever the policies say.

    GET asks for the reason (or, without a run, for the run's id); POST exempts it.
    """
    _require_admin(request)
    params = request.POST if request.method == "POST" else request.GET
    run_id = params.get("run", "").strip()
    policy = _named_policy(request, params.get("policy", "").strip())
    runs = _runs_named(request, run_id)
    workspace = params.get("workspace", "")
    if len(runs) > 1 and workspace.isdigit():
        runs = [r for r in runs if r.workspace_id == int(workspace)] or runs
    form = ExemptForm(request.POST if request.method == "POST" else None)
    ctx: dict[str, Any] = {"run_id": run_id, "policy": policy, "runs": runs, "form": form}
    if run_id and not runs:
        ctx["not_found"] = True
        return _render(request, "customer/exempt.html", ctx, status=404)
    if request.method == "POST" and len(runs) == 1 and form.is_valid():
        run = runs[0]
        try:
            _, sentence = exemptions.exempt_run(
                run,
                actor=request.user,
                source=Source.WEB,
                reason=form.cleaned_data["reason"],
                policy=policy,
            )
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                f"Parse run {run.run_id} is exempted: no retention policy deletes it until the "
                f"exemption is removed. {sentence}".strip(),
            )
            return redirect("customer:exemptions")
    elif request.method == "POST" and len(runs) > 1:
        form.add_error(None, "Choose the workspace of the run.")
    status = 400 if request.method == "POST" else 200
    return _render(request, "customer/exempt.html", ctx, status=status)


@require_http_methods(["GET", "POST"])
@customer_required
def exemption_remove(request: CustomerRequest, pk: int) -> HttpResponse:
    """GET says what removing it means; POST removes it."""
    exemption = get_object_or_404(
        RetentionExemption.objects.select_related("parse_run", "created_by", "policy"),
        pk=pk,
        customer_id=request.membership.customer_id,
    )
    _require_admin(request)
    if request.method == "POST":
        run_id = exemption.parse_run.run_id
        try:
            exemptions.remove_exemption(exemption, actor=request.user, source=Source.WEB)
        except DomainError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request,
                f"The exemption of parse run {run_id} is removed: your retention policies "
                "apply to it again from their next evaluation.",
            )
        return redirect("customer:exemptions")
    return _render(request, "customer/exemption_remove.html", {"exemption": exemption})
