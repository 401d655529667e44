"""Issuing and revoking API tokens, audited; used by the token pages and the CLI.

Credentials are personal: a token is created by the person it belongs to, or, for a service
account, by the person who created that account. Nobody is shown a working token of another
person; only whoever operates the server can do that, at the command line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from deletions import audit
from deletions.accounts import service_accounts
from deletions.accounts.roles import customer_of, is_staff_user, service_account_of
from deletions.core.errors import RuleViolation
from deletions.models import ApiToken, Source

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def issue(
    user: User, *, name: str, created_by: User | None, source: Source | str
) -> tuple[ApiToken, str]:
    """A new token for *user*, created by *created_by* (None: the server's operator at the
    command line); returns it and the raw token, which is shown once only."""
    _check_issuer(user, created_by, source)
    if not user.is_active:
        raise RuleViolation(f"{user.username} is deactivated.")
    if customer_of(user) is None and not is_staff_user(user):
        raise RuleViolation(
            f"{user.username} has neither a customer membership nor a staff role; "
            "a token would be useless."
        )
    with transaction.atomic():
        token, raw = ApiToken.issue(user, name=name, created_by=created_by)
        audit.record(
            "api_token.issued",
            obj=token,
            actor=created_by,
            source=source,
            customer=token.customer_id,
            detail={
                "user": user.username,
                "name": token.name,
                "prefix": token.prefix,
                "service_account": service_account_of(user) is not None,
            },
        )
    return token, raw


def _check_issuer(user: User, created_by: User | None, source: Source | str) -> None:
    if created_by is None:
        if source != Source.CLI:
            raise RuleViolation("A token is created by a signed-in person or at the command line.")
        return
    account = service_account_of(user)
    if account is None:
        if created_by.pk != user.pk:
            raise RuleViolation(
                f"A token belongs to the person who creates it; {user.username} creates their "
                "own on their API tokens page."
            )
    elif not service_accounts.may_issue_tokens(created_by, account):
        raise RuleViolation(
            f"Only the person who created the service account {account.name!r} issues its "
            "tokens; create a service account of your own."
        )


def revoke(token: ApiToken, *, actor: User | None, source: Source | str) -> ApiToken:
    """Stop *token* from working, now. Revoking twice changes nothing."""
    with transaction.atomic():
        if ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        ):
            audit.record(
                "api_token.revoked",
                obj=token,
                actor=actor,
                source=source,
                customer=token.customer_id,
                detail={"user": token.user.username, "prefix": token.prefix},
            )
    token.refresh_from_db()
    return token
