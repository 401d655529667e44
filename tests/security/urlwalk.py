"""Every URL pattern of the project, enumerated from the resolver, with its parameters filled.

A new page is walked automatically. A parameter this module cannot fill fails the walk with a
message saying where to add it (``Objects.fill``), so no page can be forgotten.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.contrib.auth.tokens import default_token_generator
from django.contrib.contenttypes.models import ContentType
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

# A named group at the end of a regex route that matches anything: a catch-all.
_CATCH_ALL = re.compile(r"\(\?P<\w+>(?P<body>.*)\)\$?$")
_PARAM = re.compile(r"<(?:(?P<conv>[^>:]+):)?(?P<name>[^>]+)>|\(\?P<(?P<rname>[^>]+)>")


@dataclass(frozen=True)
class Route:
    """One URL pattern: its reversible name, the route text and its parameters in order."""

    name: str  # "namespace:name" (or "name" at the top level)
    namespace: str  # the outermost namespace, "" at the top level
    route: str  # the concatenated route or regex text, for messages and classification
    params: tuple[tuple[str, str], ...]  # (segment before the parameter, parameter name)
    path: str = ""  # the URL itself, for unnamed catch-all patterns that cannot be reversed

    @property
    def has_object(self) -> bool:
        return bool(self.params)


def _params(route: str) -> tuple[tuple[str, str], ...]:
    found = []
    for match in _PARAM.finditer(route):
        name = match.group("name") or match.group("rname")
        before = route[: match.start()].replace("^", "").rstrip("/")
        segment = before.rsplit("/", 1)[-1]
        found.append((segment, name))
    return tuple(found)


def all_routes() -> list[Route]:
    """Every named pattern reachable from ROOT_URLCONF, recursively through includes."""
    routes: list[Route] = []
    unnamed: list[str] = []

    def walk(patterns: Any, prefix: str, namespaces: tuple[str, ...]) -> None:
        for pattern in patterns:
            text = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                ns = namespaces + ((pattern.namespace,) if pattern.namespace else ())
                walk(pattern.url_patterns, text, ns)
            elif isinstance(pattern, URLPattern):
                if not pattern.name:
                    catch_all = _CATCH_ALL.search(text)
                    if catch_all and re.fullmatch(catch_all.group("body"), "no-such-page/"):
                        # A catch-all (e.g. the API's JSON 404): walked with a made-up path.
                        literal = text[: catch_all.start()].replace("^", "")
                        path = "/" + literal + "no-such-page/"
                        outer = namespaces[0] if namespaces else ""
                        routes.append(Route(f"{outer}:<catch-all>", outer, text, (), path))
                    # The admin's other unnamed patterns redirect to its named ones.
                    elif namespaces[:1] != ("admin",):
                        unnamed.append(text)
                    continue
                name = ":".join((*namespaces, pattern.name))
                routes.append(Route(name, namespaces[0] if namespaces else "", text, _params(text)))

    walk(get_resolver().url_patterns, "", ())
    assert not unnamed, f"Give these URL patterns a name so they can be tested: {unnamed}"
    return routes


@dataclass
class Objects:
    """Real objects of customer A (and a few staff-side ones) that fill URL parameters."""

    customer: Any
    workspace: Any
    request: Any
    member: Any  # a customer-A user other than the one signed in, for /team/<user_id>/...
    staff: Any
    api_token: Any = None
    extra: dict[str, Any] = field(default_factory=dict)
    # The customer-A user the walk is signed in as, if any: personal pages (your own API
    # tokens) are filled with their objects; anyone else gets the member's, which are not theirs.
    signed_in: Any = None

    def fill(self, route: Route) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        for segment, param in route.params:
            value = self._value(route, segment, param)
            assert value is not None, (
                f"The URL {route.name!r} ({route.route}) has a parameter {param!r} after "
                f"{segment!r} that tests/security/urlwalk.py cannot fill. Add it to "
                "Objects._value with an object belonging to customer A, so the security walk "
                "covers the new page."
            )
            kwargs[param] = value
        return kwargs

    def _value(self, route: Route, segment: str, param: str) -> Any:
        by_segment: dict[tuple[str, str], Any] = {
            ("requests", "pk"): self.request.pk,
            ("workspaces", "pk"): self.workspace.pk,
            ("customers", "pk"): self.customer.pk,
            ("staff", "pk"): self.staff.pk,
            ("team", "user_id"): self.member.pk,
            ("extend", "token"): self.workspace.webhook_token,
        }
        by_segment.update({k: v for k, v in self.extra.items() if isinstance(k, tuple)})
        if (segment, param) in by_segment:
            return by_segment[(segment, param)]
        if (segment, param) in (("intakes", "pk"), ("erasure-requests", "pk")):
            return self._intake().pk
        if (segment, param) == ("recipients", "pk"):
            return self._recipient().pk
        if (segment, param) in (("tokens", "pk"), ("api-tokens", "pk")):
            return self._api_token().pk
        if (segment, param) in (("api-tokens", "token_id"), ("tokens", "token_id")):
            return self._own_api_token().pk
        if (segment, param) == ("service-accounts", "pk"):
            return self._service_account().pk
        if (segment, param) == ("holds", "pk"):
            return self._hold().pk
        if (segment, param) in (("retention", "pk"), ("retention-policies", "pk")):
            return self._policy().pk
        if (segment, param) in (("exemptions", "pk"), ("retention-exemptions", "pk")):
            return self._exemption().pk
        if (segment, param) == ("organisations", "pk"):
            return self._organization().pk
        if (segment, param) == ("erasure", "slug"):
            return self.customer.slug
        if (segment, param) == ("verify", "token"):
            from deletions.gdpr.intake import make_token

            return make_token(self._intake())
        if param == "uidb64":
            return urlsafe_base64_encode(force_bytes(self.member.pk))
        if param == "token" and route.namespace != "admin":
            return default_token_generator.make_token(self.member)
        if route.namespace == "admin":
            return self._admin_value(route, param)
        return None

    def _intake(self) -> Any:
        """A public erasure intake for customer A (the GDPR pages' object)."""
        if "intake" not in self.extra:
            from deletions.gdpr.intake import create_intake

            self.extra["intake"] = create_intake(
                self.customer, email="subject@example.org", reference="subject-42"
            )
        return self.extra["intake"]

    def _policy(self) -> Any:
        """A retention policy of customer A, pending approval (every action is open on it)."""
        if "policy" not in self.extra:
            from deletions.models import RetentionPolicy

            self.extra["policy"] = RetentionPolicy.objects.create(
                customer=self.customer,
                name="Sentinel policy",
                basis=RetentionPolicy.Basis.AGE,
                older_than_days=30,
                reason="Sentinel contract clause",
                proposed_by=self.member,
            )
        return self.extra["policy"]

    def _exemption(self) -> Any:
        """One of customer A's runs, exempted from its retention policies."""
        if "exemption" not in self.extra:
            from deletions.models import ParseRun, RetentionExemption

            run = ParseRun.objects.filter(customer=self.customer).order_by("pk").first()
            assert run is not None, "the walk's customer A has no parse run to exempt"
            self.extra["exemption"] = RetentionExemption.objects.create(
                parse_run=run,
                customer=self.customer,
                reason="Sentinel exemption",
                created_by=self.member,
            )
        return self.extra["exemption"]

    def _recipient(self) -> Any:
        """A recipient of customer A's data (Art. 19; staff-only pages)."""
        if "recipient" not in self.extra:
            from deletions.models import Recipient

            self.extra["recipient"] = Recipient.objects.create(
                customer=self.customer, name="Sentinel recipient", contact="c", means="e-mail"
            )
        return self.extra["recipient"]

    def _api_token(self) -> Any:
        """An API token of a customer-A user."""
        if "api_token" not in self.extra:
            from deletions.models import ApiToken

            self.extra["api_token"] = ApiToken.issue(self.member, name="walk")[0]
        return self.extra["api_token"]

    def _own_api_token(self) -> Any:
        """A personal API token of the signed-in customer-A user (else of the member)."""
        owner = self.signed_in or self.member
        key = f"api_token:{owner.pk}"
        if key not in self.extra:
            from deletions.models import ApiToken

            self.extra[key] = ApiToken.issue(owner, name="walk")[0]
        return self.extra[key]

    def _service_account(self) -> Any:
        """A service account of customer A, created by its admin (the member's customer)."""
        if "service_account" not in self.extra:
            from deletions.accounts import service_accounts
            from deletions.models import Membership, Source

            admin = (
                Membership.objects.filter(
                    customer=self.customer,
                    role=Membership.Role.ADMIN,
                    user__service_account__isnull=True,
                )
                .select_related("user")
                .first()
            )
            assert admin is not None, "the walk's world needs an admin of customer A"
            self.extra["service_account"] = service_accounts.create(
                name="Walk robot", customer=self.customer, issued_by=admin.user, source=Source.WEB
            )
        return self.extra["service_account"]

    def _hold(self) -> Any:
        """A legal hold on customer A."""
        if "hold" not in self.extra:
            from deletions.models import LegalHold

            self.extra["hold"] = LegalHold.objects.create(
                scope=LegalHold.Scope.CUSTOMER,
                customer=self.customer,
                reason="Litigation",
                reference="CASE-1",
                placed_by=self.staff,
            )
        return self.extra["hold"]

    def _organization(self) -> Any:
        """The Extend organisation customer A's workspace belongs to (staff-only pages)."""
        if "organization" not in self.extra:
            from deletions.models import Organization

            org = Organization.objects.create(name="Sentinel organisation")
            self.workspace.organization = org
            self.workspace.save(update_fields=["organization"])
            self.extra["organization"] = org
        return self.extra["organization"]

    def _admin_value(self, route: Route, param: str) -> Any:
        if param == "app_label":
            return "deletions"
        if param == "url":
            return "no-such-page/"
        if param == "content_type_id":
            return ContentType.objects.get_for_model(type(self.request)).pk
        if param == "object_id" and route.name.startswith("admin:view_on_site"):
            return self.request.pk
        if param == "id" and route.name == "admin:auth_user_password_change":
            return self.member.pk
        if param == "object_id":
            # admin:<app>_<model>_<action>: an existing row of that model, else a missing pk.
            app_label, model_name = route.name.split(":", 1)[1].rsplit("_", 1)[0].split("_", 1)
            model = apps.get_model(app_label, model_name)
            first = model._default_manager.order_by("pk").first()
            return first.pk if first is not None else 1
        return None


def urls(objects: Objects) -> Iterator[tuple[Route, str]]:
    for route in all_routes():
        yield route, route.path or reverse(route.name, kwargs=objects.fill(route))
