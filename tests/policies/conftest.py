"""A customer with runs of known ages, its admin, two approvers and an operator; and the live
engine's fixtures (tests/engine/conftest.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from deletions.accounts import roles
from deletions.models import LegalHold, Membership, ParseRun, RetentionPolicy, Source
from deletions.policies import exemptions, rules
from deletions.requests import holds

# The live engine (real Celery worker and beat processes on a private broker), for
# test_live_policies.py.
from tests.engine.conftest import (  # noqa: F401
    fast_settings,
    live_engine,
    private_redis,
    redis_server,
)
from tests.factories import CustomerFactory, WorkspaceFactory, customer_user, staff_user

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def acme(db):
    return CustomerFactory(name="Acme", external_ref="acme", slug="acme")


@pytest.fixture
def ws(db):
    return WorkspaceFactory(name="Main")


@pytest.fixture
def acme_admin(acme):
    return customer_user(acme, role=Membership.Role.ADMIN, username="acme-admin")


@pytest.fixture
def approvers(db):
    return (
        staff_user(roles.APPROVER, username="approver-1"),
        staff_user(roles.APPROVER, username="approver-2"),
    )


def hold_run(run, actor, reference="L-1"):
    """A legal hold on *run* alone, placed by the staff admin *actor*."""
    return holds.place_hold(
        scope=LegalHold.Scope.RUNS,
        runs=[run],
        reason="litigation",
        reference=reference,
        actor=actor,
        source=Source.WEB,
    )


def exempt(run, actor, reason="audit copy"):
    """*run* exempted from its customer's policies by *actor*."""
    return exemptions.exempt_run(run, actor=actor, source=Source.WEB, reason=reason)


def new_customer(name):
    """Another customer (untyped, as fixtures are: factories are dynamic)."""
    return CustomerFactory(name=name)


def aged_runs(ws, customer, ages_in_days, *, prefix="age_", processed_hours_ago=None):
    """One present run per age (days before NOW), named ``{prefix}{age}d_{n}``."""
    runs = [
        ParseRun(
            workspace=ws,
            customer=customer,
            run_id=f"{prefix}{age}d_{n}",
            file_name=f"doc-{n}.pdf",
            extend_status="PROCESSED",
            extend_created_at=NOW - timedelta(days=age),
            processed_at=(
                NOW - timedelta(hours=processed_hours_ago[n])
                if processed_hours_ago is not None
                else None
            ),
        )
        for n, age in enumerate(ages_in_days)
    ]
    return ParseRun.objects.bulk_create(runs)


def active_policy(customer, proposer, approvers, *, notice=True, **values):
    """A policy proposed by *proposer* and approved by as many of *approvers* as it needs, its
    first-action notice sent at once (*notice*) or left to beat's tick."""
    values.setdefault("name", "Thirty days")
    values.setdefault("reason", "Contract clause 7.2: documents are kept 30 days")
    policy = rules.propose_policy(
        customer, rules.PolicyValues(**values), actor=proposer, source=Source.WEB
    )
    for approver in approvers[: policy.required_approvals]:
        policy = rules.approve_policy(policy, actor=approver, source=Source.WEB, comment="ok")
    return noticed(policy) if notice else policy


def noticed(policy):
    """*policy* with its first-action notice sent when it was approved (as beat's next tick
    would): evaluations may then act from its first_action_at."""
    RetentionPolicy.objects.filter(pk=policy.pk).update(first_notice_sent_at=policy.approved_at)
    policy.refresh_from_db()
    return policy
