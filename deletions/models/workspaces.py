"""Extend organisations and workspaces, and the engine's per-workspace state (rate-limit slots,
runner leases)."""

from __future__ import annotations

import uuid

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from deletions.core import crypto
from deletions.core.fields import EncryptedTextField
from deletions.extend_client import DEFAULT_API_VERSION, EU1_BASE_URL, US2_BASE_URL, US_BASE_URL


class Organization(models.Model):
    """An Extend organisation. Extend's rate limits are per organisation and category, so every
    call of every workspace in it shares these limits (see
    :mod:`deletions.workspaces.ratelimit`)."""

    name = models.CharField(max_length=100, unique=True)
    extend_organization_id = models.CharField(
        "Extend organisation id",
        max_length=255,
        blank=True,
        help_text="Optional; for reference. Unique when given.",
    )
    write_rate_limit = models.PositiveIntegerField(
        default=10,
        validators=[MinValueValidator(1)],
        help_text="DELETE requests per second (Extend's WRITE category), for all of its "
        "workspaces.",
    )
    get_rate_limit = models.PositiveIntegerField(
        default=10,
        validators=[MinValueValidator(1)],
        help_text="GET requests per second (list, retrieve, verification), for all of its "
        "workspaces.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["extend_organization_id"],
                condition=~Q(extend_organization_id=""),
                name="organization_extend_id_unique_when_set",
                violation_error_message="Another organisation has this Extend organisation id.",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Workspace(models.Model):
    """One Extend workspace the operator uses, with its encrypted credentials."""

    class Region(models.TextChoices):
        US = US_BASE_URL, "US (api.extend.ai)"
        US2 = US2_BASE_URL, "US2 (api.us2.extend.app)"
        EU1 = EU1_BASE_URL, "EU1 (api.eu1.extend.ai)"

    class KeyScope(models.TextChoices):
        WORKSPACE = "workspace", "Workspace key"
        ORGANIZATION = "organization", "Organisation key"

    class Health(models.TextChoices):
        ACTIVE = "active", "Active"
        CREDENTIALS_INVALID = "credentials_invalid", "Credentials invalid"
        FORBIDDEN = "forbidden", "Forbidden"
        PAYMENT_REQUIRED = "payment_required", "Payment required"
        PAUSED = "paused", "Paused by staff"
        NOT_FOUND_BURST = "not_found_burst", "Paused: too many runs not found"
        UNEXPECTED_ANSWERS = "unexpected_answers", "Stopped: unexpected answers from Extend"

    name = models.CharField(max_length=100, unique=True)
    base_url = models.URLField(
        default=Region.US,
        help_text="Extend region (US, US2, EU1) or any URL, e.g. a local simulator.",
    )
    api_version = models.CharField(max_length=20, default=DEFAULT_API_VERSION)
    key_scope = models.CharField(
        max_length=20, choices=KeyScope.choices, default=KeyScope.WORKSPACE
    )
    extend_workspace_id = models.CharField(
        max_length=255,
        blank=True,
        help_text="Sent as x-extend-workspace-id; required with an organisation key.",
    )
    organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="workspaces",
        help_text="Workspaces of one Extend organisation share its rate limits. Without one, "
        "the workspace has its own limits.",
    )
    customer_metadata_key = models.CharField(
        max_length=100,
        default="customer_id",
        help_text="The parse-run metadata key whose value is the customer's external reference.",
    )
    rate_limit = models.PositiveIntegerField(
        default=10,
        help_text="DELETE requests per second (Extend's WRITE category). Ignored while the "
        "workspace belongs to an organisation: the organisation's limit applies.",
    )
    get_rate_limit = models.PositiveIntegerField(
        default=10,
        help_text="GET requests per second (list, retrieve, verification). Ignored while the "
        "workspace belongs to an organisation: the organisation's limit applies.",
    )
    verify_deletions = models.BooleanField(
        default=True, help_text="After each delete, confirm with a GET that the run answers 404."
    )
    health = models.CharField(max_length=30, choices=Health.choices, default=Health.ACTIVE)
    health_reason = models.TextField(blank=True)
    health_changed_at = models.DateTimeField(null=True, blank=True)
    # Secrets: ciphertext only, plus the last four characters for display.
    api_key_encrypted = EncryptedTextField(blank=True, editable=False)
    api_key_last4 = models.CharField(max_length=4, blank=True, editable=False)
    webhook_secret_encrypted = EncryptedTextField(blank=True, editable=False)
    webhook_secret_last4 = models.CharField(max_length=4, blank=True, editable=False)
    # Evidence about the workspace's configuration (deletions.engine.evidence): 404s no DELETE of
    # ours explains, since the workspace was last shown healthy (a well-formed success). Kept
    # across a resume: only a success clears it.
    unexplained_404s = models.PositiveIntegerField(default=0)
    health_proven_at = models.DateTimeField(null=True, blank=True)
    # The circuit breaker: transient failures in a row across items, and until when it is open.
    breaker_failures = models.PositiveIntegerField(default=0)
    breaker_open_until = models.DateTimeField(null=True, blank=True)
    # Bumped whenever what a call is sent with changes (key, URL, version, workspace id, key
    # scope): a DELETE claimed under an older version is not sent (deletions.engine.gate).
    credentials_version = models.PositiveIntegerField(default=1, editable=False)
    # Unguessable part of this workspace's webhook URL.
    webhook_token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<Workspace {self.pk} {self.name!r} key=••••{self.api_key_last4}>"

    # The fields a call to Extend is made with: changing any of them changes the credentials.
    CONNECTION_FIELDS = ("base_url", "api_version", "key_scope", "extend_workspace_id")

    def set_api_key(self, raw: str) -> None:
        """Store *raw* encrypted; only its last four characters stay readable."""
        self.api_key_encrypted = crypto.encrypt(raw)
        self.api_key_last4 = raw[-4:]
        self.credentials_version += 1

    def reveal_api_key(self) -> str:
        """Decrypt the API key, for the Extend client only. Never display or log the result."""
        return crypto.decrypt(self.api_key_encrypted) if self.api_key_encrypted else ""

    def set_webhook_secret(self, raw: str) -> None:
        """Store the webhook signing secret encrypted."""
        self.webhook_secret_encrypted = crypto.encrypt(raw)
        self.webhook_secret_last4 = raw[-4:]

    def reveal_webhook_secret(self) -> str:
        """Decrypt the webhook signing secret, for signature checks only."""
        if not self.webhook_secret_encrypted:
            return ""
        return crypto.decrypt(self.webhook_secret_encrypted)

    @property
    def has_api_key(self) -> bool:
        return bool(self.api_key_encrypted)

    @property
    def masked_api_key(self) -> str:
        return f"••••{self.api_key_last4}" if self.api_key_last4 else "not set"

    @property
    def masked_webhook_secret(self) -> str:
        return f"••••{self.webhook_secret_last4}" if self.webhook_secret_last4 else "not set"

    @property
    def is_runnable(self) -> bool:
        """Whether the engine may send requests for this workspace now."""
        return self.health == self.Health.ACTIVE and self.has_api_key

    @property
    def rate_limit_key(self) -> str:
        """Workspaces of one Extend organisation share its limit; others have their own."""
        return f"org:{self.organization_id}" if self.organization_id else f"ws:{self.pk}"

    @property
    def applied_write_limit(self) -> int:
        """DELETEs per second that apply: the organisation's, or this workspace's own."""
        org = self.organization
        return org.write_rate_limit if org is not None else self.rate_limit

    @property
    def applied_get_limit(self) -> int:
        """GETs per second that apply: the organisation's, or this workspace's own."""
        org = self.organization
        return org.get_rate_limit if org is not None else self.get_rate_limit


class RateLimitSlot(models.Model):
    """The embedded default's shared rate limiter: the next free send time per limiter key.

    With Redis configured, the same state lives in Redis instead (see
    deletions.workspaces.ratelimit).
    """

    key = models.CharField(max_length=120, unique=True)
    next_free = models.FloatField(default=0.0, help_text="Unix time of the next free slot.")

    def __str__(self) -> str:
        return self.key


class RunnerLease(models.Model):
    """Which runner works a workspace now. Kept alive by the runner's heartbeat; when it lapses
    (the worker died), another worker takes the workspace over and re-examines its in-flight
    items at once."""

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="+")
    owner = models.CharField(max_length=100, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"runner of workspace {self.workspace_id}: {self.owner or 'none'}"
