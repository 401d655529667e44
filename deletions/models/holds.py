"""Legal holds."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from deletions.models.accounts import Customer
from deletions.models.inventory import ParseRun
from deletions.models.workspaces import Workspace


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
