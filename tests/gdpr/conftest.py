"""The GDPR cast: a data subject's runs (tagged with their reference) and finished requests."""

from __future__ import annotations

import pytest

from deletions.models import DeletionRequest, ParseRun
from tests.factories import make_runs
from tests.helpers import finish, submitted_request

SUBJECT = "SUBJ-SENTINEL-7731"


@pytest.fixture(autouse=True)
def _fresh_throttle(fresh_throttle):
    """The public form's throttle starts from zero in every test."""


@pytest.fixture
def subject_runs(workspace, customer):
    """Three of the customer's runs carry the subject's reference; two others do not."""
    ids = make_runs(workspace, customer, 5, prefix="subj_")
    ParseRun.objects.filter(run_id__in=ids[:3]).update(metadata={"subject_ref": SUBJECT})
    ParseRun.objects.filter(run_id__in=ids[3:]).update(metadata={"subject_ref": "someone-else"})
    return ids[:3]


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
