"""Service accounts: named, non-login users that programs act as through API tokens.

A customer admin creates them for their own customer (they act as a member of it); a console
admin creates them for the operator (they may read what staff read and do nothing else). Only
the person who created one issues its tokens, so that person stands behind everything it does
(:func:`deletions.accounts.roles.person_behind`).
"""

from __future__ import annotations

from django.contrib.auth.models import Permission, User
from django.db import transaction
from django.db.models import QuerySet
from django.utils.text import slugify

from deletions import audit
from deletions.accounts.roles import ADMINISTER_PERMISSION as ADMINISTER_PERMISSION
from deletions.accounts.roles import VIEW_PERMISSION, membership_of, service_account_of
from deletions.core.errors import RuleViolation
from deletions.models import Customer, Membership, ServiceAccount, Source

USERNAME_PREFIX = "svc-"


def may_create(person: User, customer: Customer | None) -> bool:
    """Whether *person* may create service accounts for *customer* (None: the operator)."""
    if not person.is_active or service_account_of(person) is not None:
        return False
    if customer is None:
        return membership_of(person) is None and person.has_perm(ADMINISTER_PERMISSION)
    membership = membership_of(person)
    return (
        membership is not None
        and membership.customer_id == customer.pk
        and membership.is_customer_admin
    )


def may_issue_tokens(person: User, account: ServiceAccount) -> bool:
    """Whether *person* may issue tokens of *account*: its creator, while still allowed to
    create service accounts for its customer."""
    return account.issued_by_id == person.pk and may_create(person, account.customer)


def issued_by(person: User, customer: Customer | None) -> QuerySet[ServiceAccount]:
    """The service accounts of *customer* (None: the operator's) that *person* created."""
    accounts = ServiceAccount.objects.filter(issued_by=person, user__is_active=True)
    if customer is None:
        return accounts.filter(customer__isnull=True)
    return accounts.filter(customer=customer)


def create(
    *, name: str, customer: Customer | None, issued_by: User, source: Source | str
) -> ServiceAccount:
    """A new service account of *customer* (None: the operator), created by *issued_by*."""
    name = name.strip()
    if not may_create(issued_by, customer):
        scope = f"{customer}" if customer else "the operator"
        raise RuleViolation(f"You are not allowed to create service accounts for {scope}.")
    slug = slugify(name)
    if not slug:
        raise RuleViolation("Give the service account a name with letters or digits.")
    username = f"{USERNAME_PREFIX}{customer.slug if customer else 'operator'}-{slug}"[:150]
    with transaction.atomic():
        if User.objects.filter(username=username).exists():
            raise RuleViolation(f"There is already a service account called {name!r}.")
        # No password, no e-mail: nobody signs in as it, no invitation or reset reaches it.
        user = User(username=username, first_name=name[:150])
        user.set_unusable_password()
        user.save()
        if customer is not None:
            Membership.objects.create(user=user, customer=customer, role=Membership.Role.MEMBER)
        else:
            # A permission of its own, not a staff role: it is no staff member.
            app_label, codename = VIEW_PERMISSION.split(".")
            user.user_permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        account = ServiceAccount.objects.create(
            user=user, customer=customer, name=name, issued_by=issued_by
        )
        audit.record(
            "service_account.created",
            obj=account,
            actor=issued_by,
            source=source,
            customer=customer,
            detail={"name": name, "username": username},
        )
    return account
