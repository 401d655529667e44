"""A 404 is evidence, not proof: what the engine knows about a workspace's configuration.

Extend answers 404 to a run that is gone, but also to every run when the workspace's URL, id or
key points elsewhere. So a 404 to the portal's first DELETE of a run (one no earlier DELETE of
ours explains) leaves the item *unconfirmed* and counts against the workspace. The workspace is
shown healthy by a well-formed success under the same credentials after the 404: a DELETE
answered with this run's id, or a GET that returns a run the inventory knows to be present
(:func:`probe`). Then its unconfirmed items become *already gone*. Too many unexplained 404s, or
a probe that is itself answered 404, stop the workspace for a human; resuming keeps the count,
only a success clears it. 404s that came under other credentials are sent again.
"""

from __future__ import annotations

import logging
import time

from django.core.cache import cache
from django.db.models import F
from django.utils import timezone

from deletions import ratelimit, transitions
from deletions.extend_client import ExtendClient, ExtendError, NotFound, RateLimited
from deletions.models import DeletionItem, ParseRun, Workspace
from deletions.workspace_health import mark_workspace

log = logging.getLogger(__name__)

# A probe at most this often per workspace: one proves every 404 that came before it.
PROBE_EVERY_SECONDS = 2.0


def note_unexplained_404(workspace_id: int) -> int:
    """Count a 404 nothing of ours explains; return the count since the last proof."""
    Workspace.objects.filter(pk=workspace_id).update(unexplained_404s=F("unexplained_404s") + 1)
    return int(
        Workspace.objects.filter(pk=workspace_id).values_list("unexplained_404s", flat=True)[0]
    )


def prove_healthy(workspace_id: int, version: int) -> int:
    """A well-formed success under *version*: confirm the 404s before it. Returns how many.

    Cheap when there is nothing to confirm (one conditional UPDATE that matches no row), which
    is every success of a healthy workspace.
    """
    now = timezone.now()
    if not Workspace.objects.filter(
        pk=workspace_id, unexplained_404s__gt=0, credentials_version=version
    ).update(unexplained_404s=0, health_proven_at=now):
        return 0
    confirmed = transitions.confirm_unconfirmed(workspace_id, version=version, proven_at=now)
    if confirmed:
        log.info(
            "workspace %s shown healthy: %s not-found runs confirmed gone", workspace_id, confirmed
        )
    return confirmed


def stop_for_404s(workspace: Workspace, reason: str) -> None:
    """Stop the workspace for a human. The 404s it answered while misconfigured prove nothing:
    their items are sent again after the resume (a run really gone answers 404 again, and is
    confirmed once the workspace is shown healthy). The count stays: a resume that fixes
    nothing stops again at the next 404."""
    mark_workspace(workspace, Workspace.Health.NOT_FOUND_BURST, reason=reason)
    DeletionItem.objects.filter(
        workspace_id=workspace.pk, status=DeletionItem.Status.UNCONFIRMED
    ).update(
        status=DeletionItem.Status.PENDING, next_attempt_at=timezone.now(), unconfirmed_at=None
    )


def probe(workspace: Workspace, client: ExtendClient) -> bool | None:
    """Ask Extend for a run the inventory knows to be present (and in no open request).

    True: it answered with that run, the workspace is healthy (its 404s are confirmed). False: it
    answered 404 to a run that should exist, the workspace is misconfigured (it is stopped).
    None: nothing to ask about, no GET slot, or another error: no conclusion.
    """
    key = f"engine:probe:{workspace.pk}"
    if not cache.add(key, 1, timeout=PROBE_EVERY_SECONDS):
        return None  # probed moments ago
    run_id = (
        ParseRun.objects.filter(
            workspace_id=workspace.pk, state=ParseRun.State.PRESENT, open_request__isnull=True
        )
        .order_by("-last_seen_at")
        .values_list("run_id", flat=True)
        .first()
    )
    if not ratelimit.acquire_for(workspace, ratelimit.GET, deadline=time.monotonic() + 10):
        return None
    if run_id is None:
        return _probe_list(workspace, client)
    try:
        found = client.get_parse_run(run_id)
    except NotFound:
        stop_for_404s(
            workspace,
            f"A DELETE answered 404 and so did a check of run {run_id}, which should exist: the "
            "workspace's URL, workspace id or key probably point elsewhere. Nothing was marked "
            "gone. Fix the connection, then resume.",
        )
        return False
    except RateLimited as exc:
        ratelimit.block_for(workspace, ratelimit.GET, max(exc.retry_after, 1.0))
        return None
    except ExtendError:
        return None
    if found.get("id") != run_id:
        return None
    prove_healthy(workspace.pk, workspace.credentials_version)
    return True


def _probe_list(workspace: Workspace, client: ExtendClient) -> bool | None:
    """No run to ask about by id: list the newest runs. A 404 to the list itself is a wrong URL
    or workspace; a run the inventory knows to be present proves the workspace healthy."""
    try:
        page = next(iter(client.list_parse_runs(page_size=10)))
    except NotFound:
        stop_for_404s(
            workspace,
            "A DELETE answered 404 and so did the list of parse runs: the workspace's URL, "
            "workspace id or key probably point elsewhere. Nothing was marked gone. Fix the "
            "connection, then resume.",
        )
        return False
    except RateLimited as exc:
        ratelimit.block_for(workspace, ratelimit.GET, max(exc.retry_after, 1.0))
        return None
    except ExtendError:
        return None
    listed = [run.get("id") for run in page.runs if isinstance(run.get("id"), str)]
    if not ParseRun.objects.filter(
        workspace_id=workspace.pk, run_id__in=listed, state=ParseRun.State.PRESENT
    ).exists():
        return None
    prove_healthy(workspace.pk, workspace.credentials_version)
    return True
