"""A workspace's health: the engine stops a workspace's work when Extend refuses its credentials
(401/403), its payment (402) or answers 404 to too many deletes in a row; staff resume it.

Items of a stopped workspace stay pending; nothing is marked failed for a workspace problem.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from deletions import audit
from deletions.accounts.roles import ADMINISTER_PERMISSION as ADMINISTER_PERMISSION
from deletions.accounts.roles import OPERATE_PERMISSION as OPERATE_PERMISSION
from deletions.core.errors import RuleViolation, TransitionError
from deletions.models import Source, Workspace
from deletions.signals import announce_work_due
from deletions.workspaces import fence
from deletions.workspaces.alerts import alert_workspace_stopped

if TYPE_CHECKING:
    from deletions.audit import Actor


def mark_workspace(
    workspace: Workspace,
    health: str,
    *,
    reason: str,
    actor: Actor = None,
    source: Source | str = Source.WORKER,
) -> bool:
    """Stop *workspace* with *health* (anything but active). Returns False if it already was."""
    if health == Workspace.Health.ACTIVE:
        raise ValueError("use resume_workspace to make a workspace active")
    # The fence: once this commits, no DELETE of the workspace is sent (deletions.workspaces.fence).
    with fence.closed([workspace.pk]):
        ws = Workspace.objects.select_for_update().get(pk=workspace.pk)
        if ws.health == health:
            return False
        before = ws.health
        ws.health, ws.health_reason, ws.health_changed_at = health, reason, timezone.now()
        ws.save(update_fields=["health", "health_reason", "health_changed_at"])
        audit.record(
            "workspace.stopped",
            obj=ws,
            actor=actor,
            source=source,
            before={"health": before},
            after={"health": health},
            detail={"reason": reason},
        )
    workspace.health, workspace.health_reason = health, reason
    if source in (Source.WORKER, Source.SYSTEM):
        transaction.on_commit(lambda: alert_workspace_stopped(workspace.pk))
    return True


def pause_workspace(
    workspace: Workspace, *, actor: Actor, source: Source | str, reason: str = ""
) -> bool:
    """Staff pause all work for *workspace*."""
    if actor is None or not actor.has_perm(OPERATE_PERMISSION):
        raise RuleViolation("You are not allowed to pause workspaces.")
    return mark_workspace(
        workspace,
        Workspace.Health.PAUSED,
        reason=reason or "Paused by staff",
        actor=actor,
        source=source,
    )


def resume_workspace(workspace: Workspace, *, actor: Actor, source: Source | str) -> None:
    """Staff let a stopped workspace work again (after fixing its key, payment or id)."""
    if actor is None or not actor.has_perm(OPERATE_PERMISSION):
        raise RuleViolation("You are not allowed to resume workspaces.")
    with fence.closed([workspace.pk]):
        ws = Workspace.objects.select_for_update().get(pk=workspace.pk)
        if ws.health == Workspace.Health.ACTIVE:
            raise TransitionError(f"Workspace {ws.name} is already active.")
        before = ws.health
        ws.health, ws.health_reason, ws.health_changed_at = (
            Workspace.Health.ACTIVE,
            "",
            timezone.now(),
        )
        ws.save(update_fields=["health", "health_reason", "health_changed_at"])
        audit.record(
            "workspace.resumed",
            obj=ws,
            actor=actor,
            source=source,
            before={"health": before},
            after={"health": Workspace.Health.ACTIVE},
        )
    workspace.health, workspace.health_reason = Workspace.Health.ACTIVE, ""
    announce_work_due([workspace.pk])
