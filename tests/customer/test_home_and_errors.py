"""Where users land after sign-in, and the error pages in the portal's layout."""

from __future__ import annotations

from django.test import RequestFactory, override_settings
from django.urls import reverse

from deletions.views.errors import server_error


def test_customer_users_are_sent_to_their_runs(client, member):
    client.force_login(member)
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("customer:runs")


def test_staff_land_on_the_console_or_the_start_page(client, approver):
    client.force_login(approver)
    response = client.get(reverse("home"))
    try:
        dashboard = reverse("console:dashboard")
    except Exception:
        assert response.status_code == 200
        assert "waiting for a decision" in response.content.decode()
    else:
        assert response.status_code == 302
        assert response["Location"] == dashboard


@override_settings(DEBUG=False)
def test_an_unknown_url_renders_our_404_page(client, member):
    client.force_login(member)
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "Page not found" in body
    assert "portal.css" in body


@override_settings(DEBUG=False)
def test_a_refusal_renders_our_403_page(client, approver):
    client.force_login(approver)
    response = client.get(reverse("customer:runs"))
    assert response.status_code == 403
    assert "have access to this page" in response.content.decode()
    assert "portal.css" in response.content.decode()


def test_a_server_error_renders_our_500_page(db):
    response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()


def test_every_customer_page_carries_a_csp_without_inline_scripts(client, member):
    client.force_login(member)
    response = client.get(reverse("customer:runs"))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "onclick=" not in response.content.decode()
    assert 'style="' not in response.content.decode()
