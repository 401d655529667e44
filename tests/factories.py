"""Test data builders. Parse runs come in bulk (``make_runs``) because tests need thousands."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission

from deletions.models import Customer, Membership, ParseRun, Workspace

User = get_user_model()
# Every test user's password; the browser tests sign in with it.
PASSWORD = "correct horse battery staple"


class WorkspaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workspace
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Workspace {n}")
    base_url = "http://127.0.0.1:9"

    @factory.post_generation
    def api_key(self, create, extracted, **kwargs):
        self.set_api_key(extracted or "sk_test_key_abcd")
        self.set_webhook_secret("wss_test_secret_wxyz")
        if create:
            self.save()


def new_workspace(**kwargs):
    """A workspace made by the factory (untyped, so type checkers see a Workspace-like value)."""
    return WorkspaceFactory(**kwargs)


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"Customer {n}")
    external_ref = factory.Sequence(lambda n: f"cust_{n}")
    slug = factory.Sequence(lambda n: f"customer-{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or PASSWORD)
        if create:
            self.save()


def customer_user(customer: Customer, *, role: str = Membership.Role.MEMBER, **kwargs) -> User:
    user = UserFactory(**kwargs)
    Membership.objects.create(user=user, customer=customer, role=role)
    return user


# The staff roles exactly as migration 0002 creates them.
GROUP_PERMISSIONS: dict[str, list[str]] = importlib.import_module(
    "deletions.migrations.0002_roles_and_append_only_audit"
).GROUP_PERMISSIONS


def ensure_staff_groups() -> None:
    """Create the staff groups if a transactional test's flush removed them.

    Flushing the database between transactional tests re-creates content types and permissions
    (post_migrate) but not the groups that migration 0002 made.
    """
    if Group.objects.filter(name__in=GROUP_PERMISSIONS).count() == len(GROUP_PERMISSIONS):
        return
    for name, codenames in GROUP_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(
            Permission.objects.filter(content_type__app_label="deletions", codename__in=codenames)
        )


def staff_user(group: str, **kwargs) -> User:
    ensure_staff_groups()
    user = UserFactory(is_staff=True, **kwargs)
    user.groups.add(Group.objects.get(name=group))
    return user


def make_runs(
    workspace: Workspace,
    customer: Customer | None,
    count: int,
    *,
    prefix: str = "pr_",
    start: int = 0,
    batch_size: int = 5000,
) -> list[str]:
    """Insert *count* present runs in bulk; return their ids."""
    base = datetime(2026, 1, 1, tzinfo=UTC)
    ids = [f"{prefix}{customer.pk if customer else 'x'}_{start + i:07d}" for i in range(count)]
    ParseRun.objects.bulk_create(
        (
            ParseRun(
                workspace=workspace,
                customer=customer,
                run_id=run_id,
                file_name=f"invoice-{i:05d}.pdf",
                extend_status="PROCESSED",
                extend_created_at=base + timedelta(minutes=i),
            )
            for i, run_id in enumerate(ids)
        ),
        batch_size=batch_size,
    )
    return ids


def use_file(run_ids: list[str], file_id: str) -> None:
    """Say that the runs *run_ids* processed the uploaded file *file_id*."""
    ParseRun.objects.filter(run_id__in=run_ids).update(file_id=file_id)
