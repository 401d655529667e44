"""Issuing and revoking API tokens, audited; used by the console, the team page and the CLI."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from deletions import audit
from deletions.api.models import ApiToken
from deletions.errors import RuleViolation
from deletions.models import Source
from deletions.roles import customer_of, is_staff_user

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def issue(
    user: User, *, name: str, created_by: User | None, source: Source | str
) -> tuple[ApiToken, str]:
    """A new token for *user*; returns it and the raw token, which is shown once only."""
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
            detail={"user": user.username, "name": token.name, "prefix": token.prefix},
        )
    return token, raw


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
