"""The security suite's world: customer A with a workspace whose API key is a sentinel, a
request, several users; customer B with its own user; every staff role."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from deletions.models import DeletionItem, DeletionRequest, Membership
from tests.factories import WorkspaceFactory, customer_user
from tests.helpers import force_status, submitted_request
from tests.security.urlwalk import Objects

# Never shown anywhere in clear: pages, logs, task arguments, e-mails, audit records, dumps.
SENTINEL_KEY = "sk_SENTINEL_4f1c9e7a2b8d6053aa17c0ffee9b2d41"
SENTINEL_WEBHOOK_SECRET = "wss_SENTINEL_77d0c2b95e14a3f8"
SENTINELS = (SENTINEL_KEY, SENTINEL_WEBHOOK_SECRET)

ROLES = (
    "anonymous",
    "member",
    "customer_admin",
    "outsider",
    "outsider_admin",
    "viewer",
    "approver",
    "staff_admin",
    "superuser",
)
CUSTOMER_A_ROLES = {"member", "customer_admin"}
OUTSIDER_ROLES = {"outsider", "outsider_admin"}
STAFF_ROLES = {"viewer", "approver", "staff_admin", "superuser"}


@dataclass
class World:
    objects: Objects
    users: dict[str, Any]


@pytest.fixture
def sentinel_workspace(db):
    workspace = WorkspaceFactory(name="Sentinel workspace", api_key=SENTINEL_KEY)
    workspace.set_webhook_secret(SENTINEL_WEBHOOK_SECRET)
    workspace.save()
    return workspace


@pytest.fixture
def world(
    sentinel_workspace,
    customer,
    other_customer,
    member,
    customer_admin,
    outsider,
    viewer,
    approver,
    staff_admin,
) -> World:
    bob = customer_user(customer, username="bob")
    outsider_admin = customer_user(other_customer, role=Membership.Role.ADMIN, username="boris")
    superuser = get_user_model().objects.create_superuser(
        "root", "root@example.com", "correct horse battery staple"
    )
    # Finished, so that its receipt and certificate pages exist too (pending-state pages are
    # covered by the console's and customer pages' own tests).
    request_a = submitted_request(sentinel_workspace, customer, member, runs=3, prefix="a_")
    request_a.items.update(status=DeletionItem.Status.DELETED, confirmed_at=timezone.now())
    request_a = force_status(
        request_a,
        DeletionRequest.Status.COMPLETED,
        deleted_count=3,
        approved_at=timezone.now(),
        started_at=timezone.now(),
        finished_at=timezone.now(),
    )
    submitted_request(sentinel_workspace, other_customer, outsider, runs=2, prefix="b_")
    objects = Objects(
        customer=customer,
        workspace=sentinel_workspace,
        request=request_a,
        member=bob,
        staff=viewer,
    )
    users = {
        "anonymous": None,
        "member": member,
        "customer_admin": customer_admin,
        "outsider": outsider,
        "outsider_admin": outsider_admin,
        "viewer": viewer,
        "approver": approver,
        "staff_admin": staff_admin,
        "superuser": superuser,
    }
    return World(objects=objects, users=users)
