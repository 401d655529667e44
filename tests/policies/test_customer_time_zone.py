"""A customer's time zone: set by staff on the console and over the API, checked, audited, and
the hour its age policies are evaluated at."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test.utils import override_settings
from django.urls import reverse

from deletions.accounts import roles
from deletions.models import AuditEvent, Customer
from deletions.policies.schedule import customer_zone, next_daily_hour
from tests.factories import staff_user
from tests.helpers import client_for

pytestmark = pytest.mark.django_db


def test_staff_set_a_customers_time_zone_on_the_console_and_a_wrong_one_is_refused(client, acme):
    admin = staff_user(roles.ADMIN, username="tz-admin")
    client.force_login(admin)
    url = reverse("console:customer_edit", args=[acme.pk])
    values = {
        "name": acme.name,
        "external_ref": acme.external_ref,
        "slug": acme.slug,
        "is_active": "on",
        "cooling_off_hours": "0",
    }
    refused = client.post(url, {**values, "time_zone": "Mars/Olympus"})
    assert refused.status_code == 200
    acme.refresh_from_db()
    assert acme.time_zone == ""
    client.post(url, {**values, "time_zone": "Europe/Paris"})
    acme.refresh_from_db()
    assert acme.time_zone == "Europe/Paris"
    event = AuditEvent.objects.filter(action="customer.updated").latest("at")
    assert event.after == {**(event.after or {}), "time_zone": "Europe/Paris"}
    assert (
        "Europe/Paris"
        in client.get(reverse("console:customer_detail", args=[acme.pk])).content.decode()
    )


def test_the_api_sets_and_checks_a_customers_time_zone(acme):
    api = client_for(staff_user(roles.ADMIN, username="tz-api-admin"))
    url = f"/api/v1/customers/{acme.pk}"
    wrong = api.patch(url, {"time_zone": "Mars/Olympus"}, format="json")
    assert wrong.status_code == 400
    right = api.patch(url, {"time_zone": "America/New_York"}, format="json")
    assert right.status_code == 200, right.content
    assert right.json()["time_zone"] == "America/New_York"
    assert Customer.objects.get(pk=acme.pk).time_zone == "America/New_York"


@override_settings(RETENTION_POLICY_EVALUATION_HOUR=2)
def test_age_policies_are_evaluated_at_the_hour_in_the_customers_zone(acme):
    acme.time_zone = "Europe/Paris"
    after = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    moment = next_daily_hour(customer_zone(acme), after, 2)
    # 2 o'clock in Paris in winter is 1 o'clock UTC, the next day.
    assert moment.astimezone(UTC) == datetime(2026, 12, 3, 1, 0, tzinfo=UTC)
