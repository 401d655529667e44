"""The uploaded files a request erases with its runs, and each call made for them.

A parse run points at the file uploaded to Extend; deleting the run is not documented to delete
the file (EXTEND_API.md, "Files"). A request that erases files lists, when it is submitted, every
file its runs use (one :class:`FileErasure` per workspace and file id). Each waits until the
request's runs are done, then is deleted through the same engine as a run (gate, holds, limiter,
evidence rule, strict answers, verification), unless something still needs it: then it is
*kept*, and the receipt says why.

The field names follow :class:`~deletions.models.requests.DeletionItem` on purpose: the engine's
claim, outcome and verification code moves either through the same conditional updates.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from deletions.models.requests import DeletionRequest
from deletions.models.workspaces import Workspace


class FileErasure(models.Model):
    """One uploaded file of a request's runs, erased after them unless something else needs it."""

    class Status(models.TextChoices):
        # Until every run of the request that uses it is done.
        WAITING = "waiting", "Waiting for its runs"
        PENDING = "pending", "Pending"
        IN_FLIGHT = "in_flight", "In flight"
        # A 404 to the first DELETE: evidence, not proof (as for a run).
        UNCONFIRMED = "unconfirmed", "Not found, awaiting proof"
        DELETED = "deleted", "Deleted"
        ALREADY_GONE = "already_gone", "Already gone"
        FAILED = "failed", "Failed"
        # Not deleted, on purpose: see ``kept_reason``.
        KEPT = "kept", "Kept"

    class KeptReason(models.TextChoices):
        SHARED = "shared", "Still used by runs not in this request"
        RUN_HELD = "run_held", "A run using it is on legal hold"
        RUN_NOT_DELETED = "run_not_deleted", "A run using it could not be deleted"
        REQUEST_ENDED = "request_ended", "The request ended before the file's turn"

    # Statuses in which the file still has work ahead of it.
    OPEN_STATUSES = frozenset(
        {Status.WAITING, Status.PENDING, Status.IN_FLIGHT, Status.UNCONFIRMED}
    )
    ERASED_STATUSES = frozenset({Status.DELETED, Status.ALREADY_GONE})

    request = models.ForeignKey(DeletionRequest, on_delete=models.CASCADE, related_name="files")
    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="+")
    file_id = models.CharField(max_length=255)
    # Runs of the request that use the file (frozen at submission).
    run_count = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=15, choices=Status.choices, default=Status.WAITING)
    kept_reason = models.CharField(
        max_length=20, choices=KeptReason.choices, blank=True, default=""
    )
    # For a file kept because it is shared: the present runs outside the request using it, as
    # the gate counted them right before the DELETE would have gone.
    used_outside = models.PositiveIntegerField(null=True, blank=True)

    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    last_http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_request_id = models.CharField(max_length=100, blank=True)
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    claim_version = models.PositiveIntegerField(null=True, blank=True, editable=False)
    answer_lost = models.BooleanField(default=False)
    unconfirmed_at = models.DateTimeField(null=True, blank=True)
    verify_failures = models.PositiveSmallIntegerField(default=0)
    verify_due_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "workspace", "file_id"], name="file_erasure_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["request", "status"], name="file_erasure_request"),
            models.Index(
                fields=["workspace", "next_attempt_at"],
                name="file_erasure_due",
                condition=Q(status="pending", next_attempt_at__isnull=False),
            ),
            models.Index(
                fields=["lease_expires_at"],
                name="file_erasure_lease",
                condition=Q(status="in_flight"),
            ),
        ]

    def __str__(self) -> str:
        return f"file {self.file_id} in #{self.request_id}"

    @property
    def is_erased(self) -> bool:
        return self.status in self.ERASED_STATUSES

    @property
    def kept_why(self) -> str:
        """Why the file was kept, in the receipt's words."""
        if self.kept_reason == self.KeptReason.SHARED and self.used_outside:
            runs = "run" if self.used_outside == 1 else "runs"
            return f"Still used by {self.used_outside} {runs} not in this request"
        return self.get_kept_reason_display() if self.kept_reason else ""


class FileAttempt(models.Model):
    """One call to Extend for one file: its append-only history (an outbox row for a DELETE,
    written before it is sent, as for a run)."""

    SENDING = "sending"

    class Kind(models.TextChoices):
        DELETE = "delete", "DELETE"
        VERIFY = "verify", "Verification GET"

    # Named like DeletionAttempt.item: the outcome handlers read ``attempt.item`` of either.
    item = models.ForeignKey(FileErasure, on_delete=models.CASCADE, related_name="attempts_log")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.DELETE)
    started_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(default=0)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=30)
    extend_request_id = models.CharField(max_length=100, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["item", "started_at"], name="file_attempt_item_time")]

    def __str__(self) -> str:
        return f"{self.kind} {self.http_status or self.outcome} for file erasure {self.item_id}"
