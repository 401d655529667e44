"""Execution tasks: wake-ups, the item worker loop and the reconciler."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="deletions.wake_workspace", ignore_result=True)
def wake_workspace_task(workspace_id: int) -> None:
    """Placeholder until the engine lands: the reconciler picks the work up."""


def wake_workspace(workspace_id: int) -> None:
    """Ask a worker to look at *workspace_id*'s pending items now."""
    wake_workspace_task.delay(workspace_id)
