"""A request's uploaded files, left as the engine would leave them: the runs get files, the
request erases them, its start plans them, and each file's outcome is set directly (the engine's
file work has tests of its own). For the proof: receipts, pages, API, e-mails, certificates."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from deletions.models import DeletionItem, DeletionRequest, FileAttempt, FileErasure, ParseRun
from deletions.requests import files
from tests import drive

FS = FileErasure.Status
IS = DeletionItem.Status


def erased(n: int, **fields: Any) -> dict[str, Any]:
    """A file Extend confirmed deleted (request id ``xfile_<n>``), later verified absent."""
    now = timezone.now()
    return {
        "status": FS.DELETED,
        "attempts": 1,
        "last_http_status": 200,
        "last_request_id": f"xfile_{n}",
        "confirmed_at": now,
        "verified_at": now + timedelta(seconds=1),
        **fields,
    }


def shared(used_outside: int) -> dict[str, Any]:
    """A file kept because runs outside the request still use it."""
    return {
        "status": FS.KEPT,
        "kept_reason": FileErasure.KeptReason.SHARED,
        "used_outside": used_outside,
    }


def failed() -> dict[str, Any]:
    return {
        "status": FS.FAILED,
        "attempts": 3,
        "last_http_status": 500,
        "last_request_id": "xfile_failed",
        "last_error": "Extend answered 500",
    }


def give_files(req: DeletionRequest, *, shared_by: int = 1) -> list[str]:
    """Each run of *req* gets an uploaded file (``file_0``, ``file_1``, ...; *shared_by* runs in a
    row share one), and the request erases files. Returns the file ids, in run order."""
    runs = list(ParseRun.objects.filter(items__request=req).order_by("id"))
    ids = [f"file_{n // shared_by}" for n in range(len(runs))]
    for run, file_id in zip(runs, ids, strict=True):
        ParseRun.objects.filter(pk=run.pk).update(file_id=file_id)
    DeletionRequest.objects.filter(pk=req.pk).update(erase_files=True)
    req.refresh_from_db()
    return sorted(set(ids), key=lambda f: int(f.split("_")[1]))


def settle(req: DeletionRequest, outcomes: dict[str, dict[str, Any]]) -> None:
    """Give the request's files (by file id) the fields the engine would have left, with a
    DELETE attempt for each that was sent."""
    for file_id, fields in outcomes.items():
        FileErasure.objects.filter(request=req, file_id=file_id).update(**fields)
        erasure = FileErasure.objects.get(request=req, file_id=file_id)
        if erasure.attempts:
            FileAttempt.objects.create(
                item=erasure,
                http_status=erasure.last_http_status,
                outcome=str(erasure.status),
                extend_request_id=erasure.last_request_id,
            )


def started_with_files(
    req: DeletionRequest, approver, *, shared_by: int = 1, runs_done: bool = True
) -> DeletionRequest:
    """Give *req* files, approve and start it (its files are planned), and, with *runs_done*,
    delete every run so that its files are due."""
    give_files(req, shared_by=shared_by)
    drive.approve(req, approver)
    drive.start(req)
    if runs_done:
        drive.complete(req, req.item_count)
        files.release(req.pk)
    req.refresh_from_db()
    return req


def finished_with_files(
    req: DeletionRequest, approver, outcomes: dict[str, dict[str, Any]], *, shared_by: int = 1
) -> DeletionRequest:
    """*req* run to its end with uploaded files: every run deleted, each file as *outcomes*
    says (every file must be given one), and the request finished as the engine does."""
    started_with_files(req, approver, shared_by=shared_by)
    settle(req, outcomes)
    return drive.finish(req)
