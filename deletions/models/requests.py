"""Deletion requests, their items, attempts and approvals, and ownership conflicts waiting for a
request to end."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from deletions.models.accounts import Customer
from deletions.models.inventory import ParseRun
from deletions.models.source import Source
from deletions.models.workspaces import Workspace


class RefusalGround(models.TextChoices):
    """Why a GDPR erasure request is refused: Art. 17(3)(a)-(e), or an unverified identity."""

    FREEDOM_OF_EXPRESSION = (
        "freedom_of_expression",
        "Art. 17(3)(a): exercising the right of freedom of expression and information",
    )
    LEGAL_OBLIGATION = (
        "legal_obligation",
        "Art. 17(3)(b): a legal obligation, or a task in the public interest or in the exercise "
        "of official authority",
    )
    PUBLIC_HEALTH = (
        "public_health",
        "Art. 17(3)(c): reasons of public interest in the area of public health",
    )
    ARCHIVING_RESEARCH = (
        "archiving_research",
        "Art. 17(3)(d): archiving in the public interest, scientific or historical research, "
        "or statistics",
    )
    LEGAL_CLAIMS = (
        "legal_claims",
        "Art. 17(3)(e): the establishment, exercise or defence of legal claims",
    )
    IDENTITY_NOT_VERIFIED = (
        "identity_not_verified",
        "Identity of the data subject not verified (Art. 11(2), 12(2) and 12(6))",
    )


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
        RETENTION = "retention", "Retention policy"

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
    # Whether the uploaded files of the request's runs are erased too, after the runs, when
    # nothing else uses them (deletions.models.files).
    erase_files = models.BooleanField(default=False, db_default=False)
    # A retention request: the policy whose evaluation created it and the version of its
    # selection whose standing approval approved it (deletions.retention.evaluation).
    retention_policy = models.ForeignKey(
        "RetentionPolicy",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="requests",
    )
    policy_version = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(
        max_length=30, choices=Status.choices, default=Status.PENDING_APPROVAL, db_index=True
    )
    required_approvals = models.PositiveSmallIntegerField(default=1)
    decision_comment = models.TextField(blank=True, help_text="The reason given on rejection.")
    # A rejected GDPR request's Art. 17(3) ground (deletions.requests.grounds); empty for
    # standard ones.
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
    # GDPR Art. 12(3) extension (deletions.gdpr.deadlines.extend_deadline) and the retention purge.
    extended_due_on = models.DateField(null=True, blank=True)
    extension_reason = models.TextField(blank=True)
    extended_at = models.DateTimeField(null=True, blank=True)
    # Deadline paused while waiting on the data subject (deletions.gdpr.deadlines.pause_deadline):
    # the due dates above move by the paused days when it resumes; the total is kept here.
    deadline_paused_at = models.DateTimeField(null=True, blank=True)
    deadline_pause_reason = models.TextField(blank=True)
    deadline_paused_days = models.PositiveIntegerField(default=0)
    # Art. 19: the data subject asked (on the public form) to be told the recipients their data
    # was disclosed to; the completion notice then lists them (deletions.gdpr.recipients).
    subject_wants_recipients = models.BooleanField(default=False)
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
    # The run's file name, taken from it when it was deleted (the tombstone forgets it), for the
    # receipt and the certificate; it goes with the item when the request's records are purged.
    file_name = models.CharField(max_length=1024, blank=True, default="", db_default="")

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

    @property
    def run_file_name(self) -> str:
        """The run's file name: the item's copy once the run is deleted, else the run's own."""
        return self.file_name or self.parse_run.file_name


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
