"""Create the demo operator, customers, organisation and workspace. Safe to run again: nothing is
made twice."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from deletions.accounts import roles
from deletions.models import Customer, Membership, Organization, Workspace

DEMO_PASSWORD = "demo-portal-2026"
DEMO_API_KEY = "sk_demo_workspace_key_0001"
DEMO_WEBHOOK_SECRET = "wss_demo_signing_secret_0001"
# The simulator's organisation (its default id) and Extend's pay-as-you-go limits.
DEMO_ORGANIZATION_ID = "org_simulated"
# Customer references the demo simulator tags its runs with; the last one has no customer,
# so the demo shows unassigned runs too.
DEMO_CUSTOMERS = [("Acme Health", "cust_acme", "acme"), ("Globex Legal", "cust_globex", "globex")]
DEMO_UNASSIGNED_REF = "cust_initech"

# username, staff group (or None), customer slug (or None), customer role
DEMO_USERS: list[tuple[str, str | None, str | None, str]] = [
    ("admin", roles.ADMIN, None, ""),
    ("approver", roles.APPROVER, None, ""),
    ("viewer", roles.VIEWER, None, ""),
    ("alice", None, "acme", Membership.Role.ADMIN),
    ("bob", None, "globex", Membership.Role.MEMBER),
]


class Command(BaseCommand):
    help = (
        "Create demo users, customers, an organisation and a workspace pointing at the local "
        "Extend simulator."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--extend-url",
            default="http://127.0.0.1:8025",
            help="Base URL of the Extend simulator (default: %(default)s).",
        )

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        organization, _ = Organization.objects.get_or_create(
            extend_organization_id=DEMO_ORGANIZATION_ID,
            defaults={
                "name": "Demo organisation",
                "write_rate_limit": 10,
                "get_rate_limit": 10,
            },
        )
        workspace, created = Workspace.objects.get_or_create(
            name="Demo workspace",
            defaults={
                "base_url": options["extend_url"],
                "organization": organization,
                "rate_limit": 10,
                "get_rate_limit": 10,
            },
        )
        if created or not workspace.has_api_key:
            workspace.set_api_key(DEMO_API_KEY)
            workspace.set_webhook_secret(DEMO_WEBHOOK_SECRET)
        workspace.base_url = options["extend_url"]
        workspace.organization = workspace.organization or organization
        workspace.save()

        customers = {}
        for name, ref, slug in DEMO_CUSTOMERS:
            customers[slug], _ = Customer.objects.get_or_create(
                external_ref=ref, defaults={"name": name, "slug": slug}
            )

        user_model = get_user_model()
        for username, group, customer_slug, role in DEMO_USERS:
            user, created = user_model.objects.get_or_create(
                username=username, defaults={"email": f"{username}@example.com"}
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.first_name = username.capitalize()
                user.is_staff = group is not None  # staff may open the raw-data admin
                user.is_superuser = group == roles.ADMIN
                user.save()
            if group:
                user.groups.add(Group.objects.get(name=group))
            if customer_slug:
                Membership.objects.get_or_create(
                    user=user, defaults={"customer": customers[customer_slug], "role": role}
                )
        self.stdout.write(self.style.SUCCESS("Demo data is in place."))
