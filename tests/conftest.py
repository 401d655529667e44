"""The usual cast: a customer with a member and an admin, a user of another customer, staff;
a web client and an API client for each; a request waiting for a decision and a legal hold."""

from __future__ import annotations

import ipaddress
import os
import socket

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client

from deletions.accounts import roles
from deletions.models import LegalHold, Membership, Source
from deletions.requests import holds
from tests.factories import CustomerFactory, WorkspaceFactory, customer_user, staff_user
from tests.helpers import (
    HOLD_REASON,
    HOLD_REFERENCE,
    client_for,
    service_client_for,
    submitted_request,
)

# The Extend simulator and the tests' own receivers listen on 127.0.0.1 over http: the outbound
# URL policy lets them through by name, as an operator lists an on-premises Extend.
LOCAL_HOSTS = "127.0.0.1,localhost"

# The browser tests' fixtures (browser, page, new_page), shared by every browser test.
pytest_plugins = ["tests.browser"]


def pytest_configure(config):
    # Real hashing costs ~0.3 s per user; tests create hundreds of users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.OUTBOUND_ALLOWED_HOSTS = LOCAL_HOSTS.split(",")
    # Worker and server processes the tests start read it from their environment.
    os.environ["OUTBOUND_ALLOWED_HOSTS"] = LOCAL_HOSTS


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Let transactional tests flush the append-only tables, on the test database only.

    PostgreSQL: TRUNCATE, allowed by a setting of the database (which a session cannot set).
    SQLite: the flush's DELETEs run in one transaction with the 'flush' exemption row, which is
    removed again before it commits; every other statement meets the triggers as in production.
    """
    from django.db import connection

    if connection.vendor == "postgresql":
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            name = connection.settings_dict["NAME"]
            cursor.execute(f'ALTER DATABASE "{name}" SET portal.allow_truncate = on')
        connection.close()
        yield
        return
    from django.db.backends.sqlite3.operations import DatabaseOperations

    flush = DatabaseOperations.execute_sql_flush

    def flush_with_exemption(self, sql_list):
        flush(
            self,
            [
                "INSERT INTO portal_append_only_exemption (kind, value) VALUES ('flush', '')",
                *sql_list,
                "DELETE FROM portal_append_only_exemption WHERE kind = 'flush'",
            ],
        )

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DatabaseOperations, "execute_sql_flush", flush_with_exemption)
        yield


@pytest.fixture(scope="session", autouse=True)
def _quiet_broker():
    """Tasks enqueued by ordinary tests go nowhere; live-worker tests use a real broker."""
    from portal.celery import app

    app.conf.broker_url = "memory://localhost/"
    app.conf.broker_transport_options = {}
    yield


class FakeDNS(dict[str, list[str]]):
    """Names the tests resolve (the machine has no DNS): ``dns["hooks.example"] = ["1.2.3.4"]``.

    Replaces ``deletions.core.outbound.resolve``, the policy's one call to the resolver; a name it
    does not know fails as an unknown name does.
    """

    def resolve(self, host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
        if host not in self:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [ipaddress.ip_address(a) for a in self[host]]


@pytest.fixture
def dns(monkeypatch):
    from deletions.core import outbound

    fake = FakeDNS()
    monkeypatch.setattr(outbound, "resolve", fake.resolve)
    return fake


@pytest.fixture
def workspace(db):
    return WorkspaceFactory()


@pytest.fixture
def customer(db):
    return CustomerFactory(name="Acme Health")


@pytest.fixture
def other_customer(db):
    return CustomerFactory(name="Globex Legal")


@pytest.fixture
def member(customer):
    return customer_user(customer, username="alice")


@pytest.fixture
def customer_admin(customer):
    return customer_user(customer, role=Membership.Role.ADMIN, username="carol")


@pytest.fixture
def outsider(other_customer):
    return customer_user(other_customer, username="mallory")


@pytest.fixture
def viewer(db):
    return staff_user(roles.VIEWER, username="victor")


@pytest.fixture
def approver(db):
    return staff_user(roles.APPROVER, username="anna")


@pytest.fixture
def second_approver(db):
    return staff_user(roles.APPROVER, username="arthur")


@pytest.fixture
def staff_admin(db):
    return staff_user(roles.ADMIN, username="olga")


@pytest.fixture
def client_of():
    """A web client signed in as the given user (or anonymous for None)."""

    def make(user):
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    return make


@pytest.fixture
def member_api(member):
    """An API client with a token the member made for themselves; likewise for each role."""
    return client_for(member)


@pytest.fixture
def admin_api(customer_admin):
    return client_for(customer_admin)


@pytest.fixture
def outsider_api(outsider):
    return client_for(outsider)


@pytest.fixture
def viewer_api(viewer):
    return client_for(viewer)


@pytest.fixture
def approver_api(approver):
    return client_for(approver)


@pytest.fixture
def second_approver_api(second_approver):
    return client_for(second_approver)


@pytest.fixture
def staff_admin_api(staff_admin):
    return client_for(staff_admin)


@pytest.fixture
def customer_service_api(customer_admin, customer):
    """A service token of customer A, created by its admin."""
    return service_client_for(customer_admin, customer)


@pytest.fixture
def operator_service_api(staff_admin):
    """A service token of the operator, created by a console admin."""
    return service_client_for(staff_admin)


@pytest.fixture
def pending_request(workspace, customer, member):
    """Three of the customer's runs, asked to be deleted by the member, awaiting a decision."""
    return submitted_request(workspace, customer, member, runs=3)


@pytest.fixture
def hold(staff_admin, customer, pending_request):
    """A legal hold on the whole customer, placed by the staff admin over the pending request."""
    return holds.place_hold(
        scope=LegalHold.Scope.CUSTOMER,
        customer=customer,
        reason=HOLD_REASON,
        reference=HOLD_REFERENCE,
        actor=staff_admin,
        source=Source.WEB,
    )


@pytest.fixture
def fresh_throttle():
    """Throttle counters live in the cache, shared across tests: empty it before and after.
    A folder whose pages are throttled turns it on for all its tests in its conftest."""
    cache.clear()
    yield
    cache.clear()


def pytest_collection_modifyitems(config, items):
    """PostgreSQL-only tests are deselected (not skipped) when running on the embedded default."""
    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        (dropped if item.get_closest_marker("postgres") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
