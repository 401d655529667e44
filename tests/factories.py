"""Test data builders. Parse runs come in bulk (``make_runs``) because tests need thousands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from deletions.models import Customer, Membership, ParseRun, Workspace

User = get_user_model()


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
        self.set_password(extracted or "correct horse battery staple")
        if create:
            self.save()


def customer_user(customer: Customer, *, role: str = Membership.Role.MEMBER, **kwargs) -> User:
    user = UserFactory(**kwargs)
    Membership.objects.create(user=user, customer=customer, role=role)
    return user


def staff_user(group: str, **kwargs) -> User:
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
