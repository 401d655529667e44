"""Customers' notification URLs and the deliveries of signed POSTs to them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models
from django.utils import timezone

from deletions.core import crypto
from deletions.core.fields import EncryptedTextField

if TYPE_CHECKING:
    pass


class NotificationEndpoint(models.Model):
    """Where a customer wants signed POSTs about their requests' state changes."""

    customer = models.OneToOneField(
        "deletions.Customer", on_delete=models.CASCADE, related_name="notification_endpoint"
    )
    url = models.URLField(max_length=500)
    secret_encrypted = EncryptedTextField(editable=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.customer} → {self.url}"

    def set_secret(self, raw: str) -> None:
        self.secret_encrypted = crypto.encrypt(raw)

    def reveal_secret(self) -> str:
        """Decrypt the signing secret, to sign a delivery only."""
        return crypto.decrypt(self.secret_encrypted)


class NotificationDelivery(models.Model):
    """One notification and its delivery attempts; the beat task retries it with backoff."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Gave up"

    endpoint = models.ForeignKey(
        NotificationEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    request = models.ForeignKey(
        "deletions.DeletionRequest",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    event = models.CharField(max_length=60)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="notification_due",
                condition=models.Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} #{self.pk} ({self.status})"
