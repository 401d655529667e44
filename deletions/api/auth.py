"""Bearer-token authentication and the two audiences' permissions.

A token acts as its user. A customer user's token is scoped to the customer it was issued for
(it stops working if the user leaves that customer); a staff user's token carries the user's
staff groups, so the same permissions as in the console apply. Staff actions (anything that
changes something) need a staff member's own token: an operator service account only reads.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import User
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request

from deletions.accounts.roles import is_staff_user, membership_of, service_account_of
from deletions.models import Membership
from deletions.models.tokens import TOKEN_PREFIX, ApiToken, hash_token

if TYPE_CHECKING:
    from rest_framework.views import APIView

# last_used_at is written at most this often per token: not one UPDATE per API call.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer dpk_...``."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "Give the token as 'Authorization: Bearer dpk_…'."
            )
        try:
            raw = header[1].decode()
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed("The token is not valid.") from exc
        if not raw.startswith(TOKEN_PREFIX):
            raise exceptions.AuthenticationFailed("The token is not valid.")
        token = (
            ApiToken.objects.select_related("user__service_account__issued_by", "customer")
            .filter(token_hash=hash_token(raw), revoked_at__isnull=True)
            .first()
        )
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("The token is not valid or has been revoked.")
        account = service_account_of(token.user)
        if account is not None and not account.issued_by.is_active:
            # The person behind a service account answers for it; once they are gone, so is it.
            raise exceptions.AuthenticationFailed(
                "The person who created this token's service account is deactivated."
            )
        if token.customer_id is not None:
            membership = membership_of(token.user)
            if (
                membership is None
                or membership.customer_id != token.customer_id
                or not token.customer
                or not token.customer.is_active
            ):
                raise exceptions.AuthenticationFailed(
                    "The token's user no longer belongs to its customer."
                )
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


def api_membership(request: Request) -> Membership | None:
    """The customer membership the request's token acts with (None for staff tokens)."""
    token = request.auth
    if not isinstance(token, ApiToken) or token.customer_id is None:
        return None
    return membership_of(request.user)


class IsCustomerUser(permissions.BasePermission):
    message = "This endpoint is for customer tokens."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return api_membership(request) is not None


class IsStaff(permissions.BasePermission):
    message = "This endpoint is for staff tokens."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return (
            isinstance(request.auth, ApiToken)
            and request.auth.customer_id is None
            and is_staff_user(request.user)
        )


SERVICE_ACCOUNT_REFUSED = (
    "Staff actions need a staff member's own API token. This token belongs to a service "
    "account, which may only read."
)


def refuse_service_account(request: Request) -> None:
    """403 with :data:`SERVICE_ACCOUNT_REFUSED` if the request acts as a service account."""
    if service_account_of(request.user) is not None:
        raise exceptions.PermissionDenied(SERVICE_ACCOUNT_REFUSED)


class IsStaffPerson(IsStaff):
    """A staff token of a person: what every staff action needs."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not super().has_permission(request, view):
            return False
        refuse_service_account(request)
        return True


class IsCustomerOrStaff(permissions.BasePermission):
    message = "This token has neither a customer nor a staff role."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return IsCustomerUser().has_permission(request, view) or IsStaff().has_permission(
            request, view
        )


class StaffWith(permissions.BasePermission):
    """A staff person's token whose user also holds *perm*: the console's
    ``console_required(perm)``."""

    perm = ""

    def has_permission(self, request: Request, view: APIView) -> bool:
        return IsStaffPerson().has_permission(request, view) and request.user.has_perm(self.perm)


def describe(token: ApiToken) -> dict[str, Any]:
    return {"id": token.pk, "name": token.name, "prefix": token.prefix}


class TokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """Describes :class:`TokenAuthentication` in the OpenAPI schema."""

    target_class = TokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "dpk_…"}
