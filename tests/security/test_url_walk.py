"""RELIABILITY 13, 14 and 16 over every URL of the project, enumerated from the resolver.

Each role (anonymous, customer A's users, customer B's users, every staff role) calls every URL
with GET and with POST. Parameters are filled with customer A's objects (tests/security/urlwalk.py);
a parameter it cannot fill fails the walk, so a new page cannot be forgotten. Along the way every
HTML page must carry a CSP without 'unsafe-inline' scripts and no response may contain the
sentinel API key or webhook secret.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import reverse

from tests.security.conftest import (
    CUSTOMER_A_ROLES,
    OUTSIDER_ROLES,
    ROLES,
    SENTINELS,
    STAFF_ROLES,
)
from tests.security.urlwalk import Route, all_routes, urls

# Pages anyone may open without signing in (they answer 200 to anonymous users).
PUBLIC_NAMES = {
    "login",
    "logout",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
    "accept_invitation",
    "admin:login",
    "admin:logout",
    "admin:password_reset",
    "extend_webhook",  # signature-authenticated: 401 without one (test_webhooks_refuse_...)
}
# Whole areas that are public by design: health checks, the public GDPR erasure intake and
# certificate verification (and the certificates' public keys, under /.well-known/), the API's
# schema and docs.
PUBLIC_ROUTE = re.compile(
    r"^(health/|erasure/|certificates?/verify|\.well-known/)|^api/.*(schema|docs|redoc)"
)
# Staff-only areas: a customer user gets 403 or a redirect to a login page.
STAFF_NAMESPACES = {"console", "admin"}
LOGOUT_NAMES = {"logout", "admin:logout"}
# Answers 503 by design when no worker has reported in (none runs during this test).
MAY_BE_UNAVAILABLE = {"health:worker"}
LOGIN_PATHS = ("/accounts/login/", "/admin/login/")


def is_public(route: Route) -> bool:
    return route.name in PUBLIC_NAMES or bool(PUBLIC_ROUTE.search(route.route))


def area(route: Route) -> str:
    """Who a page is for: public, staff (console and admin), api, or customer (the rest)."""
    if is_public(route):
        return "public"
    if route.namespace in STAFF_NAMESPACES or route.route.startswith(("console/", "admin/")):
        return "staff"
    if route.namespace == "api":
        return "api"
    return "customer"


@dataclass
class Hit:
    route: Route
    url: str
    method: str
    status: int
    location: str
    missing_status: int | None = None  # the answer for an object that does not exist

    def __str__(self) -> str:
        where = f" -> {self.location}" if self.location else ""
        return f"{self.method} {self.url} ({self.route.name}): {self.status}{where}"


def _to_login(hit: Hit) -> bool:
    return hit.status == 302 and hit.location.startswith(LOGIN_PATHS)


def api_headers(user) -> dict[str, str]:
    """A bearer token for *user* when the JSON API exists (it authenticates by token only)."""
    if user is None or not any(r.namespace == "api" for r in all_routes()):
        return {}
    from deletions.models import ApiToken

    _, raw = ApiToken.issue(user, name="security walk")
    return {"Authorization": f"Bearer {raw}"}


def _missing_url(route: Route, world) -> str | None:
    """The same URL for an object that does not exist (integer parameters only)."""
    kwargs = world.objects.fill(route)
    if not kwargs or not all(isinstance(value, int) for value in kwargs.values()):
        return None
    return reverse(route.name, kwargs=dict.fromkeys(kwargs, 987654321))


def walk(client: Client, world, role: str = "anonymous") -> tuple[list[Hit], list[str]]:
    """Call every URL with GET and POST; return the hits and the generic violations."""
    user = world.users.get(role)
    probe_missing = role in OUTSIDER_ROLES
    hits: list[Hit] = []
    problems: list[str] = []
    token = api_headers(world.users.get(role))
    world.objects.signed_in = user if role in CUSTOMER_A_ROLES else None
    for route, url in urls(world.objects):
        extra = token if route.namespace == "api" else {}
        for method in ("GET", "POST"):
            if method == "GET":
                response = client.get(url, headers=extra)
            elif route.namespace == "api":
                response = client.post(url, "{}", content_type="application/json", headers=extra)
            else:
                response = client.post(url, {})
            hit = Hit(route, url, method, response.status_code, response.get("Location", ""))
            hits.append(hit)
            if route.name in LOGOUT_NAMES and user is not None:
                _login(client, user)  # the walk goes on as the same user
            if response.status_code >= 500 and route.name not in MAY_BE_UNAVAILABLE:
                exc = getattr(response, "exc_info", None)
                problems.append(
                    f"server error: {hit} {exc[1]!r}" if exc else f"server error: {hit}"
                )
            missing = _missing_url(route, world) if probe_missing else None
            if missing is not None:
                again = (
                    client.get(missing, headers=extra)
                    if method == "GET"
                    else (
                        client.post(missing, "{}", content_type="application/json", headers=extra)
                        if route.namespace == "api"
                        else client.post(missing, {})
                    )
                )
                hit.missing_status = again.status_code
            body = b"".join(response) if response.streaming else response.content
            for sentinel in SENTINELS:
                if sentinel.encode() in body or sentinel in str(response.headers):
                    problems.append(f"the sentinel secret is in the response: {hit}")
            ctype = response.get("Content-Type", "")
            if ctype.startswith("text/html"):
                csp = response.get("Content-Security-Policy", "")
                script_src = next(
                    (d for d in csp.split(";") if d.strip().startswith("script-src")), ""
                )
                if not csp:
                    problems.append(f"HTML without a Content-Security-Policy: {hit}")
                elif "unsafe-inline" in script_src or "unsafe-eval" in script_src:
                    problems.append(f"CSP allows inline scripts: {hit} ({script_src})")
    return hits, problems


def _login(client: Client, user) -> None:
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")


def _client(world, role: str) -> Client:
    client = Client(raise_request_exception=False)
    if world.users[role] is not None:
        _login(client, world.users[role])
    return client


def rule_violations(role: str, hit: Hit) -> str | None:
    """The audience rules of RELIABILITY 13 for one response, or None if it keeps them."""
    route = hit.route
    if role == "anonymous":
        if is_public(route):
            return None
        if _to_login(hit) or hit.status in (401, 403, 404, 405):
            return None
        return "anonymous users must be sent to a login page or refused"
    if is_public(route):
        return None
    if role in OUTSIDER_ROLES:
        if area(route) == "staff":
            ok = hit.status in (403, 405) or _to_login(hit)
            return None if ok else "a customer user must not reach a staff page"
        if area(route) in ("customer", "api") and route.has_object:
            # 404, never 403: a 403 would confirm customer A's object exists. A refusal that
            # does not depend on the object (405 for the method, 403 for a staff-only API
            # action) is the same answer a missing object gets, and tells nothing.
            if hit.status == 404 or hit.status == hit.missing_status != 200:
                return None
            return (
                f"another customer's object must answer 404 (a missing one got "
                f"{hit.missing_status})"
            )
        if route.has_object and not is_public(route) and hit.status == 200:
            return "another customer's object must not be shown"
        return None
    if role in CUSTOMER_A_ROLES:
        if area(route) == "staff":
            ok = hit.status in (403, 405) or _to_login(hit)
            return None if ok else "a customer user must not reach a staff page"
        if area(route) == "customer" and hit.method == "GET" and hit.status == 404:
            return "customer A's own object must be found"
        return None
    if role in STAFF_ROLES:
        if area(route) == "customer" and hit.status == 200 and route.has_object:
            return "staff are not customer users: customer pages must not serve them"
        return None
    raise AssertionError(f"unknown role {role}")


@pytest.mark.parametrize("role", ROLES)
def test_every_url_keeps_its_audience_csp_and_secrets(world, role):
    hits, problems = walk(_client(world, role), world, role)
    for hit in hits:
        broken = rule_violations(role, hit)
        if broken:
            problems.append(f"{broken}: {hit}")
    assert len(hits) >= 2 * 40, "the walk found suspiciously few URLs"
    assert not problems, f"{role}:\n" + "\n".join(problems)


def test_the_walk_reaches_every_audience():
    namespaces = {route.namespace for route in all_routes()}
    assert {"console", "customer", "admin", "health"} <= namespaces


def test_webhooks_refuse_a_call_without_a_signature(world):
    route = next(r for r in all_routes() if r.name == "extend_webhook")
    url = {r.name: u for r, u in urls(world.objects)}[route.name]
    response = Client().post(url, b"{}", content_type="application/json")
    assert response.status_code == 401


def test_an_unfillable_parameter_fails_with_advice(world):
    route = Route(
        "customer:new_page", "customer", "things/<int:thing_id>/", (("things", "thing_id"),)
    )
    with pytest.raises(AssertionError, match=r"Add it to Objects\._value"):
        world.objects.fill(route)
