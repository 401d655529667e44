"""The domain: workspaces, customers, the parse-run inventory, deletion requests and their audit.

State changes of requests and items go through :mod:`deletions.transitions`; nothing else sets
``status``. Secrets are stored encrypted (:mod:`deletions.crypto`) and only their last four
characters are kept in clear, for display.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from deletions import crypto
from deletions.extend_client import DEFAULT_API_VERSION, EU1_BASE_URL, US2_BASE_URL, US_BASE_URL
from deletions.fields import EncryptedTextField
from deletions.grounds import RefusalGround


class Source(models.TextChoices):
    """Where an action came from; every audit record carries one."""

    WEB = "web", "Web"
    API = "api", "API"
    ADMIN = "admin", "Django admin"
    PUBLIC = "public", "Public form"
    WORKER = "worker", "Worker"
    SYSTEM = "system", "System"
    CLI = "cli", "Command line"


class Organization(models.Model):
    """An Extend organisation. Extend's rate limits are per organisation and category, so every
    call of every workspace in it shares these limits (see :mod:`deletions.ratelimit`)."""

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


class Customer(models.Model):
    """A downstream customer (tenant) of the operator."""

    name = models.CharField(max_length=200)
    external_ref = models.CharField(
        max_length=255,
        unique=True,
        help_text="The value parse runs carry under the workspace's customer metadata key.",
    )
    slug = models.SlugField(
        max_length=80, unique=True, help_text="Used in the customer's public erasure-request URL."
    )
    is_active = models.BooleanField(default=True)
    cooling_off_hours = models.PositiveIntegerField(
        default=0,
        help_text="Hours an approved request waits before anything is sent to Extend; it can "
        "still be cancelled during that time.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's place inside one customer. Staff users have no membership."""

    class Role(models.TextChoices):
        MEMBER = "member", "Member"
        ADMIN = "admin", "Customer admin"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership"
    )
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.user} @ {self.customer} ({self.role})"

    @property
    def is_customer_admin(self) -> bool:
        return self.role == self.Role.ADMIN


class ServiceAccount(models.Model):
    """A named, non-login user that programs act as: of one customer, or of the operator.

    Its user has an unusable password and no e-mail, so nobody signs in as it; it only acts
    through API tokens, and only the person who created it (``issued_by``) issues them. For four
    eyes it is that person (:func:`deletions.roles.person_behind`).
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="service_account"
    )
    # None: an operator service account (it may read what staff read, and do nothing else).
    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="service_accounts",
    )
    name = models.CharField(max_length=100)
    # PROTECT: the person behind a service account's actions must never become unknown.
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="service_accounts_issued"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} (service account of {self.customer or 'the operator'})"


class ParseRun(models.Model):
    """One parse run known to exist (or to have existed) at Extend.

    Deleted runs stay as tombstones pointing at the request that deleted them. ``open_request``
    is set while the run is part of an unfinished request: the conditional update that sets it is
    what stops a run from being put into two open requests at once.
    """

    class State(models.TextChoices):
        PRESENT = "present", "Present"
        DELETED = "deleted", "Deleted"
        VANISHED = "vanished", "Gone at Extend (deleted outside the portal)"

    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="parse_runs")
    run_id = models.CharField(max_length=255)
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="parse_runs"
    )
    file_name = models.CharField(max_length=1024, blank=True)
    extend_status = models.CharField(max_length=20, blank=True)
    extend_created_at = models.DateTimeField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PRESENT)
    open_request = models.ForeignKey(
        "DeletionRequest",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    deleted_by_request = models.ForeignKey(
        "DeletionRequest",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tombstones",
    )
    deleted_at = models.DateTimeField(null=True, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "run_id"], name="parserun_unique_per_ws"),
        ]
        indexes = [
            # The customer's table: newest first, filtered by state.
            models.Index(
                fields=["customer", "state", "-extend_created_at", "-id"], name="parserun_cust_list"
            ),
            models.Index(fields=["customer", "run_id"], name="parserun_cust_runid"),
            models.Index(fields=["open_request"], name="parserun_open_request"),
            models.Index(
                fields=["workspace", "last_seen_at"],
                name="parserun_unassigned",
                condition=Q(customer__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return self.run_id


class DeletionRequest(models.Model):
    """A request to delete a frozen set of parse runs, with its lifecycle and approvals."""

    class Status(models.TextChoices):
        AWAITING_VERIFICATION = "awaiting_verification", "Awaiting verification"
        PENDING_APPROVAL = "pending_approval", "Pending approval"
        APPROVED = "approved", "Approved"
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        COMPLETED = "completed", "Completed"
        COMPLETED_WITH_FAILURES = "completed_with_failures", "Completed with failures"
        REJECTED = "rejected", "Rejected"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Expired (never verified)"

    class Kind(models.TextChoices):
        STANDARD = "standard", "Standard"
        GDPR = "gdpr", "GDPR erasure (Art. 17)"

    class Scope(models.TextChoices):
        EXPLICIT = "explicit", "Selected runs"
        ALL = "all", "All runs"
        FILTER = "filter", "Runs matching a filter"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="requests")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="deletion_requests",
    )
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.WEB)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.STANDARD)
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.EXPLICIT)
    scope_filter = models.JSONField(
        default=dict, blank=True, help_text="The filter as submitted, for the record."
    )
    reason = models.TextField()
    status = models.CharField(
        max_length=30, choices=Status.choices, default=Status.PENDING_APPROVAL, db_index=True
    )
    required_approvals = models.PositiveSmallIntegerField(default=1)
    decision_comment = models.TextField(blank=True, help_text="The reason given on rejection.")
    # A rejected GDPR request's Art. 17(3) ground (deletions.grounds); empty for standard ones.
    refusal_ground = models.CharField(
        max_length=30, choices=RefusalGround.choices, blank=True, default=""
    )

    # Frozen size and terminal counters, kept current by the item transitions so progress
    # never needs a COUNT over the items.
    item_count = models.PositiveIntegerField(default=0)
    deleted_count = models.PositiveIntegerField(default=0)
    already_gone_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    held_count = models.PositiveIntegerField(default=0)
    # End of the customer's cooling-off window: nothing is sent to Extend before this.
    execute_after = models.DateTimeField(null=True, blank=True)

    # GDPR: day one, the statutory due date, and the pseudonymised data-subject reference.
    received_on = models.DateField(null=True, blank=True)
    due_on = models.DateField(null=True, blank=True, db_index=True)
    subject_ref_hash = models.CharField(max_length=64, blank=True)
    subject_ref_hint = models.CharField(max_length=16, blank=True)
    # GDPR Art. 12(3) extension (deletions.gdpr.extend_deadline) and the retention purge.
    extended_due_on = models.DateField(null=True, blank=True)
    extension_reason = models.TextField(blank=True)
    extended_at = models.DateTimeField(null=True, blank=True)
    # Deadline paused while waiting on the data subject (deletions.gdpr.pause_deadline): the
    # due dates above move by the paused days when it resumes; the total is kept here.
    deadline_paused_at = models.DateTimeField(null=True, blank=True)
    deadline_pause_reason = models.TextField(blank=True)
    deadline_paused_days = models.PositiveIntegerField(default=0)
    records_purged_at = models.DateTimeField(null=True, blank=True)

    submitted_at = models.DateTimeField(default=timezone.now)
    approved_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    OPEN_STATUSES = frozenset(
        {
            Status.AWAITING_VERIFICATION,
            Status.PENDING_APPROVAL,
            Status.APPROVED,
            Status.RUNNING,
            Status.PAUSED,
        }
    )
    FINAL_STATUSES = frozenset(
        {
            Status.COMPLETED,
            Status.COMPLETED_WITH_FAILURES,
            Status.REJECTED,
            Status.CANCELLED,
            Status.EXPIRED,
        }
    )
    CANCELLABLE_STATUSES = frozenset(
        {Status.AWAITING_VERIFICATION, Status.PENDING_APPROVAL, Status.APPROVED}
    )

    class Meta:
        ordering = ["-submitted_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-submitted_at"], name="request_customer_recent"),
            models.Index(fields=["status", "due_on", "submitted_at"], name="request_queue"),
        ]
        permissions = [
            ("view_console", "Can view the staff console"),
            ("approve_request", "Can approve or reject deletion requests"),
            ("operate_engine", "Can pause, resume and retry deletion work"),
            ("administer_portal", "Can manage workspaces, customers and users"),
        ]

    def __str__(self) -> str:
        return f"Request #{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def effective_due_on(self) -> date | None:
        """The GDPR due date in force: the extended one if the deadline was extended."""
        return self.extended_due_on or self.due_on

    @property
    def done_count(self) -> int:
        """Items in a terminal state."""
        return self.deleted_count + self.already_gone_count + self.failed_count

    @property
    def remaining_count(self) -> int:
        """Items still to be worked on; items on legal hold wait outside this count."""
        return max(self.item_count - self.done_count - self.held_count, 0)

    @property
    def progress_percent(self) -> int:
        if not self.item_count:
            return 100
        return int(100 * self.done_count / self.item_count)


class DeletionItem(models.Model):
    """One parse run inside a request, with its own lifecycle and retry schedule."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        IN_FLIGHT = "in_flight", "In flight"
        # Extend answered 404 to the portal's first DELETE: evidence that the run is gone, not
        # proof. It waits here until the workspace is shown healthy around it (then already
        # gone) or its credentials change (then it is sent again). Never counted as done.
        UNCONFIRMED = "unconfirmed", "Not found, awaiting proof"
        DELETED = "deleted", "Deleted"
        ALREADY_GONE = "already_gone", "Already gone"
        FAILED = "failed", "Failed"
        HELD = "held", "On legal hold"

    TERMINAL_STATUSES = frozenset({Status.DELETED, Status.ALREADY_GONE, Status.FAILED})

    request = models.ForeignKey(DeletionRequest, on_delete=models.CASCADE, related_name="items")
    parse_run = models.ForeignKey(ParseRun, on_delete=models.PROTECT, related_name="items")
    # Copied from the run at submission: the engine claims work per workspace without a join.
    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=15, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # NULL until the request starts running; then when the item may next be tried.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    last_http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_request_id = models.CharField(max_length=100, blank=True)
    # Written by each claim: every later change of an in-flight item names it, so a runner whose
    # claim was taken over cannot complete, reschedule or hold what another runner now owns.
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    # The workspace's credentials_version the claim was made under.
    claim_version = models.PositiveIntegerField(null=True, blank=True, editable=False)
    # Deleted, but the answer to the portal's DELETE was lost: Extend answered 404 to a retry
    # after a DELETE of ours may have reached it. Receipts and certificates say so.
    answer_lost = models.BooleanField(default=False, db_default=False)
    # When an unconfirmed item's 404 came, and under which credentials version.
    unconfirmed_at = models.DateTimeField(null=True, blank=True)
    # Verification: GETs that still found the run, and when the next verification is due (a
    # deleted item whose verification could not run yet).
    verify_failures = models.PositiveSmallIntegerField(default=0, db_default=0)
    verify_due_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(
        null=True, blank=True, help_text="When Extend answered 2xx or 404 for the delete."
    )
    verified_at = models.DateTimeField(
        null=True, blank=True, help_text="When a follow-up GET confirmed the run answers 404."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["request", "parse_run"], name="item_unique_run"),
        ]
        indexes = [
            models.Index(fields=["request", "status", "id"], name="item_request_status"),
            # The engine's claim query: a workspace's due pending items.
            models.Index(
                fields=["workspace", "next_attempt_at"],
                name="item_due",
                condition=Q(status="pending", next_attempt_at__isnull=False),
            ),
            models.Index(
                fields=["lease_expires_at"], name="item_lease", condition=Q(status="in_flight")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.parse_run_id} in #{self.request_id}"


class DeletionAttempt(models.Model):
    """One call to Extend for one item: the item's own append-only history.

    A DELETE's row is written by the gate *before* the call is sent (outcome ``sending``, the
    outbox record) and completed with Extend's answer; a row still ``sending`` is a DELETE that
    may have reached Extend without its answer coming back.
    """

    SENDING = "sending"

    class Kind(models.TextChoices):
        DELETE = "delete", "DELETE"
        VERIFY = "verify", "Verification GET"

    item = models.ForeignKey(DeletionItem, on_delete=models.CASCADE, related_name="attempts_log")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.DELETE)
    started_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(default=0)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=30)
    extend_request_id = models.CharField(max_length=100, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["item", "started_at"], name="attempt_item_time")]

    def __str__(self) -> str:
        return f"{self.kind} {self.http_status or self.outcome} for item {self.item_id}"


class Approval(models.Model):
    """One staff decision on a request."""

    class Decision(models.TextChoices):
        APPROVE = "approve", "Approved"
        REJECT = "reject", "Rejected"

    request = models.ForeignKey(DeletionRequest, on_delete=models.CASCADE, related_name="approvals")
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="approvals"
    )
    decision = models.CharField(max_length=10, choices=Decision.choices)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["request", "approver"], name="approval_once_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.approver} {self.decision} #{self.request_id}"


class LegalHold(models.Model):
    """Runs that must not be deleted (GDPR Art. 17(3) exceptions, litigation, retention duty).

    A hold covers a whole customer, a whole workspace, or listed runs. While it is active, the
    engine never deletes a run it covers: those items wait as ``held`` until it is lifted or ends.
    """

    class Scope(models.TextChoices):
        CUSTOMER = "customer", "A customer"
        WORKSPACE = "workspace", "A workspace"
        RUNS = "runs", "Listed parse runs"

    scope = models.CharField(max_length=10, choices=Scope.choices)
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="legal_holds"
    )
    workspace = models.ForeignKey(
        Workspace, on_delete=models.PROTECT, null=True, blank=True, related_name="legal_holds"
    )
    runs = models.ManyToManyField(ParseRun, blank=True, related_name="legal_holds")
    reason = models.TextField(help_text="Shown to staff; customers see a neutral notice.")
    reference = models.CharField(max_length=200, help_text="Case or matter reference.")
    ends_on = models.DateField(null=True, blank=True, help_text="Lifts itself after this day.")
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    placed_at = models.DateTimeField(default=timezone.now)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    lifted_at = models.DateTimeField(null=True, blank=True)
    lift_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-placed_at"]
        indexes = [models.Index(fields=["lifted_at", "ends_on"], name="hold_active")]

    def __str__(self) -> str:
        return f"Hold {self.reference} on {self.get_scope_display().lower()}"

    @property
    def is_active(self) -> bool:
        return self.lifted_at is None and (
            self.ends_on is None or self.ends_on >= timezone.localdate()
        )


class RateLimitSlot(models.Model):
    """The embedded default's shared rate limiter: the next free send time per limiter key.

    With Redis configured, the same state lives in Redis instead (see deletions.ratelimit).
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


class OwnershipConflict(models.Model):
    """Extend (a sync or webhook) named another customer for a run while an open request holds
    it. Ownership is frozen while the request is open: the change waits here, is shown to staff
    on the run and the request, and is applied when the request ends."""

    parse_run = models.ForeignKey(ParseRun, on_delete=models.CASCADE, related_name="conflicts")
    request = models.ForeignKey(
        "DeletionRequest", on_delete=models.CASCADE, related_name="ownership_conflicts"
    )
    current_customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    observed_customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Seen(models.TextChoices):
        SYNC = "sync", "Inventory sync"
        WEBHOOK = "webhook", "Extend webhook"

    source = models.CharField(max_length=10, choices=Seen.choices)
    seen_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-seen_at"]
        indexes = [
            models.Index(
                fields=["request"], name="conflict_open", condition=Q(resolved_at__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return f"ownership conflict on run {self.parse_run_id} in #{self.request_id}"


class AuditEvent(models.Model):
    """An append-only record of a state change or privileged action.

    The database refuses UPDATE and DELETE on this table (a trigger, see the migrations). The
    actor is kept both as an id without a foreign-key constraint (so the row never has to change
    when a user is deleted) and as a label captured at the time.
    """

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_label = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices)
    action = models.CharField(max_length=60, db_index=True)
    object_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=64)
    request = models.ForeignKey(
        DeletionRequest,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="audit_events",
    )
    customer = models.ForeignKey(
        Customer,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    # The address a signed-in actor's request came from (through the trusted proxies); empty for
    # workers, the command line and anonymous data subjects.
    client_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["request", "at"], name="audit_request_time"),
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError("Audit events are append-only.")


class WorkspaceSync(models.Model):
    """Where the inventory sync of one workspace stands: resumable from ``page_token``.

    A worker holds the sync while ``lease_expires_at`` is in the future and renews it after
    each page; an expired lease means the worker died (or stopped at its time budget), and the
    next run resumes from the saved token with the same ``started_at``.
    """

    class Status(models.TextChoices):
        IDLE = "idle", "Idle"
        RUNNING = "running", "Running"
        FAILED = "failed", "Failed"
        COMPLETED = "completed", "Completed"

    class Mode(models.TextChoices):
        FULL = "full", "Full"
        INCREMENTAL = "incremental", "New runs only"

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="sync")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.IDLE)
    mode = models.CharField(max_length=12, choices=Mode.choices, default=Mode.FULL)
    page_token = models.TextField(blank=True)
    pages_done = models.PositiveIntegerField(default=0)
    runs_seen = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_result = models.JSONField(default=dict, blank=True)
    last_full_sync_at = models.DateTimeField(
        null=True, blank=True, help_text="When the last full sync completed."
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"sync of {self.workspace_id}: {self.status}"


class WebhookEvent(models.Model):
    """One webhook delivery from Extend, kept to deduplicate by ``eventId``.

    Only what identifies the event is stored, never document contents. ``data_url`` holds a
    ``signed_data_url`` payload's address until a worker has fetched it.
    """

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored (unknown event type)"
        FAILED = "failed", "Failed"

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="webhook_events"
    )
    event_id = models.CharField(max_length=255)
    event_type = models.CharField(max_length=100)
    run_id = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    data_url = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "event_id"], name="webhook_event_once"),
        ]
        indexes = [
            models.Index(
                fields=["received_at"], name="webhook_unprocessed", condition=Q(status="received")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"


def new_nonce() -> str:
    """A random value bound into an intake's verification link."""
    return uuid.uuid4().hex


class ErasureIntake(models.Model):
    """A data subject's erasure request from the public form, before it becomes a request.

    It may match no parse runs, so it is not a DeletionRequest until staff freeze a scope
    (deletions.intake.freeze_intake). The e-mail address and the subject's reference are kept as
    keyed hashes plus masked hints; their clear values are kept only encrypted, only while they
    are needed (the address for the notices, the reference until the scope is frozen), and are
    erased when the intake is converted, dismissed or expires.
    """

    class Status(models.TextChoices):
        AWAITING_VERIFICATION = "awaiting_verification", "Awaiting e-mail verification"
        VERIFIED = "verified", "Verified"
        CONVERTED = "converted", "Turned into a request"
        DISMISSED = "dismissed", "Dismissed"
        EXPIRED = "expired", "Expired (never verified)"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="intakes")
    email_hash = models.CharField(max_length=64, db_index=True)
    email_hint = models.CharField(max_length=80, blank=True)
    email_encrypted = EncryptedTextField(blank=True)
    subject_ref_hash = models.CharField(max_length=64)
    subject_ref_hint = models.CharField(max_length=16, blank=True)
    subject_ref_encrypted = EncryptedTextField(blank=True)
    nonce = models.CharField(max_length=32, default=new_nonce, editable=False)
    status = models.CharField(
        max_length=25, choices=Status.choices, default=Status.AWAITING_VERIFICATION, db_index=True
    )
    received_on = models.DateField(default=timezone.localdate)
    created_at = models.DateTimeField(default=timezone.now)
    verified_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    staff_note = models.TextField(blank=True)
    request = models.OneToOneField(
        DeletionRequest,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="intake",
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Erasure intake #{self.pk}"


class Certificate(models.Model):
    """One version of a request's certificate of erasure: the canonical JSON and its HMAC, kept
    after purges.

    A request gets a new version whenever its outcome changed since the last one was issued
    (:func:`deletions.certificates.issue`). An issued document never changes, so the link to the
    version that replaced it is kept beside it (``superseded_by``), outside what the HMAC covers;
    the successor's own document names the version it supersedes.
    """

    request = models.ForeignKey(
        DeletionRequest,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="certificates",
    )
    request_number = models.PositiveBigIntegerField(db_index=True)
    version = models.PositiveIntegerField(default=1)
    issued_at = models.DateTimeField(default=timezone.now, db_index=True)
    document = models.TextField(help_text="The canonical JSON of the certificate.")
    # Ed25519 signature (unpadded base64url) of the canonical JSON and the id of the key that
    # made it; certificates issued before signatures have an HMAC instead, kept to verify them.
    signature = models.CharField(max_length=86, blank=True)
    kid = models.CharField(max_length=16, blank=True)
    hmac = models.CharField(max_length=64, blank=True)
    # What the document says happened (a digest of its outcome part), and a cheap digest of the
    # item states it was built from: an issue whose states match is answered without rebuilding.
    outcome_digest = models.CharField(max_length=64, blank=True, editable=False)
    state_stamp = models.CharField(max_length=64, blank=True, editable=False)
    superseded_by = models.OneToOneField(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="supersedes",
        editable=False,
    )

    class Meta:
        ordering = ["-issued_at", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["request_number", "version"], name="certificate_unique_version"
            ),
        ]

    def __str__(self) -> str:
        return f"Certificate for request #{self.request_number}, version {self.version}"


class CertificateKey(models.Model):
    """An Ed25519 public key that has signed certificates of erasure, recorded the first time it
    signs and never deleted: after the signing key is rotated, the certificates the old key
    signed still verify, and its public key stays published as retired
    (:mod:`deletions.certificate_keys`)."""

    kid = models.CharField(max_length=16, unique=True)
    public_key = models.CharField(max_length=43, help_text="Raw 32 bytes, unpadded base64url.")
    first_used_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["first_used_at", "id"]

    def __str__(self) -> str:
        return f"Certificate key {self.kid}"


# The API's models live with the API; importing them here makes them the deletions app's.
from deletions.api.models import ApiToken as ApiToken  # noqa: E402
from deletions.api.models import IdempotencyKey as IdempotencyKey  # noqa: E402
from deletions.api.models import NotificationDelivery as NotificationDelivery  # noqa: E402
from deletions.api.models import NotificationEndpoint as NotificationEndpoint  # noqa: E402
