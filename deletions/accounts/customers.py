"""Creating and changing customers (tenants), audited: one implementation for the console's
pages and the API. Callers validate the values (the console's ``CustomerForm``)."""

from __future__ import annotations

import zoneinfo
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Count, Q, QuerySet

from deletions import audit
from deletions.models import Customer, Source

if TYPE_CHECKING:
    from deletions.audit import Actor

# What staff set about a customer (the console form's fields), all audited.
FIELDS = (
    "name",
    "external_ref",
    "slug",
    "is_active",
    "cooling_off_hours",
    "time_zone",
    "erase_files_default",
)


def time_zones() -> list[str]:
    """The IANA time zone names a customer may have (its retention policies' evaluation hour is
    read in it)."""
    return sorted(zoneinfo.available_timezones())


def time_zone_problem(name: str) -> str:
    """Why *name* cannot be a customer's time zone, or "" (blank: the portal's own)."""
    if name and name not in zoneinfo.available_timezones():
        return f"{name!r} is not a time zone name (for example Europe/Paris or America/New_York)."
    return ""


def search(q: str = "") -> QuerySet[Customer]:
    """Customers whose name or external reference contains *q* (all for ""), each annotated
    with its number of users."""
    rows = Customer.objects.annotate(users=Count("memberships"))
    if q:
        rows = rows.filter(Q(name__icontains=q) | Q(external_ref__icontains=q))
    return rows


def snapshot(customer: Customer) -> dict[str, str]:
    """The audited fields of *customer*, as text."""
    return {name: str(getattr(customer, name)) for name in FIELDS}


def create_customer(values: dict[str, Any], *, actor: Actor, source: Source | str) -> Customer:
    """A new customer with *values* (any of :data:`FIELDS`)."""
    with transaction.atomic():
        customer = Customer.objects.create(
            **{name: values[name] for name in FIELDS if name in values}
        )
        audit.record(
            "customer.created", obj=customer, actor=actor, source=source, after=snapshot(customer)
        )
    return customer


def update_customer(
    customer: Customer, values: dict[str, Any], *, actor: Actor, source: Source | str
) -> bool:
    """Change *customer* to *values* (any of :data:`FIELDS`); False if nothing changed."""
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        before = snapshot(locked)
        for name in FIELDS:
            if name in values:
                setattr(locked, name, values[name])
        after = snapshot(locked)
        changed = [name for name in FIELDS if after[name] != before[name]]
        if changed:
            locked.save(update_fields=changed)
            audit.record(
                "customer.updated",
                obj=locked,
                actor=actor,
                source=source,
                before={name: before[name] for name in changed},
                after={name: after[name] for name in changed},
            )
    customer.refresh_from_db()
    return bool(changed)
