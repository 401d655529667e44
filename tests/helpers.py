"""Shortcuts for tests: a submitted request with runs, and a request forced into a status."""

from __future__ import annotations

from deletions.models import Customer, DeletionRequest, Source, Workspace
from deletions.submission import Selection, submit_request
from tests.factories import make_runs


def submitted_request(
    workspace: Workspace,
    customer: Customer,
    requester,
    *,
    runs: int = 3,
    prefix: str = "pr_",
    **kwargs,
) -> DeletionRequest:
    """Create *runs* runs for *customer* and a request to delete them all, by explicit ids."""
    ids = make_runs(workspace, customer, runs, prefix=prefix)
    return submit_request(
        customer=customer,
        selection=Selection(scope=DeletionRequest.Scope.EXPLICIT, run_ids=ids),
        reason=kwargs.pop("reason", "customer asked"),
        requested_by=requester,
        source=Source.WEB,
        **kwargs,
    )


def force_status(request: DeletionRequest, status: str, **fields) -> DeletionRequest:
    """Put *request* into *status* directly (test set-up only: real code uses transitions)."""
    DeletionRequest.objects.filter(pk=request.pk).update(status=status, **fields)
    request.refresh_from_db()
    return request
