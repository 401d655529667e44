"""Staff roles (Django groups) and the customer-side helpers every view uses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from deletions.models import Customer, Membership

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

VIEWER = "viewer"
APPROVER = "approver"
ADMIN = "admin"
STAFF_GROUPS = (VIEWER, APPROVER, ADMIN)


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
    return bool(user.is_authenticated and user.has_perm("deletions.view_console"))
