"""Tenant isolation: a user of another customer gets 404 on every customer object URL, and a
member gets 404 on a colleague's request. Customer pages refuse staff and anonymous users."""

from __future__ import annotations

import pytest
from django.urls import reverse

from deletions.models import DeletionRequest
from tests import drive
from tests.factories import customer_user
from tests.helpers import submitted_request

REQUEST_URLS = ["request", "progress", "items", "cancel", "receipt", "receipt_csv"]


@pytest.fixture
def finished(workspace, customer, member, approver):
    req = submitted_request(workspace, customer, member, runs=2)
    return drive.run_to_the_end(req, approver)


@pytest.mark.parametrize("name", REQUEST_URLS)
def test_a_user_of_another_customer_gets_404(client, outsider, finished, name):
    client.force_login(outsider)
    url = reverse(f"customer:{name}", args=[finished.pk])
    assert client.get(url).status_code == 404
    assert client.post(url).status_code in (404, 405)


@pytest.mark.parametrize("name", REQUEST_URLS)
def test_another_member_of_the_same_customer_gets_404(client, customer, finished, name):
    colleague = customer_user(customer, username="bob")
    client.force_login(colleague)
    assert client.get(reverse(f"customer:{name}", args=[finished.pk])).status_code == 404


@pytest.mark.parametrize("name", REQUEST_URLS)
def test_the_owner_can_open_each_url(client, member, finished, name):
    client.force_login(member)
    assert client.get(reverse(f"customer:{name}", args=[finished.pk])).status_code == 200


def test_an_outsider_cannot_cancel_a_request(client, outsider, workspace, customer, member):
    req = submitted_request(workspace, customer, member, runs=1)
    client.force_login(outsider)
    assert client.post(reverse("customer:cancel", args=[req.pk])).status_code == 404
    req.refresh_from_db()
    assert req.status == DeletionRequest.Status.PENDING_APPROVAL


@pytest.mark.parametrize("name", ["deactivate", "reactivate", "resend_invitation"])
def test_an_admin_of_another_customer_gets_404_on_team_users(client, other_customer, member, name):
    their_admin = customer_user(other_customer, role="admin", username="eve")
    client.force_login(their_admin)
    response = client.post(reverse(f"customer:{name}", args=[member.pk]))
    assert response.status_code == 404
    member.refresh_from_db()
    assert member.is_active


@pytest.mark.parametrize(
    "url",
    ["customer:runs", "customer:requests", "customer:team", "customer:new_request"],
)
def test_staff_users_are_refused_the_customer_pages(client, approver, url):
    client.force_login(approver)
    assert client.get(reverse(url)).status_code == 403


@pytest.mark.parametrize(
    "url",
    ["customer:runs", "customer:requests", "customer:team"],
)
def test_anonymous_users_are_sent_to_sign_in(client, db, url):
    response = client.get(reverse(url))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_customer_users_cannot_reach_staff_only_pages(client, member):
    client.force_login(member)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_a_deactivated_customer_is_refused(client, customer, member):
    customer.is_active = False
    customer.save()
    client.force_login(member)
    assert client.get(reverse("customer:runs")).status_code == 403
