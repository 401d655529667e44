"""Fill a throw-away database with production-sized data, for bench/scale.py:

    python manage.py generate_scale_data --items 1000000 --runs-per-customer 100000 --requests 10000

Creates one workspace; a "big" customer with ``--runs-per-customer`` present runs (nothing
requested yet) and a member and a staff viewer to look at them; ``--requests`` finished and
waiting requests spread over 100 customers (a tenth of them the big customer's) holding
``--items`` items in total, each on its own (deleted) run; one audit event per request; and
``--unassigned`` runs no customer owns yet. Rows go in with ``bulk_create(batch_size=10000)``.

It refuses to run on a database whose name does not contain "bench", "scale" or "test", so
it cannot be pointed at real data by mistake.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

from deletions.accounts import roles
from deletions.models import (
    AuditEvent,
    Customer,
    DeletionItem,
    DeletionRequest,
    Membership,
    ParseRun,
    Source,
    Workspace,
)

BATCH = 10_000
CUSTOMERS = 100
BIG_CUSTOMER_SLUG = "scale-big"
MEMBER_USERNAME = "scale-member"
VIEWER_USERNAME = "scale-viewer"
PASSWORD = "scale-data-password"  # noqa: S105 - a throw-away benchmark database
BASE_TIME = datetime(2025, 1, 1, tzinfo=UTC)
SAFE_NAME_PARTS = ("bench", "scale", "test")


class Command(BaseCommand):
    help = "Fill a throw-away database with production-sized data (see bench/scale.py)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--items", type=int, default=1_000_000)
        parser.add_argument("--runs-per-customer", type=int, default=100_000)
        parser.add_argument("--requests", type=int, default=10_000)
        parser.add_argument("--unassigned", type=int, default=10_000)

    def handle(self, *args: Any, **options: Any) -> None:
        name = Path(str(connection.settings_dict["NAME"])).name
        if not any(part in name for part in SAFE_NAME_PARTS):
            raise CommandError(
                f"The database {name!r} does not look like a throw-away one (its name must "
                f"contain one of {', '.join(SAFE_NAME_PARTS)}); refusing to fill it."
            )
        if options["requests"] < 1 or options["items"] < options["requests"]:
            raise CommandError("Give at least one request and at least one item per request.")
        started = time.monotonic()
        workspace = self._workspace()
        big, customers = self._customers()
        member, _viewer = self._users(big)
        self._present_runs(workspace, big, options["runs_per_customer"], "big")
        self._present_runs(workspace, None, options["unassigned"], "unassigned")
        self._requests(workspace, big, customers, member, options["requests"], options["items"])
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")  # what autovacuum would do soon after a bulk load
        self.stdout.write(
            f"Done in {time.monotonic() - started:.0f} s: {ParseRun.objects.count():,} runs, "
            f"{DeletionRequest.objects.count():,} requests, "
            f"{DeletionItem.objects.count():,} items. Sign in as {MEMBER_USERNAME} or "
            f"{VIEWER_USERNAME} with password {PASSWORD!r}."
        )

    def _workspace(self) -> Workspace:
        workspace, created = Workspace.objects.get_or_create(
            name="Scale", defaults={"base_url": "http://127.0.0.1:9"}
        )
        if created:
            workspace.set_api_key("sk_scale_data_key_0001")
            workspace.save()
        return workspace

    def _customers(self) -> tuple[Customer, list[Customer]]:
        big, _ = Customer.objects.get_or_create(
            slug=BIG_CUSTOMER_SLUG, defaults={"name": "Scale Big Co", "external_ref": "scale_big"}
        )
        others = [
            Customer.objects.get_or_create(
                slug=f"scale-{i:03d}",
                defaults={"name": f"Scale Customer {i:03d}", "external_ref": f"scale_{i:03d}"},
            )[0]
            for i in range(1, CUSTOMERS)
        ]
        return big, others

    def _users(self, big: Customer) -> tuple[Any, Any]:
        User = get_user_model()
        member = User.objects.filter(username=MEMBER_USERNAME).first()
        if member is None:
            member = User.objects.create_user(MEMBER_USERNAME, "member@example.com", PASSWORD)
            Membership.objects.create(user=member, customer=big, role=Membership.Role.ADMIN)
        viewer = User.objects.filter(username=VIEWER_USERNAME).first()
        if viewer is None:
            viewer = User.objects.create_user(
                VIEWER_USERNAME, "viewer@example.com", PASSWORD, is_staff=True
            )
            viewer.groups.add(Group.objects.get(name=roles.ADMIN))
        return member, viewer

    def _present_runs(
        self, workspace: Workspace, customer: Customer | None, count: int, label: str
    ) -> None:
        start = ParseRun.objects.filter(run_id__startswith=f"scale_{label}_").count()
        for offset in range(0, count, BATCH):
            ParseRun.objects.bulk_create(
                ParseRun(
                    workspace=workspace,
                    customer=customer,
                    run_id=f"scale_{label}_{start + i:08d}",
                    file_name=f"document-{start + i:08d}.pdf",
                    extend_status="PROCESSED",
                    extend_created_at=BASE_TIME + timedelta(seconds=start + i),
                )
                for i in range(offset, min(offset + BATCH, count))
            )
        self.stdout.write(f"{count:,} {label} runs")

    def _requests(
        self,
        workspace: Workspace,
        big: Customer,
        customers: list[Customer],
        member: Any,
        count: int,
        items: int,
    ) -> None:
        per_request = items // count
        Status = DeletionRequest.Status
        made = DeletionRequest.objects.count()
        done = 0
        # Requests in blocks whose items fit in one batch, each block in one transaction.
        block = max(1, BATCH // per_request)
        for first in range(0, count, block):
            size = min(block, count - first)
            with transaction.atomic():
                done += self._request_block(
                    workspace, big, customers, member, made + first, size, per_request, Status
                )
            if (first // block) % 10 == 0:
                self.stdout.write(f"{first + size:,} requests, {done:,} items")
        self.stdout.write(f"{count:,} requests with {done:,} items")

    def _request_block(
        self,
        workspace: Workspace,
        big: Customer,
        customers: list[Customer],
        member: Any,
        first: int,
        size: int,
        per_request: int,
        Status: Any,
    ) -> int:
        now = BASE_TIME + timedelta(days=400)
        reqs = []
        for n in range(first, first + size):
            customer = big if n % 10 == 0 else customers[n % len(customers)]
            waiting = n % 50 == 0  # a few are still waiting for approval: the queue has rows
            reqs.append(
                DeletionRequest(
                    customer=customer,
                    requested_by=member if customer == big else None,
                    source=Source.WEB,
                    reason=f"Scale request {n}",
                    status=Status.PENDING_APPROVAL if waiting else Status.COMPLETED,
                    item_count=per_request,
                    deleted_count=0 if waiting else per_request,
                    submitted_at=now - timedelta(minutes=n),
                    approved_at=None if waiting else now - timedelta(minutes=n - 1),
                    finished_at=None if waiting else now - timedelta(minutes=n - 2),
                )
            )
        reqs = DeletionRequest.objects.bulk_create(reqs, batch_size=BATCH)
        runs = []
        for req in reqs:
            waiting = req.status == Status.PENDING_APPROVAL
            for i in range(per_request):
                runs.append(
                    ParseRun(
                        workspace=workspace,
                        customer_id=req.customer_id,
                        run_id=f"scale_req{req.pk}_{i:05d}",
                        # A tombstone keeps no file name: its item does (as the engine does).
                        file_name=f"file-{req.pk}-{i}.pdf" if waiting else "",
                        extend_status="PROCESSED",
                        extend_created_at=BASE_TIME + timedelta(seconds=i),
                        state=ParseRun.State.PRESENT if waiting else ParseRun.State.DELETED,
                        open_request=req if waiting else None,
                        deleted_by_request=None if waiting else req,
                        deleted_at=None if waiting else req.finished_at,
                    )
                )
        runs = ParseRun.objects.bulk_create(runs, batch_size=BATCH)
        by_request = iter(runs)
        items = []
        for req in reqs:
            waiting = req.status == Status.PENDING_APPROVAL
            for i in range(per_request):
                run = next(by_request)
                items.append(
                    DeletionItem(
                        request=req,
                        parse_run=run,
                        file_name="" if waiting else f"file-{req.pk}-{i}.pdf",
                        workspace=workspace,
                        status=DeletionItem.Status.PENDING
                        if waiting
                        else DeletionItem.Status.DELETED,
                        attempts=0 if waiting else 1,
                        last_http_status=None if waiting else 200,
                        confirmed_at=None if waiting else req.finished_at,
                    )
                )
        DeletionItem.objects.bulk_create(items, batch_size=BATCH)
        AuditEvent.objects.bulk_create(
            (
                AuditEvent(
                    at=req.submitted_at,
                    actor_label="scale generator",
                    source=Source.SYSTEM,
                    action="request.submitted",
                    object_type="DeletionRequest",
                    object_id=str(req.pk),
                    request=req,
                    customer_id=req.customer_id,
                    detail={"items": per_request},
                )
                for req in reqs
            ),
            batch_size=BATCH,
        )
        return len(items)
