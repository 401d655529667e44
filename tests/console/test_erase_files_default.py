"""Staff set whether a customer's requests erase uploaded files by default (console and API,
audited), and read on a request whether its files go."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from deletions.models import AuditEvent, Customer, DeletionRequest
from tests.helpers import submitted_request

pytestmark = pytest.mark.django_db


def _fact(body: str, dd_id: str) -> str:
    found = re.search(rf'<dd id="{dd_id}">(.*?)</dd>', body, re.S)
    assert found, dd_id
    return re.sub(r"<[^>]+>", "", found.group(1))


def _edit(customer: Customer, **changes: str) -> dict[str, str]:
    values = {
        "name": customer.name,
        "external_ref": customer.external_ref,
        "slug": customer.slug,
        "is_active": "on",
        "cooling_off_hours": "0",
        "time_zone": "",
    }
    return {**values, **changes}


def test_staff_set_the_customers_default_on_the_console_and_it_is_audited(
    client, staff_admin, customer
):
    client.force_login(staff_admin)
    detail = reverse("console:customer_detail", args=[customer.pk])
    assert _fact(client.get(detail).content.decode(), "erase-files-default").startswith(
        "kept by default"
    )
    form = client.get(reverse("console:customer_edit", args=[customer.pk])).content.decode()
    assert 'name="erase_files_default"' in form

    url = reverse("console:customer_edit", args=[customer.pk])
    assert client.post(url, _edit(customer, erase_files_default="on")).status_code == 302
    customer.refresh_from_db()
    assert customer.erase_files_default
    event = AuditEvent.objects.filter(action="customer.updated").latest("at")
    assert event.before == {"erase_files_default": "False"}
    assert event.after == {"erase_files_default": "True"}
    assert _fact(client.get(detail).content.decode(), "erase-files-default").startswith(
        "erased by default"
    )

    # Unticked again: back to keeping them.
    client.post(url, _edit(customer))
    customer.refresh_from_db()
    assert not customer.erase_files_default


def test_the_api_reads_and_sets_the_customers_default(staff_admin_api, customer):
    url = f"/api/v1/customers/{customer.pk}"
    assert staff_admin_api.get(url).json()["erase_files_default"] is False
    assert staff_admin_api.patch(
        url, {"erase_files_default": "yes"}, format="json"
    ).status_code == (400)
    changed = staff_admin_api.patch(url, {"erase_files_default": True}, format="json")
    assert changed.status_code == 200, changed.content
    assert changed.json()["erase_files_default"] is True
    assert Customer.objects.get(pk=customer.pk).erase_files_default
    event = AuditEvent.objects.filter(action="customer.updated").latest("at")
    assert event.after == {"erase_files_default": "True"}
    listed = staff_admin_api.get("/api/v1/customers").json()["results"]
    assert [c["erase_files_default"] for c in listed if c["id"] == customer.pk] == [True]


def test_a_customer_created_over_the_api_may_say_its_default(staff_admin_api):
    created = staff_admin_api.post(
        "/api/v1/customers",
        {
            "name": "Initech",
            "external_ref": "initech",
            "slug": "initech",
            "erase_files_default": True,
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    assert Customer.objects.get(slug="initech").erase_files_default


def test_the_console_request_page_says_whether_the_files_go(
    client, viewer, workspace, customer, member
):
    kept = submitted_request(workspace, customer, member, runs=1, prefix="k_")
    erased = submitted_request(workspace, customer, member, runs=1, prefix="e_", erase_files=True)
    client.force_login(viewer)

    def line(req: DeletionRequest) -> str:
        page = client.get(reverse("console:request_detail", args=[req.pk]))
        return _fact(page.content.decode(), "request-files")

    assert line(erased) == "erased with the runs"
    assert line(kept) == "Not part of this request: left at Extend"
