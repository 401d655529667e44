"""Driving a request through its lifecycle by hand, as the engine would (quicker and more exact
than a live worker, which tests/engine/ starts where the engine itself is under test): approve,
start, move items in flight and complete them, finish."""

from __future__ import annotations

from deletions.models import DeletionItem, DeletionRequest, Source
from deletions.requests import transitions

IS = DeletionItem.Status


def approve(req: DeletionRequest, *approvers) -> DeletionRequest:
    for approver in approvers:
        transitions.approve_request(req, actor=approver, source=Source.WEB)
    req.refresh_from_db()
    return req


def start(req: DeletionRequest) -> DeletionRequest:
    transitions.start_request(req, actor=None, source=Source.SYSTEM)
    req.refresh_from_db()
    return req


def complete(req: DeletionRequest, count: int, target: str = IS.DELETED, **kwargs) -> int:
    """Claim *count* pending items and move them to *target*; return how many moved."""
    pending = list(
        DeletionItem.objects.filter(request=req, status=IS.PENDING).order_by("id")[:count]
    )
    DeletionItem.objects.filter(pk__in=[i.pk for i in pending]).update(
        status=IS.IN_FLIGHT, attempts=1
    )
    moved = 0
    for item in pending:
        defaults = {"http_status": 200, "extend_request_id": f"xreq_{item.pk}"}
        if target == IS.FAILED:
            defaults = {"http_status": 422, "error": "Invalid parse run id format"}
        moved += transitions.complete_item(item, target, **{**defaults, **kwargs})
    return moved


def set_in_flight(req: DeletionRequest, count: int) -> None:
    ids = list(
        DeletionItem.objects.filter(request=req, status=IS.PENDING)
        .order_by("id")
        .values_list("id", flat=True)[:count]
    )
    DeletionItem.objects.filter(pk__in=ids).update(status=IS.IN_FLIGHT)


def finish(req: DeletionRequest) -> DeletionRequest:
    transitions.finish_request(req, actor=None, source=Source.SYSTEM)
    req.refresh_from_db()
    return req


def run_to_the_end(req: DeletionRequest, approver, *, failed: int = 0) -> DeletionRequest:
    approve(req, approver)
    start(req)
    complete(req, failed, IS.FAILED)
    complete(req, req.item_count)
    return finish(req)
