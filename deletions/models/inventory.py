"""The parse-run inventory, its sync state and the webhook events that feed it."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from deletions.models.accounts import Customer
from deletions.models.workspaces import Workspace


class ParseRun(models.Model):
    """One parse run known to exist (or to have existed) at Extend.

    Deleted runs stay as tombstones pointing at the request that deleted them, keeping only what
    the proof of the erasure needs (deletions.requests.tombstones): no file name, no metadata,
    the data subject's reference as a keyed hash only, the file id. ``open_request``
    is set while the run is part of an unfinished request: the conditional update that sets it is
    what stops a run from being put into two open requests at once.
    """

    class State(models.TextChoices):
        PRESENT = "present", "Present"
        DELETED = "deleted", "Deleted"
        VANISHED = "vanished", "Gone at Extend (deleted outside the portal)"

    # No index of their own on workspace, customer and open_request: the composite indexes
    # below start with each (and parserun_open_request is open_request's), and every index is
    # written again when a request claims 100,000 runs.
    workspace = models.ForeignKey(
        Workspace, on_delete=models.PROTECT, related_name="parse_runs", db_index=False
    )
    run_id = models.CharField(max_length=255)
    customer = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="parse_runs",
        db_index=False,
    )
    file_name = models.CharField(max_length=1024, blank=True)
    # The uploaded file the run processed (Extend's ``file.id``), "" while unknown or when Extend
    # names none. Several runs may share a file, which may be erased only when no present run
    # still uses it (deletions.inventory.files). An opaque id, not personal data: tombstones
    # keep it, as the proof of the file's erasure names it.
    file_id = models.CharField(max_length=255, blank=True, default="", db_default="")
    extend_status = models.CharField(max_length=20, blank=True)
    extend_created_at = models.DateTimeField(null=True, blank=True)
    # When the run reached PROCESSED, for "N hours after processing" retention policies: Extend's
    # updatedAt when the portal first saw it processed, or the moment a webhook said so. Set
    # once (deletions.inventory.runs); null while it is not processed.
    processed_at = models.DateTimeField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PRESENT)
    open_request = models.ForeignKey(
        "DeletionRequest",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    deleted_by_request = models.ForeignKey(
        "DeletionRequest",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tombstones",
    )
    deleted_at = models.DateTimeField(null=True, blank=True)
    # A tombstone's data-subject reference (GDPR_SUBJECT_METADATA_KEY), as the keyed hash that
    # DeletionRequest.subject_ref_hash also stores; set when the run is deleted.
    subject_ref_hash = models.CharField(max_length=64, blank=True, default="", db_default="")
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
            models.Index(
                fields=["customer", "state", "processed_at", "id"],
                name="parserun_cust_processed",
                condition=Q(processed_at__isnull=False),
            ),
            models.Index(fields=["open_request"], name="parserun_open_request"),
            # "Which runs of this workspace use these files" (deletions.inventory.files), state
            # last so counting the present ones reads the index alone. Runs without a file
            # (most of a workspace before its first sync since file ids exist) are left out.
            models.Index(
                fields=["workspace", "file_id", "state"],
                name="parserun_ws_file",
                condition=~Q(file_id=""),
            ),
            models.Index(
                fields=["workspace", "last_seen_at"],
                name="parserun_unassigned",
                condition=Q(customer__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return self.run_id


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
