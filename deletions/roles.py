"""Staff roles (Django groups) and the customer-side helpers every view uses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from deletions.models import Customer, Membership, ServiceAccount

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

VIEWER = "viewer"
APPROVER = "approver"
ADMIN = "admin"
STAFF_GROUPS = (VIEWER, APPROVER, ADMIN)
VIEW_PERMISSION = "deletions.view_console"


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


def is_staff_user(user: User | AnonymousUser) -> bool:
    """Operator staff: anyone who may view the console."""
    return bool(user.is_authenticated and user.has_perm(VIEW_PERMISSION))


def service_account_of(user: User | AnonymousUser) -> ServiceAccount | None:
    """The service account *user* is, or None for a person (and anonymous users)."""
    if not user.is_authenticated:
        return None
    try:
        return user.service_account
    except ServiceAccount.DoesNotExist:
        return None


def person_behind(user: User) -> User:
    """The person accountable for what *user* does: *user* itself, or for a service account the
    person who created it (and alone issues its tokens).

    Every four-eyes comparison goes through this, so that one person cannot be both sides by
    acting once in person and once through a service account.
    """
    account = service_account_of(user)
    return account.issued_by if account is not None else user


def same_person(a: User | None, b: User | None) -> bool:
    """Whether the same person stands behind *a* and *b* (None is nobody: never the same)."""
    if a is None or b is None:
        return False
    return person_behind(a).pk == person_behind(b).pk
