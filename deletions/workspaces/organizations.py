"""Extend organisations: creating and changing one, and what is recorded when that happens.

An organisation's limits decide how fast every workspace in it may call Extend, so each change
goes on the audit trail, in the transaction of the change, whichever caller (console or API)
made it: both call :func:`create_organization` and :func:`update_organization`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction

from deletions import audit
from deletions.models import Organization, Source

if TYPE_CHECKING:
    from deletions.audit import Actor

FIELDS = ("name", "extend_organization_id", "write_rate_limit", "get_rate_limit")


def snapshot(org: Organization) -> dict[str, str]:
    """The audited fields of *org*, as text."""
    return {name: str(getattr(org, name)) for name in FIELDS}


def record_created(org: Organization, *, actor: Actor, source: Source | str) -> None:
    """Audit a new organisation."""
    audit.record("organization.created", obj=org, actor=actor, source=source, after=snapshot(org))


def record_updated(
    org: Organization, before: dict[str, str], *, actor: Actor, source: Source | str
) -> bool:
    """Audit what changed since *before* (a :func:`snapshot`); False if nothing did."""
    after = snapshot(org)
    changed = [name for name in FIELDS if before.get(name) != after[name]]
    if not changed:
        return False
    audit.record(
        "organization.updated",
        obj=org,
        actor=actor,
        source=source,
        before={name: before.get(name) for name in changed},
        after={name: after[name] for name in changed},
    )
    return True


def create_organization(
    values: dict[str, Any], *, actor: Actor, source: Source | str
) -> Organization:
    """A new organisation with *values* (any of :data:`FIELDS`), audited."""
    with transaction.atomic():
        org = Organization.objects.create(**{k: v for k, v in values.items() if k in FIELDS})
        record_created(org, actor=actor, source=source)
    return org


def update_organization(
    org: Organization, values: dict[str, Any], *, actor: Actor, source: Source | str
) -> bool:
    """Change *org* to *values* (any of :data:`FIELDS`), audited; False if nothing changed."""
    with transaction.atomic():
        locked = Organization.objects.select_for_update().get(pk=org.pk)
        before = snapshot(locked)
        for name in FIELDS:
            if name in values:
                setattr(locked, name, values[name])
        locked.save()
        changed = record_updated(locked, before, actor=actor, source=source)
    org.refresh_from_db()
    return changed
