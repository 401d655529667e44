"""What the staff endpoints share: the console's permissions as API permissions, the
Idempotency-Key parameter, and checking a body with the console's own form.

The console's forms hold the rules a value must meet (a unique name, a URL the outbound policy
allows, a key re-entered with a new URL...). An endpoint checks the body's types with its
serializer (what the schema documents), then hands the values to the same form the console page
uses, so a rule is written once and a page and an endpoint cannot disagree; a form's errors
become the API's 400 with ``details.fields``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.core.exceptions import NON_FIELD_ERRORS
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.views import APIView

from deletions import holds, transitions, workspace_health
from deletions.api.auth import IsStaffPerson, StaffWith, api_membership, refuse_service_account
from deletions.api.idempotency import HEADER, MAX_KEY_LENGTH


class CanApprove(StaffWith):
    """The console's approvers and admins (``approve_request``)."""

    perm = transitions.APPROVE_PERMISSION
    message = "This needs an approver."


class CanOperate(StaffWith):
    """The console's approvers and admins (``operate_engine``)."""

    perm = workspace_health.OPERATE_PERMISSION
    message = "This needs an approver."


class CanAdminister(StaffWith):
    """The console's admins (``administer_portal``)."""

    perm = holds.ADMINISTER_PERMISSION
    message = "This needs a console admin."


class IsCustomerAdminPerson(IsStaffPerson):
    """A customer admin's own token (never a service account's)."""

    message = "This needs a customer admin's own token or a console admin's."

    def has_permission(self, request: Request, view: APIView) -> bool:
        membership = api_membership(request)
        if membership is None or not membership.is_customer_admin:
            return False
        refuse_service_account(request)
        return True


IDEMPOTENCY_PARAMETER = OpenApiParameter(
    HEADER,
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Any unique string of at most 255 printable characters: a retry with the same "
    "key and body gets the first answer; the same key with another body is refused (422).",
    # What the server accepts (idempotency.MAX_KEY_LENGTH, printable), as ASCII.
    pattern=rf"^[\x21-\x7e]([\x20-\x7e]{{0,{MAX_KEY_LENGTH - 2}}}[\x21-\x7e])?$",
)


def person(request: Request) -> User:
    """The user a staff or customer endpoint acts as (authentication made sure there is one)."""
    user = request.user
    assert isinstance(user, User)
    return user


def form_values(form: forms.BaseForm) -> dict[str, Any]:
    """*form*'s cleaned data, or a 400 with its errors by field (as a serializer's would be)."""
    if form.is_valid():
        return dict(form.cleaned_data)
    errors: dict[str, Any] = {
        "non_field_errors" if name == NON_FIELD_ERRORS else name: [str(m) for m in messages]
        for name, messages in form.errors.items()
    }
    raise serializers.ValidationError(errors)


def form_data(values: dict[str, Any]) -> dict[str, Any]:
    """Serializer-checked values as a form's bound data: None as empty, ids as they are."""
    return {name: "" if value is None else value for name, value in values.items()}
