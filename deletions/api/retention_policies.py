"""Retention policies over the API: list, propose, read (with what it would delete now),
change, and the moves of the domain (approve, reject, pause, resume, retire), plus the console's
switch that stops every policy at once.

Every change goes through :mod:`deletions.policies.rules` with ``source=Source.API``, which
checks the rules again (four eyes, never the proposer, who may manage whose policies) and audits.
A policy is loaded through one ownership helper: a customer token sees its own customer's only,
so another customer's policy is a 404. Domain errors answer as on the request endpoints: an
illegal move 409, a rule 403, values that cannot make a policy 422.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from django.db.models import Count, F, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from deletions.api import policy_serializers as ps
from deletions.api.auth import IsCustomerOrStaff, IsStaff, IsStaffPerson, api_membership
from deletions.api.base import ACTION_ERRORS, OBJECT_ERRORS, READ_ERRORS, ApiView, _errors
from deletions.api.base import _page as page
from deletions.api.base import _query as query
from deletions.api.idempotency import idempotent
from deletions.api.staff_base import (
    IDEMPOTENCY_PARAMETER,
    WRITE_ERRORS,
    CanOperate,
    checked_body,
    person,
    unknown,
    unprocessable,
)
from deletions.core.errors import RuleViolation
from deletions.models import Customer, PolicyApproval, RetentionPolicy, RetentionSwitch, Source
from deletions.policies import evaluation, rules, selection
from deletions.requests import transitions
from deletions.workspaces import health as workspace_health

ST = RetentionPolicy.Status


class MayManagePolicies(BasePermission):
    """``rules.may_manage`` before the body is read: a customer admin's token (for its own
    customer), or the token of a staff person who approves or operates. The domain checks
    again, per policy."""

    message = (
        "Retention policies are managed with a customer admin's token, or a staff approver's "
        "or admin's own token."
    )

    def has_permission(self, request: Request, view: APIView) -> bool:
        membership = api_membership(request)
        if membership is not None:
            return membership.is_customer_admin
        if not IsStaffPerson().has_permission(request, view):
            return False
        return request.user.has_perm(transitions.APPROVE_PERMISSION) or request.user.has_perm(
            workspace_health.OPERATE_PERMISSION
        )


def policy_rows() -> QuerySet[RetentionPolicy]:
    """Policies with what their serializers read, in a constant number of queries."""
    current = Q(
        approvals__version=F("version"), approvals__decision=PolicyApproval.Decision.APPROVE
    )
    return (
        RetentionPolicy.objects.select_related("customer", "proposed_by", "paused_by")
        .prefetch_related("workspaces")
        .annotate(approvals_given=Count("approvals", filter=current))
    )


def visible_policies(request: Request) -> QuerySet[RetentionPolicy]:
    """What the token may see: its customer's policies, or every policy for staff."""
    membership = api_membership(request)
    if membership is not None:
        return policy_rows().filter(customer_id=membership.customer_id)
    if IsStaff().has_permission(request, None):  # type: ignore[arg-type]
        return policy_rows()
    raise Http404


def load_policy(request: Request, pk: int) -> RetentionPolicy:
    """The ownership helper: another customer's policy is a 404."""
    return get_object_or_404(visible_policies(request), pk=pk)


def customer_for(request: Request, pk: int | None) -> Customer:
    """The customer a write is for: a customer token's own (naming another is a 403); the one
    a staff token names (required)."""
    membership = api_membership(request)
    if membership is not None:
        if pk is not None and pk != membership.customer_id:
            raise RuleViolation("A customer token acts for its own customer only.")
        return membership.customer
    if pk is None:
        raise unprocessable("customer", "Staff tokens name the customer (its id).")
    customer = Customer.objects.filter(pk=pk, is_active=True).first()
    if customer is None:
        raise unknown("customer", "active customer", pk)
    return customer


def _current_values(policy: RetentionPolicy | None) -> rules.PolicyValues:
    if policy is None:
        return rules.PolicyValues(name="", reason="")
    return rules.PolicyValues(
        name=policy.name,
        reason=policy.reason,
        older_than_days=policy.older_than_days,
        hours_after_processed=policy.hours_after_processed,
        workspace_ids=sorted(w.pk for w in policy.workspaces.all()),
        file_name_contains=policy.file_name_contains,
        extend_status=policy.extend_status,
        metadata_key=policy.metadata_key,
        metadata_value=policy.metadata_value,
        erase_files=policy.erase_files,
    )


# The body's filter keys -> PolicyValues' fields.
FILTER_FIELDS = {
    "file_name_contains": "file_name_contains",
    "status": "extend_status",
    "metadata_key": "metadata_key",
    "metadata_value": "metadata_value",
}


def policy_values(
    data: dict[str, Any], policy: RetentionPolicy | None = None
) -> rules.PolicyValues:
    """The body's values laid over *policy*'s (a change names only what changes)."""
    changes: dict[str, Any] = {
        name: data[name] for name in ("name", "reason", "erase_files") if name in data
    }
    if "older_than_days" in data or "hours_after_processed" in data:
        # A period is said whole: days given to an "after processing" policy replace its hours.
        changes["older_than_days"] = data.get("older_than_days")
        changes["hours_after_processed"] = data.get("hours_after_processed")
    if "workspace" in data or "workspaces" in data:
        ids = list(data.get("workspaces") or [])
        if data.get("workspace") is not None:
            ids.append(data["workspace"])
        changes["workspace_ids"] = ids
    given = data.get("filter") or {}
    changes |= {field: given[key] for key, field in FILTER_FIELDS.items() if key in given}
    return dataclasses.replace(_current_values(policy), **changes)


def policy_response(
    request: Request,
    pk: int,
    *,
    http_status: int = status.HTTP_200_OK,
    needs_approval: bool | None = None,
) -> Response:
    """The policy as its detail shows it, read again after the change."""
    policy = load_policy(request, pk)
    now = timezone.now()
    closed = policy.status in (ST.REJECTED, ST.RETIRED)
    context = {
        "preview": None if closed else selection.preview(policy, now),
        "not_acting_because": evaluation.why_not(policy, now),
        "needs_approval": needs_approval,
    }
    serializer_class = (
        ps.PolicyDetailSerializer if needs_approval is None else ps.PolicyChangedSerializer
    )
    return Response(serializer_class(policy, context=context).data, status=http_status)


class PolicyList(ApiView):
    def get_permissions(self) -> list[BasePermission]:
        return [MayManagePolicies()] if self.request.method == "POST" else [IsCustomerOrStaff()]

    @extend_schema(
        operation_id="list_retention_policies",
        summary="List retention policies, newest first",
        description="A customer token sees its customer's policies (members read them too); "
        "staff see every customer's, optionally one customer's (customer).",
        parameters=[ps.PolicyQuerySerializer],
        responses={200: ps.PolicyPageSerializer, **_errors(*READ_ERRORS)},
    )
    def get(self, request: Request) -> Response:
        params = query(request, ps.PolicyQuerySerializer)
        rows = visible_policies(request)
        if params.get("customer"):
            rows = rows.filter(customer_id=params["customer"])
        if params.get("status"):
            rows = rows.filter(status=params["status"])
        return page(request, rows, params, ps.PolicySerializer, field="id", descending=True)

    @extend_schema(
        operation_id="propose_retention_policy",
        summary="Propose a retention policy (customer admins for their customer; staff "
        "approvers and admins for any)",
        description="Runs older than older_than_days, or hours_after_processed hours after "
        "processing, optionally narrowed to workspaces and a filter, with the reason it "
        "follows. It answers 201 with the policy pending approval: it acts only once approved "
        "under a request's rules (never by its proposer; two approvers when it covers all the "
        "customer's runs or more than the large-request threshold), and first acts only after "
        "the customer's admins were given notice. Values that cannot make a policy (both "
        "periods, a workspace without the customer's runs, a blank reason) are a 422.",
        request=ps.PolicyCreateSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: ps.PolicyDetailSerializer, **_errors(*WRITE_ERRORS)},
    )
    def post(self, request: Request) -> Response:
        def work() -> Response:
            data = checked_body(request, ps.PolicyCreateSerializer)
            customer = customer_for(request, data.get("customer"))
            policy = rules.propose_policy(
                customer, policy_values(data), actor=person(request), source=Source.API
            )
            response = policy_response(request, policy.pk, http_status=status.HTTP_201_CREATED)
            response["Location"] = reverse("api:retention_policy", args=[policy.pk])
            return response

        return idempotent(request, work)


class PolicyDetail(ApiView):
    def get_permissions(self) -> list[BasePermission]:
        return [MayManagePolicies()] if self.request.method == "PATCH" else [IsCustomerOrStaff()]

    @extend_schema(
        operation_id="get_retention_policy",
        summary="A retention policy: what it would delete now, its approvals and evaluations",
        description="preview counts (up to the cap + 1), dates and first runs of what an "
        "evaluation would take now, and the expired runs it would leave (exempted, in another "
        "request, held); evaluations are the latest ten, each with the request it created.",
        responses={200: ps.PolicyDetailSerializer, **_errors(*OBJECT_ERRORS)},
    )
    def get(self, request: Request, pk: int) -> Response:
        return policy_response(request, pk)

    @extend_schema(
        operation_id="change_retention_policy",
        summary="Change a retention policy (customer admins, staff approvers and admins)",
        description="Only the fields given change. A change of what it selects (period, "
        "workspaces, filter) is a new version: the policy is pending approval again and its "
        "requests in progress stop (needs_approval says so); a new name or reason alone is not. "
        "A rejected or retired policy cannot change (409).",
        request=ps.PolicyChangeSerializer(partial=True),
        responses={200: ps.PolicyChangedSerializer, **_errors(*WRITE_ERRORS)},
    )
    def patch(self, request: Request, pk: int) -> Response:
        policy = load_policy(request, pk)
        data = checked_body(request, ps.PolicyChangeSerializer, partial=True)
        version = policy.version
        policy = rules.change_policy(
            policy, policy_values(data, policy), actor=person(request), source=Source.API
        )
        return policy_response(request, pk, needs_approval=policy.version != version)


class PolicyAction(ApiView):
    """POST /retention-policies/{id}/<action>: one move of the domain, with its body."""

    permission_classes: list[type[BasePermission]] = [MayManagePolicies]
    body: type[serializers.Serializer[Any]] | None = None

    def act(self, request: Request, policy: RetentionPolicy, data: dict[str, Any]) -> None:
        raise NotImplementedError

    def post(self, request: Request, pk: int) -> Response:
        policy = load_policy(request, pk)
        data = checked_body(request, self.body) if self.body is not None else {}
        self.act(request, policy, data)
        return policy_response(request, pk)


def _action_schema(
    name: str, summary: str, description: str, body: type[serializers.Serializer[Any]] | None
) -> Callable[[type[PolicyAction]], type[PolicyAction]]:
    return extend_schema_view(
        post=extend_schema(
            operation_id=f"{name}_retention_policy",
            summary=summary,
            description=description,
            request=body,
            responses={200: ps.PolicyDetailSerializer, **_errors(*ACTION_ERRORS)},
        )
    )


@_action_schema(
    "approve",
    "Approve a pending policy (staff approvers; never its proposer)",
    "Approves its current version. It becomes active once it has the approvals it needs "
    "(two different approvers for a policy over all the customer's runs or a large one). "
    "Approving your own proposal, or twice, is a 403; a policy not pending approval is a 409.",
    ps.PolicyCommentSerializer,
)
class Approve(PolicyAction):
    permission_classes = [IsStaffPerson]
    body = ps.PolicyCommentSerializer

    def act(self, request: Request, policy: RetentionPolicy, data: dict[str, Any]) -> None:
        rules.approve_policy(
            policy, actor=person(request), source=Source.API, comment=data.get("comment", "")
        )


@_action_schema(
    "reject",
    "Reject a pending policy with a reason (staff approvers)",
    "The proposer sees the reason; a rejected policy never acts and cannot change. A policy "
    "not pending approval is a 409.",
    ps.PolicyRejectSerializer,
)
class Reject(PolicyAction):
    permission_classes = [IsStaffPerson]
    body = ps.PolicyRejectSerializer

    def act(self, request: Request, policy: RetentionPolicy, data: dict[str, Any]) -> None:
        rules.reject_policy(policy, actor=person(request), source=Source.API, reason=data["reason"])


@_action_schema(
    "pause",
    "Pause an active policy at once (customer admins, staff approvers and admins)",
    "Its kill switch: no evaluation until resumed, its running requests pause and those not "
    "started are cancelled. Pausing changes nothing it selects, so resuming needs no new "
    "approval. A policy that is not active is a 409.",
    ps.PolicyNoteSerializer,
)
class Pause(PolicyAction):
    body = ps.PolicyNoteSerializer

    def act(self, request: Request, policy: RetentionPolicy, data: dict[str, Any]) -> None:
        rules.pause_policy(
            policy, actor=person(request), source=Source.API, reason=data.get("reason", "")
        )


@_action_schema(
    "resume",
    "Resume a paused policy (customer admins, staff approvers and admins)",
    "Its approval stands; its paused requests run on (unless every policy is stopped). A "
    "policy that is not paused is a 409.",
    None,
)
class Resume(PolicyAction):
    def act(self, request: Request, policy: RetentionPolicy, data: dict[str, Any]) -> None:
        rules.resume_policy(policy, actor=person(request), source=Source.API)


@_action_schema(
    "retire",
    "Retire a policy for good (customer admins, staff approvers and admins)",
    "It stays on record with its evaluations; its requests in progress stop. A policy "
    "already rejected or retired is a 409.",
    ps.PolicyNoteSerializer,
)
class Retire(PolicyAction):
    body = ps.PolicyNoteSerializer

    def act(self, request: Request, policy: RetentionPolicy, data: dict[str, Any]) -> None:
        rules.retire_policy(
            policy, actor=person(request), source=Source.API, reason=data.get("reason", "")
        )


# --- The console's switch for every policy ---


def _switch_response() -> Response:
    switch = RetentionSwitch.current()
    return Response(ps.RetentionSwitchSerializer(switch).data)


class Switch(ApiView):
    def get_permissions(self) -> list[BasePermission]:
        return [CanOperate()] if self.request.method == "POST" else [IsStaff()]

    @extend_schema(
        operation_id="get_retention_switch",
        summary="Whether every retention policy is stopped (staff)",
        responses={200: ps.RetentionSwitchSerializer, **_errors(*READ_ERRORS)},
    )
    def get(self, request: Request) -> Response:
        return _switch_response()

    @extend_schema(
        operation_id="set_retention_switch",
        summary="Stop every retention policy, or let them act again (staff approvers and admins)",
        description="stopped true (with a reason): no policy is evaluated and every retention "
        "request in progress pauses at once. stopped false: active policies act again and their "
        "paused requests resume (those of paused policies stay paused). Stopping what is "
        "stopped, or restarting what runs, is a 409.",
        request=ps.RetentionSwitchWriteSerializer,
        responses={200: ps.RetentionSwitchSerializer, **_errors(*WRITE_ERRORS)},
    )
    def post(self, request: Request) -> Response:
        data = checked_body(request, ps.RetentionSwitchWriteSerializer)
        if data["stopped"]:
            reason = data.get("reason", "")
            if not reason.strip():
                raise unprocessable("reason", "Say why every retention policy is stopped.")
            rules.stop_all(actor=person(request), source=Source.API, reason=reason)
        else:
            rules.restart_all(actor=person(request), source=Source.API)
        return _switch_response()
