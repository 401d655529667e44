"""The scale-data generator (bench/scale.py uses it at full size: a million items)."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import F

from deletions.models import AuditEvent, Customer, DeletionItem, DeletionRequest, ParseRun


def test_it_creates_the_requested_amounts_consistently(db):
    call_command(
        "generate_scale_data",
        items=2_000,
        runs_per_customer=1_500,
        requests=100,
        unassigned=300,
        stdout=io.StringIO(),
    )

    big = Customer.objects.get(slug="scale-big")
    assert DeletionRequest.objects.count() == 100
    assert DeletionItem.objects.count() == 2_000
    assert (
        ParseRun.objects.filter(customer=big, open_request__isnull=True, state="present").count()
        == 1_500
    )
    assert ParseRun.objects.filter(customer__isnull=True).count() == 300
    assert AuditEvent.objects.filter(action="request.submitted").count() == 100
    # Every item is on its own run, of the request's customer.
    assert DeletionItem.objects.values("parse_run").distinct().count() == 2_000
    assert not DeletionItem.objects.exclude(parse_run__customer=F("request__customer")).exists()
    # Waiting requests hold their runs; finished ones deleted them.
    waiting = DeletionRequest.objects.filter(status=DeletionRequest.Status.PENDING_APPROVAL)
    assert waiting.exists()
    assert ParseRun.objects.filter(open_request__in=waiting).count() == 20 * waiting.count()


def test_it_refuses_a_database_that_does_not_look_throw_away(db, monkeypatch):
    monkeypatch.setitem(connection.settings_dict, "NAME", "portal_production")
    with pytest.raises(CommandError, match="does not look like a throw-away"):
        call_command("generate_scale_data", items=10, requests=1, runs_per_customer=1)
    assert not DeletionRequest.objects.exists()
