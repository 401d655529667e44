"""A 404 is evidence, not proof: what the engine knows about a workspace's configuration.

Extend answers 404 to a run that is gone, but also to every run when the workspace's URL, id or
key points elsewhere. So a 404 to the portal's first DELETE of a run (one no earlier DELETE of
ours explains) leaves the item *unconfirmed* and counts against the workspace. The workspace is
shown healthy by a well-formed success under the same credentials after the 404: a DELETE
answered with this run's id, or a GET that returns a run the inventory knows to be present
(:func:`probe`). Then its unconfirmed items become *already gone*. Too many unexplained 404s, or
a probe that is itself answered 404, stop the workspace for a human; resuming keeps the count,
only a success clears it. 404s that came under other credentials are sent again.

A file's 404 proves as little as a run's and waits for the same proof, but it does not count
towards stopping the workspace: Extend may well remove a run's file with the run (undocumented),
so after a request's runs every file may answer 404 on a healthy workspace. A wrong URL or key
still stops it, through the probe (a run the inventory knows answering 404, or the list).
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.db.models import F
from django.utils import timezone

from deletions.extend_client import ExtendClient, ExtendError, RateLimited
from deletions.models import DeletionItem, FileErasure, ParseRun, Workspace
from deletions.requests import files, transitions
from deletions.workspaces import ratelimit
from deletions.workspaces.health import mark_workspace

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
    # Files' 404s do not count against the workspace (see handle_not_found): confirm them
    # whatever the count says.
    confirmed = files.confirm_unconfirmed(workspace_id, version=version, proven_at=now)
    if Workspace.objects.filter(
        pk=workspace_id, unexplained_404s__gt=0, credentials_version=version
    ).update(unexplained_404s=0, health_proven_at=now):
        confirmed += transitions.confirm_unconfirmed(workspace_id, version=version, proven_at=now)
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
    # Until a success proves otherwise, the next unexplained 404 stops it again at once.
    Workspace.objects.filter(
        pk=workspace.pk, unexplained_404s__lt=settings.NOT_FOUND_BURST_THRESHOLD
    ).update(unexplained_404s=settings.NOT_FOUND_BURST_THRESHOLD)
    DeletionItem.objects.filter(
        workspace_id=workspace.pk, status=DeletionItem.Status.UNCONFIRMED
    ).update(
        status=DeletionItem.Status.PENDING, next_attempt_at=timezone.now(), unconfirmed_at=None
    )
    files.requeue_unconfirmed(workspace.pk)


def probe(workspace: Workspace, client: ExtendClient) -> bool | None:
    """Check the workspace's unconfirmed 404s against what Extend shows (:func:`_probe`), at
    most once every ``PROBE_EVERY_SECONDS``. A probe that could not conclude (no GET slot, a
    timeout) does not hold the next one back: the runner's end or the reconciler asks again."""
    key = f"engine:probe:{workspace.pk}"
    if not cache.add(key, 1, timeout=PROBE_EVERY_SECONDS):
        return None  # probed moments ago
    verdict = _probe(workspace, client)
    if verdict is None:
        cache.delete(key)
    return verdict


def _probe(workspace: Workspace, client: ExtendClient) -> bool | None:
    """Check the workspace's unconfirmed 404s against what Extend shows.

    First a GET of the newest unconfirmed run: if Extend returns it, the DELETE's 404 was wrong
    (the workspace is stopped, nothing is marked). Then a GET of a run the inventory knows to be
    present (or, without one, the list of runs): a 404 there means a wrong URL, workspace id or
    key (stopped); the run, or a known run in the list, proves the workspace healthy and the
    404s are confirmed. True: healthy. False: stopped. None: no conclusion (nothing to ask
    about, no GET slot, another error).
    """
    unconfirmed = list(
        DeletionItem.objects.filter(
            workspace_id=workspace.pk, status=DeletionItem.Status.UNCONFIRMED
        ).values_list("parse_run__run_id", flat=True)[:PROBE_LIST_SIZE]
    )
    newest_file = (
        FileErasure.objects.filter(workspace_id=workspace.pk, status=FileErasure.Status.UNCONFIRMED)
        .order_by("-unconfirmed_at")
        .values_list("file_id", flat=True)
        .first()
    )
    for noun, resource_id in (("run", next(iter(unconfirmed), None)), ("file", newest_file)):
        if resource_id is None:
            continue
        answer = _get(workspace, client, resource_id, noun=noun)
        if answer is _SLOT_OR_ERROR:
            return None
        if answer is not None:
            return _stop(
                workspace,
                f"DELETE answered 404 for {noun} {resource_id}, which a GET still returns: the "
                f"DELETEs do not reach the {noun}s they name. Nothing was marked gone.",
            )
    known = (
        ParseRun.objects.filter(
            workspace_id=workspace.pk, state=ParseRun.State.PRESENT, open_request__isnull=True
        )
        .order_by("-last_seen_at")
        .values_list("run_id", flat=True)
        .first()
    )
    if known is None:
        return _probe_list(workspace, client, set(unconfirmed))
    answer = _get(workspace, client, known)
    if answer is _SLOT_OR_ERROR:
        return None
    if answer is None:
        return _stop(
            workspace,
            f"A DELETE answered 404 and so did a check of run {known}, which should exist: the "
            "workspace's URL, workspace id or key probably point elsewhere. Nothing was marked "
            "gone.",
        )
    if answer.get("id") != known:
        return None
    prove_healthy(workspace.pk, workspace.credentials_version)
    return True


# What a probe lists, and a marker for "no answer worth concluding from".
PROBE_LIST_SIZE = 25
_SLOT_OR_ERROR: dict[str, object] = {}


def _get(
    workspace: Workspace, client: ExtendClient, resource_id: str, *, noun: str = "run"
) -> dict[str, object] | None:
    """The run (or file) as Extend returns it, None on a 404 (any body), or
    ``_SLOT_OR_ERROR``."""
    if not ratelimit.acquire_for(workspace, ratelimit.GET, deadline=time.monotonic() + 10):
        return _SLOT_OR_ERROR
    try:
        if noun == "file":
            return client.get_file(resource_id)
        return client.get_parse_run(resource_id)
    except ExtendError as exc:
        if exc.status == 404:
            return None
        if isinstance(exc, RateLimited):
            ratelimit.block_for(workspace, ratelimit.GET, max(exc.retry_after, 1.0))
        return _SLOT_OR_ERROR


def _stop(workspace: Workspace, why: str) -> bool:
    stop_for_404s(workspace, why + " Fix the connection, then resume.")
    return False


def _probe_list(workspace: Workspace, client: ExtendClient, unconfirmed: set[str]) -> bool | None:
    """No run to ask about by id: list the newest runs. A 404 to the list is a wrong URL or
    workspace; an unconfirmed run in the list contradicts its 404; a run the inventory knows
    to be present proves the workspace healthy."""
    if not ratelimit.acquire_for(workspace, ratelimit.GET, deadline=time.monotonic() + 10):
        return None
    try:
        page = next(iter(client.list_parse_runs(page_size=PROBE_LIST_SIZE)))
    except ExtendError as exc:
        if exc.status != 404:
            if isinstance(exc, RateLimited):
                ratelimit.block_for(workspace, ratelimit.GET, max(exc.retry_after, 1.0))
            return None
        return _stop(
            workspace,
            "A DELETE answered 404 and so did the list of parse runs: the workspace's URL, "
            "workspace id or key probably point elsewhere. Nothing was marked gone.",
        )
    listed = {run.get("id") for run in page.runs if isinstance(run.get("id"), str)}
    if listed & unconfirmed:
        return _stop(
            workspace,
            "DELETE answered 404 for runs that Extend still lists: the DELETEs do not reach the "
            "runs they name. Nothing was marked gone.",
        )
    if not ParseRun.objects.filter(
        workspace_id=workspace.pk, run_id__in=listed, state=ParseRun.State.PRESENT
    ).exists():
        return None
    prove_healthy(workspace.pk, workspace.credentials_version)
    return True
