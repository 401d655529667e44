"""Customers, their users' memberships and service accounts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils import timezone

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User


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
    time_zone = models.CharField(
        max_length=64,
        default="",
        blank=True,
        help_text="The customer's time zone (IANA name, e.g. Europe/Paris): retention policies "
        "are evaluated at RETENTION_POLICY_EVALUATION_HOUR there. Blank: the portal's own.",
    )
    erase_files_default = models.BooleanField(
        default=False,
        db_default=False,
        help_text="Whether a new request for selected or filtered runs erases their uploaded "
        "files too, unless the requester chooses otherwise. GDPR requests and requests for all "
        "runs erase them whatever this says.",
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
    eyes it is that person (:func:`deletions.accounts.roles.person_behind`).
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


# Who a signed-in user is on the customer side; roles re-exports these for every caller.


def membership_of(user: User | AnonymousUser) -> Membership | None:
    """The user's customer membership, or None for staff and anonymous users."""
    if not user.is_authenticated:
        return None
    try:
        return user.membership
    except Membership.DoesNotExist:
        return None


def customer_of(user: User | AnonymousUser) -> Customer | None:
    membership = membership_of(user)
    return membership.customer if membership else None


def service_account_of(user: User | AnonymousUser) -> ServiceAccount | None:
    """The service account *user* is, or None for a person (and anonymous users)."""
    if not user.is_authenticated:
        return None
    try:
        return user.service_account
    except ServiceAccount.DoesNotExist:
        return None
