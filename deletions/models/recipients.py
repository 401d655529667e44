"""Art. 19 recipients: who a customer's data was disclosed to, and, per GDPR erasure, when and
how each was told of it.

Extend, the operator's processor, is a recipient of every customer's data: it is not a row here
but shown by the pages and listed by :mod:`deletions.gdpr.recipients`, so staff cannot forget
or remove it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from deletions.models.accounts import Customer
from deletions.models.requests import DeletionRequest


class Recipient(models.Model):
    """A recipient the customer's data was disclosed to (GDPR Art. 19), kept by staff."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="recipients")
    name = models.CharField(max_length=200)
    contact = models.CharField(max_length=254, help_text="Who to write to there.")
    means = models.CharField(
        max_length=200,
        help_text='How they are informed of an erasure, e.g. an e-mail address or "contract '
        'portal".',
    )
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "name"], name="recipient_unique_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name} (recipient of {self.customer_id})"


class RecipientNotice(models.Model):
    """That one recipient was informed of one GDPR erasure: the date and the means.

    The recipient's name is copied, so the record still says who was told after the recipient
    is removed from the customer's list."""

    request = models.ForeignKey(
        DeletionRequest, on_delete=models.CASCADE, related_name="recipient_notices"
    )
    recipient = models.ForeignKey(
        Recipient, on_delete=models.SET_NULL, null=True, blank=True, related_name="notices"
    )
    recipient_name = models.CharField(max_length=200)
    informed_on = models.DateField()
    means = models.CharField(max_length=200)
    recorded_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["recipient_name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "recipient"], name="recipient_notice_once_per_request"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.recipient_name} informed of request #{self.request_id}"
