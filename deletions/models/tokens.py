"""API tokens and idempotency keys."""

from __future__ import annotations

import hashlib
import secrets
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils import timezone

from deletions.models.accounts import ServiceAccount, customer_of, service_account_of

if TYPE_CHECKING:
    from django.contrib.auth.models import User


TOKEN_PREFIX = "dpk_"  # noqa: S105 (a prefix, not a secret)


def hash_token(raw: str) -> str:
    """The SHA-256 of a raw token: all the database keeps of it."""
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token acting as its user: a customer user (scoped to their customer) or staff.

    Only the token's SHA-256 is stored, with a short prefix for display; the raw token is shown
    once, when it is created.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    # The customer the token was issued for (None for staff tokens). A token stops working if
    # its user no longer belongs to that customer.
    customer = models.ForeignKey(
        "deletions.Customer",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="api_tokens",
    )
    name = models.CharField(max_length=100)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=12, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def scope_label(self) -> str:
        if self.customer_id:
            return f"customer {self.customer}"
        return "operator, read only" if self.service_account else "staff"

    @property
    def service_account(self) -> ServiceAccount | None:
        """The service account the token acts as, or None for a person's own token."""
        return service_account_of(self.user)

    @classmethod
    def issue(
        cls, user: User, *, name: str, created_by: User | None = None
    ) -> tuple[ApiToken, str]:
        """Create a token for *user*; return it and the raw token (shown once, never stored)."""
        raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(
            user=user,
            customer=customer_of(user),
            name=name.strip() or "API token",
            token_hash=hash_token(raw),
            prefix=raw[: len(TOKEN_PREFIX) + 6],
            created_by=created_by,
        )
        return token, raw


class IdempotencyKey(models.Model):
    """A successful POST's answer, replayed when the same token sends the same key again."""

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="idempotency_keys")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["token", "key"], name="idempotency_key_per_token"),
        ]

    def __str__(self) -> str:
        return f"{self.key} for token {self.token_id}"
