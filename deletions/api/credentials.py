"""API tokens and service accounts over the API, under the token pages' rules.

Credentials are personal: anyone creates, lists and revokes only their own tokens (``/me/...``).
Console admins list and revoke every token and create the operator's service accounts; customer
admins do the same within their customer. Only the person who created a service account issues
its tokens (:mod:`deletions.api.tokens`, :mod:`deletions.accounts.service_accounts` enforce both).
A new token is in the answer to the call that created it, once; only its hash is kept, so no
Idempotency-Key is taken there (a replay would have to keep the token).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from deletions.accounts import service_accounts
from deletions.api import tokens
from deletions.api.auth import IsCustomerOrStaff, api_membership
from deletions.api.idempotency import idempotent
from deletions.api.serializers import PageQuerySerializer
from deletions.api.staff_base import (
    IDEMPOTENCY_PARAMETER,
    WRITE_ERRORS,
    CanAdminister,
    Flag,
    IsCustomerAdminPerson,
    Text,
    checked_body,
    page_of,
    person,
)
from deletions.api.views import (
    OBJECT_ERRORS,
    READ_ERRORS,
    ApiView,
    _errors,
    _page,
    _query,
)
from deletions.models import ApiToken, Customer, ServiceAccount, Source

# Console admins for the operator and everyone; customer admins for their customer.
MANAGERS = [CanAdminister | IsCustomerAdminPerson]


class TokenSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = Text()
    prefix = Text(help_text="The token's first characters, to recognise it.")
    user = Text(source="user.username")
    customer = serializers.IntegerField(source="customer_id", allow_null=True)
    scope = Text(source="scope_label")
    service_account = serializers.SerializerMethodField()
    created_by = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)

    def get_service_account(self, token: ApiToken) -> bool:
        return token.service_account is not None

    @extend_schema_field(Text(allow_null=True))
    def get_created_by(self, token: ApiToken) -> str | None:
        return token.created_by.username if token.created_by else None


class NewTokenSerializer(TokenSerializer):
    token = Text(
        help_text="The token itself (Authorization: Bearer …): shown this once, never again."
    )


TokenPageSerializer = page_of(TokenSerializer)


class TokenCreateSerializer(serializers.Serializer[Any]):
    name = Text(max_length=100, help_text="What the token is for.")


class ServiceAccountSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = Text()
    username = Text(source="user.username")
    customer = serializers.IntegerField(source="customer_id", allow_null=True)
    issued_by = Text(source="issued_by.username", help_text="Who stands behind what it does.")
    is_active = Flag(source="user.is_active")
    created_at = serializers.DateTimeField()


ServiceAccountPageSerializer = page_of(ServiceAccountSerializer)


class ServiceAccountCreateSerializer(serializers.Serializer[Any]):
    name = Text(max_length=100, help_text="The program that will use it, e.g. “Nightly clean-up”.")


def _tokens(rows: QuerySet[ApiToken]) -> QuerySet[ApiToken]:
    return rows.select_related("user__service_account", "customer", "created_by")


def _managed_customer(request: Request) -> Customer | None:
    """The customer whose credentials the caller manages: theirs for a customer admin, None
    (the operator's, and every token) for a console admin."""
    membership = api_membership(request)
    return membership.customer if membership is not None else None


def _managed_tokens(request: Request) -> QuerySet[ApiToken]:
    customer = _managed_customer(request)
    rows = ApiToken.objects.all()
    return _tokens(rows if customer is None else rows.filter(customer=customer))


def _managed_accounts(request: Request) -> QuerySet[ServiceAccount]:
    customer = _managed_customer(request)
    rows = ServiceAccount.objects.select_related("user", "issued_by")
    if customer is None:
        return rows.filter(customer__isnull=True)
    return rows.filter(customer=customer)


def _created(token: ApiToken, raw: str) -> Response:
    body = dict(TokenSerializer(_tokens(ApiToken.objects.all()).get(pk=token.pk)).data)
    body["token"] = raw
    return Response(body, status=status.HTTP_201_CREATED)


def _revoked(request: Request, token: ApiToken) -> Response:
    tokens.revoke(token, actor=person(request), source=Source.API)
    return Response(TokenSerializer(_tokens(ApiToken.objects.all()).get(pk=token.pk)).data)


# --- Your own tokens ---


class MyTokens(ApiView):
    permission_classes = [IsCustomerOrStaff]

    @extend_schema(
        operation_id="list_my_tokens",
        summary="Your own API tokens, newest first",
        parameters=[PageQuerySerializer],
        responses={200: TokenPageSerializer, **_errors(*READ_ERRORS)},
    )
    def get(self, request: Request) -> Response:
        params = _query(request, PageQuerySerializer)
        rows = _tokens(ApiToken.objects.filter(user=person(request)))
        return _page(request, rows, params, TokenSerializer, field="id", descending=True)

    @extend_schema(
        operation_id="create_my_token",
        summary="Create an API token of your own; it is in this answer only",
        description="A token acts as you, with your role. Nobody creates a token of another "
        "person; a service account's tokens are issued by the person who created it "
        "(issue_service_account_token), so a service account's token cannot create tokens.",
        request=TokenCreateSerializer,
        responses={201: NewTokenSerializer, **_errors(*WRITE_ERRORS)},
    )
    def post(self, request: Request) -> Response:
        data = checked_body(request, TokenCreateSerializer)
        me = person(request)
        token, raw = tokens.issue(me, name=data["name"], created_by=me, source=Source.API)
        return _created(token, raw)


class MyTokenRevoke(ApiView):
    permission_classes = [IsCustomerOrStaff]

    @extend_schema(
        operation_id="revoke_my_token",
        summary="Revoke one of your own tokens, now (revoking twice changes nothing)",
        request=None,
        responses={200: TokenSerializer, **_errors(*OBJECT_ERRORS)},
    )
    def post(self, request: Request, token_id: int) -> Response:
        token = get_object_or_404(ApiToken.objects.filter(user=person(request)), pk=token_id)
        return _revoked(request, token)


# --- Tokens and service accounts of a scope (admins) ---


class Tokens(ApiView):
    permission_classes = MANAGERS

    @extend_schema(
        operation_id="list_tokens",
        summary="Every token of your scope (console admins: all; customer admins: theirs)",
        parameters=[PageQuerySerializer],
        responses={200: TokenPageSerializer, **_errors(*READ_ERRORS)},
    )
    def get(self, request: Request) -> Response:
        params = _query(request, PageQuerySerializer)
        rows = _managed_tokens(request)
        return _page(request, rows, params, TokenSerializer, field="id", descending=True)


class TokenRevoke(ApiView):
    permission_classes = MANAGERS

    @extend_schema(
        operation_id="revoke_token",
        summary="Revoke a token of your scope, now (console admins, customer admins)",
        request=None,
        responses={200: TokenSerializer, **_errors(*OBJECT_ERRORS)},
    )
    def post(self, request: Request, pk: int) -> Response:
        return _revoked(request, get_object_or_404(_managed_tokens(request), pk=pk))


class ServiceAccounts(ApiView):
    permission_classes = MANAGERS

    @extend_schema(
        operation_id="list_service_accounts",
        summary="The service accounts of your scope (the operator's, or your customer's)",
        parameters=[PageQuerySerializer],
        responses={200: ServiceAccountPageSerializer, **_errors(*READ_ERRORS)},
    )
    def get(self, request: Request) -> Response:
        params = _query(request, PageQuerySerializer)
        rows = _managed_accounts(request)
        return _page(request, rows, params, ServiceAccountSerializer, field="id", descending=True)

    @extend_schema(
        operation_id="create_service_account",
        summary="Create a service account of your scope (console admins, customer admins)",
        description="A console admin's acts for the operator and may only read; a customer "
        "admin's acts as a member of their customer. You stand behind what it does: only you "
        "issue its tokens, and for four eyes it counts as you.",
        request=ServiceAccountCreateSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: ServiceAccountSerializer, **_errors(*WRITE_ERRORS)},
    )
    def post(self, request: Request) -> Response:
        def work() -> Response:
            data = checked_body(request, ServiceAccountCreateSerializer)
            account = service_accounts.create(
                name=data["name"],
                customer=_managed_customer(request),
                issued_by=person(request),
                source=Source.API,
            )
            body = ServiceAccountSerializer(_managed_accounts(request).get(pk=account.pk)).data
            return Response(body, status=status.HTTP_201_CREATED)

        return idempotent(request, work)


class ServiceAccountTokens(ApiView):
    permission_classes = MANAGERS

    @extend_schema(
        operation_id="issue_service_account_token",
        summary="Issue a token of a service account you created; it is in this answer only",
        request=TokenCreateSerializer,
        responses={201: NewTokenSerializer, **_errors(*WRITE_ERRORS)},
    )
    def post(self, request: Request, pk: int) -> Response:
        account = get_object_or_404(_managed_accounts(request), pk=pk)
        data = checked_body(request, TokenCreateSerializer)
        token, raw = tokens.issue(
            account.user,
            name=data["name"],
            created_by=person(request),
            source=Source.API,
        )
        return _created(token, raw)
