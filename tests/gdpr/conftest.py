"""The GDPR cast: a data subject's runs (tagged with their reference) and finished requests."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from deletions.models import DeletionAttempt, DeletionItem, DeletionRequest, ParseRun
from tests.factories import make_runs
from tests.helpers import force_status, submitted_request

SUBJECT = "SUBJ-SENTINEL-7731"


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def subject_runs(workspace, customer):
    """Three of the customer's runs carry the subject's reference; two others do not."""
    ids = make_runs(workspace, customer, 5, prefix="subj_")
    ParseRun.objects.filter(run_id__in=ids[:3]).update(metadata={"subject_ref": SUBJECT})
    ParseRun.objects.filter(run_id__in=ids[3:]).update(metadata={"subject_ref": "someone-else"})
    return ids[:3]


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


@pytest.fixture
def finished_request(workspace, customer, member):
    req = submitted_request(
        workspace,
        customer,
        member,
        runs=4,
        prefix="fin_",
        kind=DeletionRequest.Kind.GDPR,
        subject_ref=SUBJECT,
    )
    return finish(req)


@pytest.fixture
def client_of():
    def make(user):
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    return make
