"""Retention policies: a customer's standing rule for which of its parse runs expire, the
approvals that let it act, the runs exempted from it, each evaluation's record, and the
console's switch that stops every policy at once."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from deletions.models.accounts import Customer
from deletions.models.inventory import ParseRun
from deletions.models.workspaces import Workspace


class RetentionPolicy(models.Model):
    """Which of one customer's runs expire: those older than N days (by Extend's creation time),
    or those processed more than N hours ago, optionally narrowed to workspaces and a filter.

    It acts only while ``active``: approved, under the same rules as a request, for its current
    ``version`` of the selection. Changing what it selects bumps the version and sends it back
    for approval; pausing does not.
    """

    class Status(models.TextChoices):
        PENDING_APPROVAL = "pending_approval", "Pending approval"
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        REJECTED = "rejected", "Rejected"
        RETIRED = "retired", "Retired"

    class Basis(models.TextChoices):
        AGE = "age", "Older than N days"
        AFTER_PROCESSING = "after_processing", "N hours after processing"

    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="retention_policies"
    )
    name = models.CharField(max_length=200)
    basis = models.CharField(max_length=20, choices=Basis.choices)
    older_than_days = models.PositiveIntegerField(null=True, blank=True)
    hours_after_processed = models.PositiveIntegerField(null=True, blank=True)
    # Narrowing: none means every workspace of the customer's runs.
    workspaces = models.ManyToManyField(Workspace, blank=True, related_name="+")
    file_name_contains = models.CharField(max_length=200, blank=True, default="")
    extend_status = models.CharField(max_length=20, blank=True, default="")
    metadata_key = models.CharField(max_length=200, blank=True, default="")
    metadata_value = models.CharField(max_length=500, blank=True, default="")
    # Whether the uploaded files of the runs go too (part of the selection: changing it needs a
    # new approval).
    erase_files = models.BooleanField(default=False, db_default=False)

    reason = models.TextField(help_text="Why the runs may go: the contract or duty it follows.")
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PENDING_APPROVAL, db_index=True
    )
    # Bumped by every change of what the policy selects; approvals name the version they approve.
    version = models.PositiveIntegerField(default=1)
    required_approvals = models.PositiveSmallIntegerField(default=1)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField(default=timezone.now)
    approved_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.TextField(blank=True, help_text="The reason given on rejection.")
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    pause_reason = models.TextField(blank=True)
    # Nothing is selected before this: the customer's admins were told, RETENTION_NOTICE_DAYS
    # before, that the policy was about to act for the first time.
    first_action_at = models.DateTimeField(null=True, blank=True)
    # When that notice went out (the beat tick sends it, and again until it could be sent).
    first_notice_sent_at = models.DateTimeField(null=True, blank=True)
    next_evaluation_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_evaluated_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    OPEN_STATUSES = frozenset({Status.PENDING_APPROVAL, Status.ACTIVE, Status.PAUSED})

    class Meta:
        ordering = ["customer_id", "name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(basis="age", older_than_days__gte=1, hours_after_processed__isnull=True)
                    | Q(
                        basis="after_processing",
                        hours_after_processed__isnull=False,
                        older_than_days__isnull=True,
                    )
                ),
                name="policy_one_basis",
            ),
        ]

    def __str__(self) -> str:
        return f"Retention policy #{self.pk} {self.name}"

    @property
    def period(self) -> timedelta:
        """How long a run is kept: from its creation (age) or its processing."""
        if self.basis == self.Basis.AGE:
            return timedelta(days=self.older_than_days or 0)
        return timedelta(hours=self.hours_after_processed or 0)

    @property
    def rule_text(self) -> str:
        """The rule in a sentence, for pages, e-mails and the certificate."""
        if self.basis == self.Basis.AGE:
            days = self.older_than_days or 0
            return f"runs created more than {days:,} day{'s' if days != 1 else ''} ago"
        hours = self.hours_after_processed or 0
        if hours == 0:
            return "runs as soon as they are processed"
        return f"runs {hours:,} hour{'s' if hours != 1 else ''} after they were processed"


class PolicyApproval(models.Model):
    """One decision on one version of a policy's selection."""

    class Decision(models.TextChoices):
        APPROVE = "approve", "Approved"
        REJECT = "reject", "Rejected"

    policy = models.ForeignKey(RetentionPolicy, on_delete=models.CASCADE, related_name="approvals")
    version = models.PositiveIntegerField()
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decision = models.CharField(max_length=10, choices=Decision.choices)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "version", "approver"], name="policy_approval_once_per_user"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.approver} {self.decision} policy #{self.policy_id} v{self.version}"


class RetentionExemption(models.Model):
    """A run the customer keeps whatever its policies say, until the exemption is removed
    (removal is in the audit trail; the row goes)."""

    parse_run = models.OneToOneField(
        ParseRun, on_delete=models.CASCADE, related_name="retention_exemption"
    )
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    policy = models.ForeignKey(
        RetentionPolicy,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="exemptions",
        help_text="The policy whose notice led to the exemption, if any.",
    )
    reason = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["customer", "-created_at"], name="exemption_customer")]

    def __str__(self) -> str:
        return f"exemption of run {self.parse_run_id}"


class PolicyEvaluation(models.Model):
    """One evaluation of a policy: what it selected, what it skipped and why, and the request it
    created (none when nothing was due, or on a dry run)."""

    policy = models.ForeignKey(
        RetentionPolicy, on_delete=models.CASCADE, related_name="evaluations"
    )
    evaluated_at = models.DateTimeField(default=timezone.now)
    dry_run = models.BooleanField(default=False)
    cut_off = models.DateTimeField(help_text="Runs created (or processed) before this expired.")
    selected = models.PositiveIntegerField(default=0)
    skipped_open = models.PositiveIntegerField(default=0, help_text="In another open request.")
    skipped_held = models.PositiveIntegerField(default=0, help_text="Under a legal hold.")
    skipped_exempt = models.PositiveIntegerField(default=0)
    # Expired runs left for the next evaluation by the per-evaluation cap.
    deferred = models.PositiveIntegerField(default=0)
    request = models.ForeignKey(
        "DeletionRequest", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    noticed = models.BooleanField(
        default=False, help_text="The customer's admins were sent a large-evaluation notice."
    )

    class Meta:
        ordering = ["-evaluated_at", "-id"]
        indexes = [models.Index(fields=["policy", "-evaluated_at"], name="evaluation_recent")]

    def __str__(self) -> str:
        return f"evaluation of policy #{self.policy_id} at {self.evaluated_at:%Y-%m-%d %H:%M}"


class RetentionSwitch(models.Model):
    """The console's kill switch for every policy (one row, pk 1): while it is off, no policy
    is evaluated and the retention requests in progress are paused."""

    stopped_at = models.DateTimeField(null=True, blank=True)
    stopped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.TextField(blank=True)

    def __str__(self) -> str:
        return "retention stopped" if self.stopped_at else "retention running"

    @classmethod
    def current(cls) -> RetentionSwitch:
        """The switch as it stands; unsaved (and on) until staff first stop every policy, so
        that reading it never writes (a GET changes nothing)."""
        return cls.objects.select_related("stopped_by").filter(pk=1).first() or cls(pk=1)

    @classmethod
    def locked(cls) -> RetentionSwitch:
        """The switch's row, created if need be and locked until the transaction ends."""
        cls.objects.get_or_create(pk=1)
        return cls.objects.select_for_update().get(pk=1)
