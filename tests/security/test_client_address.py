"""The client's address behind the documented nginx -> gunicorn set-up: every request reaches the
portal from the proxy (REMOTE_ADDR 127.0.0.1) with the client's address appended to
X-Forwarded-For. Sign-in lockouts and the audit trail use the client's address, and a client
cannot choose it by writing the header itself."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django.urls import reverse
from rest_framework.request import Request
from rest_framework.views import APIView

from deletions.api.throttling import TokenRateThrottle
from deletions.core.client_address import client_ip
from deletions.models import AuditEvent

PASSWORD = "correct horse battery staple"  # the factories' password
PROXY = "127.0.0.1"
ATTACKER = "203.0.113.66"
APPROVER_HOME = "198.51.100.20"


@pytest.fixture
def behind_nginx(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.TRUSTED_PROXY_NETWORKS = ["127.0.0.1/32", "::1/128"]
    return settings


def sign_in(client, password, *, remote_addr=PROXY, forwarded_for=None, username="anna"):
    extra = {"REMOTE_ADDR": remote_addr}
    if forwarded_for is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


def test_failed_sign_ins_from_one_client_do_not_lock_out_the_user_elsewhere(
    client, approver, behind_nginx
):
    for _ in range(behind_nginx.AXES_FAILURE_LIMIT + 3):
        sign_in(client, "guess", forwarded_for=ATTACKER)
    assert sign_in(client, PASSWORD, forwarded_for=ATTACKER).status_code == 429
    response = sign_in(client, PASSWORD, forwarded_for=APPROVER_HOME)
    assert response.status_code == 302
    assert "_auth_user_id" in client.session


def test_writing_the_victims_address_into_the_header_locks_out_only_the_attacker(
    client, approver, behind_nginx
):
    # nginx appends the address it was reached from to whatever the client sent.
    spoofed = f"{APPROVER_HOME}, {ATTACKER}"
    for _ in range(behind_nginx.AXES_FAILURE_LIMIT + 3):
        sign_in(client, "guess", forwarded_for=spoofed)
    assert sign_in(client, PASSWORD, forwarded_for=spoofed).status_code == 429
    assert sign_in(client, PASSWORD, forwarded_for=APPROVER_HOME).status_code == 302


def test_a_client_that_is_not_the_proxy_cannot_escape_its_lockout_with_the_header(
    client, approver, behind_nginx
):
    for n in range(behind_nginx.AXES_FAILURE_LIMIT + 3):
        sign_in(client, "guess", remote_addr=ATTACKER, forwarded_for=f"192.0.2.{n}")
    fresh_header = sign_in(client, PASSWORD, remote_addr=ATTACKER, forwarded_for="192.0.2.200")
    assert fresh_header.status_code == 429
    assert sign_in(client, PASSWORD, forwarded_for=APPROVER_HOME).status_code == 302


def test_the_audit_trail_keeps_the_address_of_a_signed_in_actor(
    client, customer_admin, member, behind_nginx
):
    client.force_login(customer_admin)
    client.post(
        reverse("customer:deactivate", args=[member.pk]),
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=f"10.9.9.9, {APPROVER_HOME}",
    )
    event = AuditEvent.objects.get(action="user.deactivated")
    assert event.actor_label == "carol"
    assert event.client_address == APPROVER_HOME


def test_the_audit_trail_keeps_no_address_of_an_anonymous_data_subject(
    client, customer, behind_nginx
):
    client.post(
        reverse("public:form", args=[customer.slug]),
        {"email": "jane@example.org", "reference": "R-1"},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=ATTACKER,
    )
    event = AuditEvent.objects.get(action="intake.received")
    assert event.client_address is None


@pytest.mark.parametrize(
    ("count", "remote_addr", "forwarded_for", "expected"),
    [
        # No proxy configured (the default): the header is nobody's word.
        (0, ATTACKER, APPROVER_HOME, ATTACKER),
        (0, PROXY, APPROVER_HOME, PROXY),
        # One proxy: the entry it appended, never one the client wrote before it.
        (1, PROXY, ATTACKER, ATTACKER),
        (1, PROXY, f"{APPROVER_HOME}, junk, {ATTACKER}", ATTACKER),
        (1, "::1", f"{APPROVER_HOME}, 2001:db8::7", "2001:db8::7"),
        (1, "::ffff:127.0.0.1", ATTACKER, ATTACKER),
        (1, PROXY, "fe80::1%eth0", "fe80::1"),
        (1, ATTACKER, APPROVER_HOME, ATTACKER),
        (1, PROXY, None, PROXY),
        # gunicorn on a Unix socket: only the proxy can connect.
        (1, "", ATTACKER, ATTACKER),
        # A CDN in front of nginx: the address the CDN appended.
        (2, PROXY, f"{APPROVER_HOME}, {ATTACKER}, 192.0.2.9", ATTACKER),
        # Fewer entries than proxies: the client is unknown, never guessed from the left.
        (2, PROXY, ATTACKER, PROXY),
    ],
)
def test_the_client_address_is_read_only_where_a_trusted_proxy_wrote_it(
    settings, count, remote_addr, forwarded_for, expected
):
    settings.TRUSTED_PROXY_COUNT = count
    settings.TRUSTED_PROXY_NETWORKS = ["127.0.0.1/32", "::1/128"]
    extra = {"REMOTE_ADDR": remote_addr}
    if forwarded_for is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded_for
    assert client_ip(RequestFactory().get("/", **extra)) == expected


def test_the_api_counts_calls_without_a_token_by_the_same_address(behind_nginx):
    # DRF's own get_ident would key on the whole header, which the client writes.
    spoofed = RequestFactory().get(
        "/api/v1/requests", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"192.0.2.77, {ATTACKER}"
    )
    key = TokenRateThrottle().get_cache_key(Request(spoofed), view=APIView())
    assert key == f"api-throttle:ip:{ATTACKER}"
