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
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.views import APIView

from deletions.api import idempotency
from deletions.api.auth import IsStaffPerson, StaffWith, api_membership, refuse_service_account
from deletions.api.errors import ApiError
from deletions.api.serializers import StrictBooleanField
from deletions.api.views import ACTION_ERRORS
from deletions.requests import holds, transitions
from deletions.workspaces import health as workspace_health


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


# Every write may be refused by a rule once its body matched the schema (422).
WRITE_ERRORS = (*ACTION_ERRORS, 422)

IDEMPOTENCY_PARAMETER = idempotency.PARAMETER


class StringsOnly(serializers.CharField):
    """Takes only JSON strings, as they are: DRF's text fields take numbers too, and trim
    spaces before checking the length, neither of which the schema says. What a value means
    once trimmed (blank, too short) is for the console's form or the domain function to say.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


class Text(StringsOnly):
    pass


class Slug(StringsOnly, serializers.SlugField):
    pass


class Email(StringsOnly, serializers.EmailField):
    pass


class Flag(StrictBooleanField):
    pass


class Whole(serializers.IntegerField):
    """In a JSON body, takes only JSON integers (DRF's takes "12" and 12.0 too)."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return int(super().to_internal_value(data))


def page_of(item: type[serializers.Serializer[Any]]) -> type[serializers.Serializer[Any]]:
    """The serializer of one keyset page of *item* (``results``, ``next_cursor``), named after
    it in the schema (``CustomerSerializer`` -> ``CustomerPage``)."""
    name = item.__name__.removesuffix("Serializer") + "PageSerializer"
    fields = {
        "results": item(many=True),
        "next_cursor": serializers.CharField(allow_null=True),
    }
    return type(name, (serializers.Serializer,), fields)


def checked_body(
    request: Request, serializer_class: type[serializers.Serializer[Any]], *, partial: bool = False
) -> dict[str, Any]:
    """The request's body, checked against *serializer_class* (a 400 if it does not match)."""
    ser = serializer_class(data=request.data, partial=partial)
    ser.is_valid(raise_exception=True)
    return dict(ser.validated_data)


def checked_values(
    form_class: type[forms.ModelForm[Any]],
    fields: Any,
    instance: Any,
    data: dict[str, Any],
) -> dict[str, Any]:
    """*data* laid over *instance*'s *fields* (the model's defaults for a new one, None), then
    checked by the console's *form_class*: an edit that names a few fields meets every rule."""
    current = instance if instance is not None else form_class._meta.model()
    merged = {name: getattr(current, name) for name in fields} | data
    return form_values(form_class(form_data(merged), instance=instance))


def person(request: Request) -> User:
    """The user a staff or customer endpoint acts as (authentication made sure there is one)."""
    user = request.user
    assert isinstance(user, User)
    return user


def form_values(form: forms.BaseForm) -> dict[str, Any]:
    """*form*'s cleaned data, or a 422 with its errors by field.

    The body matched the schema (its serializer said so: otherwise a 400); what the form
    refuses is a rule (a name in use, a URL the policy refuses, a date in the future), so the
    request cannot be carried out as asked.
    """
    if form.is_valid():
        return dict(form.cleaned_data)
    errors: dict[str, list[str]] = {
        "non_field_errors" if name == NON_FIELD_ERRORS else name: [str(m) for m in messages]
        for name, messages in form.errors.items()
    }
    name, messages = next(iter(errors.items()))
    prefix = "" if name == "non_field_errors" else f"{name}: "
    raise ApiError(
        prefix + messages[0],
        status_code=status.HTTP_422_UNPROCESSABLE_ENTITY,
        code="unprocessable",
        details={"fields": errors},
    )


def unprocessable(field: str, message: str) -> ApiError:
    """A 422 about one field of a body that matched the schema but that a rule refuses."""
    return ApiError(
        f"{field}: {message}",
        status_code=status.HTTP_422_UNPROCESSABLE_ENTITY,
        code="unprocessable",
        details={"fields": {field: [message]}},
    )


def unknown(field: str, what: str, pk: int) -> ApiError:
    """A 422 for a body that names an object that does not exist (or may not be used)."""
    return unprocessable(field, f"No {what} has the id {pk}.")


def form_data(values: dict[str, Any]) -> dict[str, Any]:
    """Serializer-checked values as a form's bound data: None as empty, ids as they are."""
    return {name: "" if value is None else value for name, value in values.items()}
