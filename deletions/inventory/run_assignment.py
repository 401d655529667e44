"""Parse runs no customer owns yet: finding them by workspace and metadata, and assigning them
to a customer (one implementation for the console's inventory pages and the API).

Assigning changes whose runs they are, so it is done in one transaction on what matches *then*
(a run someone else assigned meanwhile no longer matches) and audited with the runs' ids.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Q, QuerySet

from deletions import audit
from deletions.core.errors import RuleViolation
from deletions.models import Customer, ParseRun, Source, Workspace

if TYPE_CHECKING:
    from deletions.audit import Actor

# A metadata key the filter may look under: it becomes part of a JSON lookup.
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_\-]{1,100}$")
# The audit record lists at most this many run ids (and says when there were more).
AUDITED_IDS = 1000
_CHUNK = 5000


def key_problem(key: str) -> str | None:
    """Why *key* cannot be a metadata key to filter on, or None."""
    if not KEY_PATTERN.match(key) or "__" in key:
        return "Letters, digits, - and _ only."
    return None


def unassigned_runs(
    *, workspace: Workspace | None = None, value: str = "", key: str = ""
) -> QuerySet[ParseRun]:
    """Present runs without a customer; in *workspace* if given; with *value* under metadata
    *key* (default: each run's workspace's customer key) if given."""
    runs = ParseRun.objects.filter(customer__isnull=True, state=ParseRun.State.PRESENT)
    if workspace is not None:
        runs = runs.filter(workspace=workspace)
    value = value.strip()
    if value:
        if key:
            if key_problem(key):
                return runs.none()
            runs = runs.filter(**{f"metadata__{key}": value})
        else:
            runs = runs.filter(_by_customer_key(value, workspace))
    return runs


def _by_customer_key(value: str, workspace: Workspace | None) -> Q:
    """Runs carrying *value* under their own workspace's customer metadata key."""
    workspaces = [workspace] if workspace else list(Workspace.objects.all())
    groups: dict[str, list[int]] = {}
    for ws in workspaces:
        groups.setdefault(ws.customer_metadata_key, []).append(ws.pk)
    condition = Q(pk__in=[])
    for key, ids in groups.items():
        if not key_problem(key):
            condition |= Q(workspace_id__in=ids, **{f"metadata__{key}": value})
    return condition


def customer_value(run: ParseRun) -> str:
    """What *run* carries under its workspace's customer key ("" if nothing)."""
    value = (run.metadata or {}).get(run.workspace.customer_metadata_key)
    return "" if value is None else str(value)


def assign(
    runs: QuerySet[ParseRun],
    customer: Customer,
    *,
    actor: Actor,
    source: Source | str,
    scope: str,
    filters: dict[str, Any],
) -> int:
    """Give the unassigned runs of *runs* to *customer*; returns how many changed hands.

    *scope* and *filters* say how the runs were chosen, for the audit record.
    """
    if not customer.is_active:
        raise RuleViolation(f"{customer.name} is deactivated; runs cannot be given to it.")
    runs = runs.filter(customer__isnull=True, state=ParseRun.State.PRESENT)
    with transaction.atomic():
        # Lock what matches now; a run someone else assigned meanwhile no longer matches.
        locked = list(runs.order_by().select_for_update().values_list("pk", "run_id"))
        count = 0
        for start in range(0, len(locked), _CHUNK):
            chunk = [pk for pk, _ in locked[start : start + _CHUNK]]
            count += ParseRun.objects.filter(pk__in=chunk, customer__isnull=True).update(
                customer=customer
            )
        if count:
            audit.record(
                "inventory.assigned",
                obj=customer,
                actor=actor,
                source=source,
                customer=customer,
                detail={
                    "count": count,
                    "scope": scope,
                    "filter": filters,
                    "run_ids": [run_id for _, run_id in locked[:AUDITED_IDS]],
                    "run_ids_truncated": len(locked) > AUDITED_IDS,
                },
            )
    return count
