"""What the customer's and the console's retention-policy pages share: the detail page's
context (rule, approvals, preview, evaluations), the actions on a policy with what each will do,
and the dates in the customer's time zone.

Each side loads the policy its own way (the customer within its customer, staff any) and
decides who may act; the domain (:mod:`deletions.policies.rules`) checks again and audits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import User
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone

from deletions.accounts.roles import same_person
from deletions.core.errors import DomainError
from deletions.forms.policies import (
    OptionalReasonForm,
    PolicyApproveForm,
    PolicyRejectForm,
)
from deletions.models import (
    Customer,
    DeletionRequest,
    PolicyApproval,
    PolicyEvaluation,
    RetentionPolicy,
    RetentionSwitch,
    Source,
)
from deletions.policies import rules, selection
from deletions.policies.schedule import customer_zone, next_evaluation
from deletions.views.customer import keyset_page

ST = RetentionPolicy.Status
EVALUATIONS_PER_PAGE = 20


def moment(dt: datetime, customer: Customer) -> str:
    """*dt* as the customer's clock shows it, with the zone's name (for messages)."""
    zone = customer_zone(customer)
    return f"{timezone.localtime(dt, zone):%-d %b %Y, %H:%M} ({zone})"


def with_zones(policies: Iterable[RetentionPolicy]) -> None:
    """Give each policy its customer's time zone (``policy.zone``) for the templates."""
    for policy in policies:
        policy.zone = customer_zone(policy.customer)  # type: ignore[attr-defined]


def with_last_evaluation(policies: QuerySet[RetentionPolicy]) -> QuerySet[RetentionPolicy]:
    """*policies*, each annotated with the id of its last evaluation (from the index)."""
    last = PolicyEvaluation.objects.filter(policy=OuterRef("pk")).order_by("-evaluated_at", "-id")
    return policies.annotate(last_evaluation_id=Subquery(last.values("id")[:1]))


def attach_last_evaluations(policies: Iterable[RetentionPolicy]) -> None:
    """Give each policy of a page (annotated by :func:`with_last_evaluation`) its last
    evaluation as ``policy.last_evaluation``, in one query."""
    policies = list(policies)
    ids = [p.last_evaluation_id for p in policies if p.last_evaluation_id]  # type: ignore[attr-defined]
    found = PolicyEvaluation.objects.select_related("request").in_bulk(ids)
    for p in policies:
        p.last_evaluation = found.get(p.last_evaluation_id)  # type: ignore[attr-defined]


def approval_state(policy: RetentionPolicy, user: User) -> dict[str, Any]:
    """Every decision on the policy (all versions), and where its current version stands."""
    approvals = list(policy.approvals.select_related("approver").order_by("created_at", "id"))
    current = [
        a
        for a in approvals
        if a.version == policy.version and a.decision == PolicyApproval.Decision.APPROVE
    ]
    return {
        "approvals": approvals,
        "approvals_given": len(current),
        "approvals_missing": max(policy.required_approvals - len(current), 0),
        "you_proposed": same_person(policy.proposed_by, user),
        "you_approved": any(same_person(a.approver, user) for a in current),
    }


def detail_context(
    policy: RetentionPolicy, params: Mapping[str, str], user: User, *, now: datetime
) -> dict[str, Any]:
    """Everything both detail pages show: the policy, its approvals, what it would delete if it
    ran now (open policies only), one page of its evaluations and the console's switch."""
    page = keyset_page(
        policy.evaluations.select_related("request"),
        field="evaluated_at",
        descending=True,
        after=params.get("after", ""),
        before=params.get("before", ""),
        size=EVALUATIONS_PER_PAGE,
    )
    return {
        "policy": policy,
        "zone": customer_zone(policy.customer),
        "preview": selection.preview(policy, now)
        if policy.status in policy.OPEN_STATUSES
        else None,
        "first_action_ahead": bool(policy.first_action_at and policy.first_action_at > now),
        "evaluations": page,
        "switch": RetentionSwitch.current(),
        **approval_state(policy, user),
    }


# --- Actions on a policy ------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    name: str
    label: str
    # The states it is possible from.
    statuses: frozenset[str]
    form: type[forms.Form] | None = None
    danger: bool = False


ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action("approve", "Approve", frozenset({ST.PENDING_APPROVAL}), PolicyApproveForm),
        Action("reject", "Reject", frozenset({ST.PENDING_APPROVAL}), PolicyRejectForm, danger=True),
        Action("pause", "Pause", frozenset({ST.ACTIVE}), OptionalReasonForm, danger=True),
        Action("resume", "Resume", frozenset({ST.PAUSED})),
        Action("retire", "Retire", RetentionPolicy.OPEN_STATUSES, OptionalReasonForm, danger=True),
    )
}


DONE = {
    "approve": "approved",
    "reject": "rejected",
    "pause": "paused",
    "resume": "resumed",
    "retire": "retired",
}


def refusal(policy: RetentionPolicy, name: str, state: Mapping[str, Any]) -> str:
    """Why *name* is not possible on *policy* for this user now, or "" if it is (the domain
    checks again when it is done)."""
    if policy.status not in ACTIONS[name].statuses:
        return (
            f"This policy is {policy.get_status_display().lower()}; it cannot be {DONE[name]} now."
        )
    if name in ("approve", "reject") and state["you_proposed"]:
        return "You proposed or last changed this policy; another approver must decide."
    if name == "approve" and state["you_approved"]:
        return "You already approved this version of the policy; another approver must."
    return ""


def _stopping(policy: RetentionPolicy) -> str:
    """What stopping the policy does to its retention requests still open."""
    open_requests = rules.open_requests(policy)
    running = open_requests.filter(status=DeletionRequest.Status.RUNNING).count()
    waiting = open_requests.exclude(
        status__in=[DeletionRequest.Status.RUNNING, DeletionRequest.Status.PAUSED]
    ).count()
    parts = []
    if running:
        parts.append(f"{running} running retention request{'s' if running != 1 else ''} pause")
    if waiting:
        parts.append(
            f"{waiting} retention request{'s' if waiting != 1 else ''} not started yet "
            f"{'are' if waiting != 1 else 'is'} cancelled (its runs are selected again later)"
        )
    if not parts:
        return " It has no retention request in progress."
    return " At once, " + " and ".join(parts) + ": nothing more is sent to Extend for them."


def consequence(
    policy: RetentionPolicy, name: str, state: Mapping[str, Any], *, now: datetime
) -> str:
    """Exactly what the action will do, for its confirmation page."""
    title = f"“{policy.name}”"
    if name == "approve":
        if state["approvals_given"] + 1 < policy.required_approvals:
            return (
                f"Your approval of version {policy.version} is recorded as "
                f"{state['approvals_given'] + 1} of {policy.required_approvals}. The policy acts "
                "only once another approver also approves."
            )
        if policy.first_action_at is None:
            first = moment(
                now + timedelta(days=settings.RETENTION_POLICY_NOTICE_DAYS), policy.customer
            )
            start = (
                f"It acts no earlier than {first}, after the customer's admins have been given "
                "notice"
            )
        else:
            start = "It acts from its next evaluation"
        due = selection.bounded_count(
            selection.selectable(policy, now), settings.RETENTION_POLICY_CAP + 1
        )
        size = (
            f"more than {settings.RETENTION_POLICY_CAP:,}"
            if due > settings.RETENTION_POLICY_CAP
            else f"{due:,}"
        )
        return (
            f"Policy {title} becomes active: from then on it deletes {policy.customer.name}'s "
            f"{policy.rule_text} at every evaluation, without asking again. {start}; if it "
            f"ran now it would delete {size} run{'s' if due != 1 else ''}. Deleted runs cannot "
            "be restored."
        )
    if name == "reject":
        return (
            f"Policy {title} is rejected and never acts. The customer sees your reason and may "
            "propose a new policy."
        )
    if name == "pause":
        return (
            f"Policy {title} is not evaluated again until someone resumes it; its approval "
            f"stands, so resuming needs no new approval.{_stopping(policy)}"
        )
    if name == "resume":
        when = moment(next_evaluation(policy, now), policy.customer)
        return (
            f"Policy {title} acts again, without a new approval: its next evaluation is at "
            f"{when}, and its paused retention requests carry on (unless the operator has "
            "stopped every policy)."
        )
    return (
        f"Policy {title} ends for good: it is never evaluated again and stays on record with "
        f"its evaluations.{_stopping(policy)} This cannot be undone; to start again, propose a "
        "new policy."
    )


def perform(policy: RetentionPolicy, name: str, *, actor: User, data: Mapping[str, Any]) -> str:
    """Do *name* through the domain (which may refuse with a DomainError); return the message
    that says what happened."""
    title = f"Policy “{policy.name}”"
    source = Source.WEB
    if name == "approve":
        done = rules.approve_policy(
            policy, actor=actor, source=source, comment=data.get("comment", "")
        )
        if done.status == ST.ACTIVE:
            assert done.next_evaluation_at is not None
            return (
                f"{title} is approved and active; its first evaluation is at "
                f"{moment(done.next_evaluation_at, done.customer)}."
            )
        return f"Your approval of {title.lower()} is recorded; another approver is needed."
    if name == "reject":
        rules.reject_policy(policy, actor=actor, source=source, reason=data["reason"])
        return f"{title} is rejected; the customer sees your reason."
    if name == "pause":
        rules.pause_policy(policy, actor=actor, source=source, reason=data.get("reason", ""))
        return f"{title} is paused: it is not evaluated until it is resumed."
    if name == "resume":
        done = rules.resume_policy(policy, actor=actor, source=source)
        assert done.next_evaluation_at is not None
        return (
            f"{title} is active again; its next evaluation is at "
            f"{moment(done.next_evaluation_at, done.customer)}."
        )
    rules.retire_policy(policy, actor=actor, source=source, reason=data.get("reason", ""))
    return f"{title} is retired: it will never be evaluated again."


def action_page(
    request: HttpRequest,
    policy: RetentionPolicy,
    name: str,
    *,
    user: User,
    detail_url: str,
    render_page: Callable[[dict[str, Any]], HttpResponse],
) -> HttpResponse:
    """An action's page on either side: GET says what it will do (or why it cannot be done
    now), POST does it and goes back to the policy with what happened."""
    action = ACTIONS[name]
    form = action.form(request.POST if request.method == "POST" else None) if action.form else None
    if request.method == "POST" and (form is None or form.is_valid()):
        data = form.cleaned_data if form is not None else {}
        try:
            messages.success(request, perform(policy, name, actor=user, data=data))
        except DomainError as exc:
            messages.error(request, str(exc))
        return redirect(detail_url)
    state = approval_state(policy, user)
    return render_page(
        {
            "policy": policy,
            "action": action,
            "form": form,
            "refusal": refusal(policy, name, state),
            "consequence": consequence(policy, name, state, now=timezone.now()),
            **state,
        }
    )
