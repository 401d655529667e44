"""Every list page makes the same number of queries with 5 rows as with 200: nothing is fetched
per row (RELIABILITY: the portal must stay fast with a million runs; see bench/scale.py for the
timings at full size)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from deletions.models import AuditEvent, DeletionRequest, FileErasure, Organization, Source
from tests.factories import WorkspaceFactory, make_runs
from tests.helpers import submitted_request


@dataclass
class World:
    workspace: Any
    customer: Any
    member: Any
    viewer: Any
    big_request: Any = None


def add_requests(world: World, count: int, status: str) -> None:
    now = timezone.now()
    DeletionRequest.objects.bulk_create(
        DeletionRequest(
            customer=world.customer,
            requested_by=world.member,
            reason=f"reason {i}",
            status=status,
            item_count=1,
            submitted_at=now - timedelta(minutes=i),
        )
        for i in range(count)
    )


def add_audit(world: World, count: int) -> None:
    AuditEvent.objects.bulk_create(
        AuditEvent(
            actor=world.viewer,
            actor_label="victor",
            source=Source.WEB,
            action="request.viewed",
            object_type="DeletionRequest",
            object_id=str(i),
            customer=world.customer,
            detail={"n": i},
        )
        for i in range(count)
    )


_made = {"runs": 0, "items": 0, "unassigned": 0}


def grow_runs(world: World, count: int) -> None:
    make_runs(world.workspace, world.customer, count, prefix="r_", start=_made["runs"])
    _made["runs"] += count


def grow_unassigned(world: World, count: int) -> None:
    make_runs(world.workspace, None, count, prefix="u_", start=_made["unassigned"])
    _made["unassigned"] += count


def grow_items(world: World, count: int) -> None:
    """The request under test gets *count* more items (a fresh request of the new size)."""
    size = (world.big_request.item_count if world.big_request else 0) + count
    _made["items"] += 1
    world.big_request = submitted_request(
        world.workspace, world.customer, world.member, runs=size, prefix=f"i{_made['items']}_"
    )


def grow_files(world: World, count: int) -> None:
    """The request under test erases files: one per run, as its start would have listed them."""
    grow_items(world, count)
    req = world.big_request
    DeletionRequest.objects.filter(pk=req.pk).update(erase_files=True)
    FileErasure.objects.bulk_create(
        FileErasure(request=req, workspace=world.workspace, file_id=f"file_{n}")
        for n in range(req.item_count)
    )


def grow_workspaces(world: World, count: int) -> None:
    """Half of them in an organisation of their own (its limits are shown on the row)."""
    for i in range(count):
        org = Organization.objects.create(name=f"Org {uuid.uuid4()}") if i % 2 else None
        WorkspaceFactory(organization=org)


def grow_organizations(world: World, count: int) -> None:
    """Organisations with two workspaces each (listed on the organisation's row)."""
    for _ in range(count):
        org = Organization.objects.create(name=f"Org {uuid.uuid4()}")
        WorkspaceFactory(organization=org)
        WorkspaceFactory(organization=org)


# page name -> (who looks, how to add n rows, how to build the URL)
PAGES: dict[str, tuple[str, Callable[[World, int], None], Callable[[World], str]]] = {
    "customer runs": ("member", grow_runs, lambda w: reverse("customer:runs")),
    "customer requests": (
        "member",
        lambda w, n: add_requests(w, n, DeletionRequest.Status.PENDING_APPROVAL),
        lambda w: reverse("customer:requests"),
    ),
    "customer request detail": (
        "member",
        grow_items,
        lambda w: reverse("customer:request", args=[w.big_request.pk]),
    ),
    "customer request items": (
        "member",
        grow_items,
        lambda w: reverse("customer:items", args=[w.big_request.pk]),
    ),
    "customer request detail with files": (
        "member",
        grow_files,
        lambda w: reverse("customer:request", args=[w.big_request.pk]),
    ),
    "customer request files": (
        "member",
        grow_files,
        lambda w: reverse("customer:files", args=[w.big_request.pk]),
    ),
    "console request detail with files": (
        "viewer",
        grow_files,
        lambda w: reverse("console:request_detail", args=[w.big_request.pk]),
    ),
    "console queue": (
        "viewer",
        lambda w, n: add_requests(w, n, DeletionRequest.Status.PENDING_APPROVAL),
        lambda w: reverse("console:queue"),
    ),
    "console request detail": (
        "viewer",
        grow_items,
        lambda w: reverse("console:request_detail", args=[w.big_request.pk]),
    ),
    "console audit log": ("viewer", add_audit, lambda w: reverse("console:audit_log")),
    "console unassigned runs": (
        "viewer",
        grow_unassigned,
        lambda w: reverse("console:inventory_unassigned"),
    ),
    "console workspaces": ("viewer", grow_workspaces, lambda w: reverse("console:workspace_list")),
    "console organisations": (
        "viewer",
        grow_organizations,
        lambda w: reverse("console:organization_list"),
    ),
}


def count_queries(client: Client, url: str) -> tuple[int, list[str]]:
    client.get(url)  # warm caches (content types, permissions, sessions) first
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries), [q["sql"] for q in queries.captured_queries]


@pytest.mark.parametrize("page", list(PAGES))
def test_a_list_page_makes_as_many_queries_with_200_rows_as_with_5(
    page, workspace, customer, member, viewer
):
    who, grow, url_of = PAGES[page]
    world = World(workspace=workspace, customer=customer, member=member, viewer=viewer)
    client = Client()
    client.force_login(getattr(world, who), backend="django.contrib.auth.backends.ModelBackend")

    grow(world, 5)
    small, _ = count_queries(client, url_of(world))
    grow(world, 195)
    large, sql = count_queries(client, url_of(world))

    assert large == small, f"{page}: {small} queries with 5 rows, {large} with 200:\n" + "\n".join(
        sql
    )
