"""The public erasure form's intakes and the certificates of erasure."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from deletions.core.fields import EncryptedTextField
from deletions.models.accounts import Customer
from deletions.models.requests import DeletionRequest


def new_nonce() -> str:
    """A random value bound into an intake's verification link."""
    return uuid.uuid4().hex


class ErasureIntake(models.Model):
    """A data subject's erasure request from the public form, before it becomes a request.

    It may match no parse runs, so it is not a DeletionRequest until staff freeze a scope
    (deletions.gdpr.intake.freeze_intake). The e-mail address and the subject's reference are kept
    as keyed hashes plus masked hints; their clear values are kept only encrypted, only while they
    are needed (the address for the notices, the reference until the scope is frozen), and are
    erased when the intake is converted, dismissed or expires.
    """

    class Status(models.TextChoices):
        AWAITING_VERIFICATION = "awaiting_verification", "Awaiting e-mail verification"
        # The address is the subject's; the customer (the controller) has yet to confirm that
        # the person is its data subject (deletions.gdpr.controller).
        VERIFIED = "verified", "Verified, awaiting the customer"
        CONFIRMED = "confirmed", "Confirmed by the customer"
        REFUSED = "refused", "Refused by the customer"
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
    # The controller's decision: who confirmed or refused, when, and why; a staff member may
    # confirm on the customer's behalf (``decided_on_behalf``), always with a reason.
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_on_behalf = models.BooleanField(default=False)
    decision_reason = models.TextField(blank=True)
    # Art. 19: "tell me who my data was disclosed to", ticked on the public form.
    wants_recipients = models.BooleanField(default=False)
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
    """One version of a request's certificate of erasure: the canonical JSON and its signature
    (Ed25519; an HMAC for those issued before signatures), kept after purges.

    A request gets a new version whenever its outcome changed since the last one was issued
    (:func:`deletions.gdpr.certificates.issue`). An issued document never changes, so the link to
    the version that replaced it is kept beside it (``superseded_by``), outside what the HMAC
    covers; the successor's own document names the version it supersedes.
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
    (:mod:`deletions.gdpr.certificate_keys`)."""

    kid = models.CharField(max_length=16, unique=True)
    public_key = models.CharField(max_length=43, help_text="Raw 32 bytes, unpadded base64url.")
    first_used_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["first_used_at", "id"]

    def __str__(self) -> str:
        return f"Certificate key {self.kid}"
