"""Shortcuts for tests: a submitted request with runs, a request forced into a status or
finished as the engine would have (with files, if asked), calls racing each other, API clients
with a token, and an Extend simulator with a workspace pointed at it. (To walk a request through
its transitions instead: tests/drive.py.)"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from deletions.accounts import service_accounts
from deletions.api import tokens
from deletions.models import (
    ApiToken,
    Customer,
    DeletionAttempt,
    DeletionItem,
    DeletionRequest,
    FileAttempt,
    FileErasure,
    ParseRun,
    Source,
    Workspace,
)
from deletions.requests.submission import Selection, submit_request
from extend_simulator import Simulator
from tests.factories import make_runs

# The legal hold of the ``hold`` fixture (tests/conftest.py).
HOLD_REASON = "Litigation: Smith v Acme, preserve all invoices"
HOLD_REFERENCE = "LIT-2026-042"


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
    return request_for(
        customer, requester, make_runs(workspace, customer, runs, prefix=prefix), **kwargs
    )


def request_for(
    customer: Customer, requester, run_ids: list[str], *, reason: str = "customer asked", **kwargs
) -> DeletionRequest:
    """A request by *requester*, made on the web, to delete the runs *run_ids* of *customer*."""
    return submit_request(
        customer=customer,
        selection=Selection(scope=DeletionRequest.Scope.EXPLICIT, run_ids=run_ids),
        reason=reason,
        requested_by=requester,
        source=Source.WEB,
        **kwargs,
    )


def force_status(request: DeletionRequest, status: str, **fields) -> DeletionRequest:
    """Put *request* into *status* directly (test set-up only: real code uses transitions)."""
    DeletionRequest.objects.filter(pk=request.pk).update(status=status, **fields)
    request.refresh_from_db()
    return request


def finish(req: DeletionRequest, *, failed: int = 0) -> DeletionRequest:
    """Mark *req* completed as the engine would have: items deleted, confirmed and verified."""
    now = timezone.now()
    items = list(DeletionItem.objects.filter(request=req).order_by("id"))
    for n, item in enumerate(items):
        bad = n < failed
        item.status = DeletionItem.Status.FAILED if bad else DeletionItem.Status.DELETED
        item.confirmed_at = None if bad else now
        item.verified_at = None if bad else now + timedelta(seconds=1)
        item.last_request_id = f"req_{n:04d}"
        item.attempts = 1
        item.save()
        DeletionAttempt.objects.create(
            item=item,
            started_at=now - timedelta(minutes=len(items) - n),
            http_status=500 if bad else 200,
            outcome="failed" if bad else "deleted",
            extend_request_id=f"req_{n:04d}",
        )
    ParseRun.objects.filter(items__request=req).update(
        open_request=None, state=ParseRun.State.DELETED, deleted_by_request=req
    )
    return force_status(
        req,
        DeletionRequest.Status.COMPLETED_WITH_FAILURES
        if failed
        else DeletionRequest.Status.COMPLETED,
        approved_at=now - timedelta(hours=1),
        started_at=now - timedelta(minutes=30),
        finished_at=now,
        deleted_count=len(items) - failed,
        failed_count=failed,
    )


def with_files(req: DeletionRequest, *statuses: str) -> list[FileErasure]:
    """Give *req* one file erasure per status, each with the DELETE call the engine logged."""
    item = DeletionItem.objects.filter(request=req).select_related("parse_run").first()
    assert item is not None
    erasures = FileErasure.objects.bulk_create(
        FileErasure(
            request=req,
            workspace_id=item.parse_run.workspace_id,
            file_id=f"file_{req.pk}_{n}",
            status=status,
        )
        for n, status in enumerate(statuses)
    )
    FileAttempt.objects.bulk_create(
        FileAttempt(item=erasure, http_status=200, outcome="deleted", extend_request_id="req_f")
        for erasure in erasures
    )
    return erasures


def at_once(*calls: Callable[[], Any], timeout: float = 60) -> list[Any]:
    """Run every call in a thread of its own, all released together, each on its own database
    connection (closed when it ends, or the test database could not be dropped); return what
    each call returned, or the exception it raised, in the order of *calls*."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[index] = call()
        except Exception as exc:
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), f"a call ran over {timeout} s"
    return results


def bearer(raw: str) -> APIClient:
    """An API client that sends the raw token *raw*."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    client.raw_token = raw
    return client


def client_for(user) -> APIClient:
    """An API client with a token *user* made for themselves."""
    _token, raw = ApiToken.issue(user, name=f"{user.username}'s token", created_by=user)
    return bearer(raw)


def service_client_for(issuer, customer=None, name="Robot") -> APIClient:
    """An API client with a token of a new service account of *customer* (None: the operator),
    which *issuer* created and issued the token of, as the token pages do."""
    account = service_accounts.create(
        name=name, customer=customer, issued_by=issuer, source=Source.WEB
    )
    _token, raw = tokens.issue(account.user, name=name, created_by=issuer, source=Source.WEB)
    client = bearer(raw)
    client.user = account.user
    return client


def token_works(raw: str) -> bool:
    """Whether the raw token *raw* is let into the API."""
    return bearer(raw).get("/api/v1/requests").status_code == 200


def empty_simulator(api_key: str) -> Simulator:
    """An Extend simulator (``with empty_simulator(key) as sim:``) holding no runs until the test
    adds them, its rate limit out of the way, tagging runs with their customer's reference."""
    return Simulator(
        api_key=api_key,
        runs=0,
        other_workspace_runs=0,
        rate_limit=1000,
        customer_metadata_key="customer_id",
    )


def simulated_runs(
    sim: Simulator, workspace: Workspace, customer: Customer, count: int, **options
) -> list[str]:
    """Add *count* runs at *sim* (``workspace_id=`` and the like in *options*) and to the
    inventory of *workspace* as *customer*'s, as a sync would; return their ids."""
    ids = [run["id"] for run in sim.add_runs(count=count, **options)]
    ParseRun.objects.bulk_create(
        ParseRun(workspace=workspace, customer=customer, run_id=run_id) for run_id in ids
    )
    return ids


def simulated_workspace(
    sim: Simulator, api_key: str, name: str = "Simulated", *, webhooks: bool = False
) -> Workspace:
    """A workspace reaching *sim* with *api_key*, its limits high enough not to pace the tests
    (with *webhooks*, verifying the simulator's signed webhooks)."""
    workspace = Workspace(name=name, base_url=sim.url, rate_limit=200, get_rate_limit=200)
    workspace.set_api_key(api_key)
    if webhooks:
        workspace.set_webhook_secret(sim.webhook_secret)
    workspace.save()
    return workspace
