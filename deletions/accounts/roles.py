"""Staff roles (Django groups) and the customer-side helpers every view uses."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Q

from deletions import audit
from deletions.core.errors import RuleViolation
from deletions.models import Source
from deletions.models.accounts import customer_of as customer_of
from deletions.models.accounts import membership_of as membership_of
from deletions.models.accounts import service_account_of as service_account_of

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

VIEWER = "viewer"
APPROVER = "approver"
ADMIN = "admin"
STAFF_GROUPS = (VIEWER, APPROVER, ADMIN)

# The four permissions behind the staff roles (declared on DeletionRequest's Meta), named here
# once: every check in the domain, the pages and the API uses these.
VIEW_PERMISSION = "deletions.view_console"
APPROVE_PERMISSION = "deletions.approve_request"
OPERATE_PERMISSION = "deletions.operate_engine"
ADMINISTER_PERMISSION = "deletions.administer_portal"


def is_staff_user(user: User | AnonymousUser) -> bool:
    """Operator staff: anyone who may view the console."""
    return bool(user.is_authenticated and user.has_perm(VIEW_PERMISSION))


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


# Who the console's staff page lists: every holder of a staff role, every superuser (who passes
# every permission check whatever their roles) and every other account that may open the
# raw-data admin. Nobody with console access is left off the page that takes it away.
STAFF_ACCOUNTS = (
    Q(groups__name__in=STAFF_GROUPS)
    | Q(is_superuser=True)
    | Q(is_staff=True, membership__isnull=True)
)


def staff_role_of(user: User) -> str:
    """The user's highest staff role, or "" (uses ``user.groups``, so prefetch it for lists)."""
    names = {g.name for g in user.groups.all()}
    for role in (ADMIN, APPROVER, VIEWER):
        if role in names:
            return role
    return ""


def set_staff_role(target: User, role: str | None, *, actor: User, source: Source) -> None:
    """Give *target* the staff *role*, or (``None``) take their console access away; audited.

    Superuser status outranks every role, so it stays only with the admin role: a lesser role,
    or no access, takes it away too; no access also closes the raw-data admin (``is_staff``).
    Nobody changes their own role (another admin must).
    """
    if role is not None and role not in STAFF_GROUPS:
        raise RuleViolation(f"{role!r} is not a staff role.")
    if target.pk == actor.pk:
        raise RuleViolation("You cannot change your own role; ask another admin.")
    with transaction.atomic():
        before: dict[str, Any] = {"role": staff_role_of(target) or None}
        after: dict[str, Any] = {"role": role}
        target.groups.remove(*Group.objects.filter(name__in=STAFF_GROUPS))
        if role is not None:
            target.groups.add(Group.objects.get(name=role))
        flags = {
            "is_superuser": target.is_superuser and role == ADMIN,
            "is_staff": role is not None,
        }
        changed = [name for name, value in flags.items() if getattr(target, name) != value]
        for name in changed:
            before[name] = getattr(target, name)
            after[name] = flags[name]
            setattr(target, name, flags[name])
        if changed:
            target.save(update_fields=changed)
        audit.record(
            "user.role_changed", obj=target, actor=actor, source=source, before=before, after=after
        )
