"""Extend organisations: what is recorded when one is created or changed.

An organisation's limits decide how fast every workspace in it may call Extend, so each change
goes on the audit trail, whichever page (console or Django admin) made it. Callers save the
organisation and call these inside the same transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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
