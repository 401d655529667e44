"""Staff endpoints for people: customers and their users, staff users and their roles.

The console's rules (``console_people``): console admins only, through the console's forms and
the same domain functions (:mod:`deletions.accounts.customers`,
:mod:`deletions.accounts.invitations`, :func:`deletions.accounts.roles.set_staff_role`), audited
with source ``api``. A new user is invited by e-mail to choose their own password; nobody sets one
for them.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, User
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from deletions.accounts import customers, invitations, roles
from deletions.api.idempotency import idempotent
from deletions.api.serializers import PageQuerySerializer
from deletions.api.staff_base import (
    IDEMPOTENCY_PARAMETER,
    WRITE_ERRORS,
    CanAdminister,
    Email,
    Flag,
    Slug,
    Text,
    Whole,
    checked_body,
    checked_values,
    form_data,
    form_values,
    page_of,
)
from deletions.api.views import (
    OBJECT_ERRORS,
    READ_ERRORS,
    ApiView,
    _errors,
    _page,
    _query,
)
from deletions.forms.console import (
    CustomerForm,
    CustomerInviteForm,
    StaffInviteForm,
    StaffRoleForm,
)
from deletions.models import Customer, Membership, Source

STAFF_ROLES = [roles.VIEWER, roles.APPROVER, roles.ADMIN]
STAFF_ROLE_CHANGES = [*STAFF_ROLES, StaffRoleForm.NONE]
ERASE_FILES_DEFAULT_HELP = CustomerForm.Meta.help_texts["erase_files_default"]


class CustomerSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = Text()
    external_ref = Text(
        help_text="What parse runs carry under a workspace's customer metadata key."
    )
    slug = Text(help_text="In the customer's public erasure-form URL.")
    is_active = Flag()
    cooling_off_hours = serializers.IntegerField()
    time_zone = Text(help_text="IANA name; blank: the portal's own.")
    erase_files_default = Flag(help_text=ERASE_FILES_DEFAULT_HELP)
    users = serializers.IntegerField(help_text="Its users (service accounts included).")
    created_at = serializers.DateTimeField()


class MemberSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    username = Text()
    email = Text()
    first_name = Text()
    last_name = Text()
    is_active = Flag()
    role = serializers.ChoiceField(choices=Membership.Role.choices, source="membership.role")


class CustomerDetailSerializer(CustomerSerializer):
    members = serializers.SerializerMethodField(help_text="Its people (not service accounts).")

    @extend_schema_field(MemberSerializer(many=True))
    def get_members(self, customer: Customer) -> Any:
        people = (
            User.objects.filter(membership__customer=customer, service_account__isnull=True)
            .select_related("membership")
            .order_by("username")
        )
        return MemberSerializer(people, many=True).data


CustomerPageSerializer = page_of(CustomerSerializer)


class CustomerQuerySerializer(PageQuerySerializer):
    q = Text(
        required=False,
        allow_blank=True,
        max_length=150,
        help_text="Part of the name or external reference.",
    )


class CustomerWriteSerializer(serializers.Serializer[Any]):
    """A customer's settings; on an edit, only those given change."""

    name = Text(max_length=200)
    external_ref = Text(max_length=255)
    slug = Slug(max_length=80)
    is_active = Flag(required=False)
    cooling_off_hours = Whole(
        min_value=0,
        max_value=168,
        required=False,
        help_text="Hours an approved request waits before anything is sent to Extend.",
    )
    time_zone = Text(
        max_length=64,
        required=False,
        allow_blank=True,
        help_text="IANA time zone name (e.g. Europe/Paris): its retention policies are evaluated "
        "at RETENTION_POLICY_EVALUATION_HOUR there. Blank: the portal's own.",
    )
    erase_files_default = Flag(required=False, help_text=ERASE_FILES_DEFAULT_HELP)

    def validate_time_zone(self, value: str) -> str:
        if problem := customers.time_zone_problem(value):
            raise serializers.ValidationError(problem)
        return value


class InviteSerializer(serializers.Serializer[Any]):
    email = Email(max_length=254)
    username = Text(
        max_length=150, required=False, allow_blank=True, help_text="Default: the e-mail address."
    )
    first_name = Text(max_length=150, required=False, allow_blank=True)
    last_name = Text(max_length=150, required=False, allow_blank=True)


class CustomerInviteSerializer(InviteSerializer):
    role = serializers.ChoiceField(choices=Membership.Role.choices, default=Membership.Role.MEMBER)


class StaffInviteSerializer(InviteSerializer):
    role = serializers.ChoiceField(choices=STAFF_ROLES, default=roles.VIEWER)


class StaffRoleSerializer(serializers.Serializer[Any]):
    role = serializers.ChoiceField(
        choices=STAFF_ROLE_CHANGES,
        help_text="none takes console access away (and superuser status with it).",
    )


class StaffSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    username = Text()
    email = Text()
    first_name = Text()
    last_name = Text()
    is_active = Flag()
    is_superuser = Flag()
    role = serializers.SerializerMethodField(help_text="Highest staff role; empty for none.")

    @extend_schema_field(Text())
    def get_role(self, user: User) -> str:
        return roles.staff_role_of(user)


StaffPageSerializer = page_of(StaffSerializer)


def _customer(pk: int) -> Customer:
    return get_object_or_404(customers.search(), pk=pk)


def _invite(request: Request, data: dict[str, Any], customer: Customer | None) -> Response:
    form_class = CustomerInviteForm if customer is not None else StaffInviteForm
    values = form_values(form_class(form_data(data)))
    user = invitations.invite(
        username=values["username"],
        email=values["email"],
        first_name=values.get("first_name", ""),
        last_name=values.get("last_name", ""),
        customer=customer,
        role=values["role"],
        actor=request.user,
        source=Source.API,
    )
    if customer is not None:
        user = User.objects.select_related("membership").get(pk=user.pk)
        return Response(MemberSerializer(user).data, status=status.HTTP_201_CREATED)
    return Response(StaffSerializer(user).data, status=status.HTTP_201_CREATED)


def _staff(pk: int) -> User:
    # As the console: anyone but customer users and service accounts (never staff), so that
    # someone whose access was taken away can be given a role again.
    return get_object_or_404(User, pk=pk, membership__isnull=True, service_account__isnull=True)


class CustomerList(ApiView):
    permission_classes = [CanAdminister]

    @extend_schema(
        operation_id="list_customers",
        summary="List customers (staff admins), by id",
        parameters=[CustomerQuerySerializer],
        responses={200: CustomerPageSerializer, **_errors(*READ_ERRORS)},
    )
    def get(self, request: Request) -> Response:
        params = _query(request, CustomerQuerySerializer)
        rows = customers.search(params.get("q", "").strip())
        return _page(request, rows, params, CustomerSerializer, field="id", descending=False)

    @extend_schema(
        operation_id="create_customer",
        summary="Create a customer (staff admins)",
        description="Then invite its users (invite_customer_user).",
        request=CustomerWriteSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: CustomerDetailSerializer, **_errors(*WRITE_ERRORS)},
    )
    def post(self, request: Request) -> Response:
        def work() -> Response:
            data = checked_body(request, CustomerWriteSerializer)
            values = checked_values(CustomerForm, customers.FIELDS, None, data)
            customer = customers.create_customer(values, actor=request.user, source=Source.API)
            body = CustomerDetailSerializer(_customer(customer.pk)).data
            return Response(body, status=status.HTTP_201_CREATED)

        return idempotent(request, work)


class CustomerDetail(ApiView):
    permission_classes = [CanAdminister]

    @extend_schema(
        operation_id="get_customer",
        summary="A customer and its users (staff admins)",
        responses={200: CustomerDetailSerializer, **_errors(*OBJECT_ERRORS)},
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(CustomerDetailSerializer(_customer(pk)).data)

    @extend_schema(
        operation_id="update_customer",
        summary="Change a customer (staff admins)",
        description="Only the fields given change. A deactivated customer's users and tokens "
        "stop working.",
        request=CustomerWriteSerializer(partial=True),
        responses={200: CustomerDetailSerializer, **_errors(*WRITE_ERRORS)},
    )
    def patch(self, request: Request, pk: int) -> Response:
        customer = _customer(pk)
        data = checked_body(request, CustomerWriteSerializer, partial=True)
        values = checked_values(CustomerForm, customers.FIELDS, customer, data)
        customers.update_customer(_customer(pk), values, actor=request.user, source=Source.API)
        return Response(CustomerDetailSerializer(_customer(pk)).data)


class CustomerUsers(ApiView):
    permission_classes = [CanAdminister]

    @extend_schema(
        operation_id="invite_customer_user",
        summary="Invite a user of a customer (staff admins)",
        description="The user gets an e-mail with a signed, expiring link to choose a password. "
        "A username or e-mail address already in use is a 400.",
        request=CustomerInviteSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: MemberSerializer, **_errors(*WRITE_ERRORS)},
    )
    def post(self, request: Request, pk: int) -> Response:
        customer = _customer(pk)

        def work() -> Response:
            data = checked_body(request, CustomerInviteSerializer)
            return _invite(request, data, customer)

        return idempotent(request, work)


class StaffList(ApiView):
    permission_classes = [CanAdminister]

    @extend_schema(
        operation_id="list_staff",
        summary="List staff users and their roles (staff admins), by id",
        description="Everyone with console access: staff roles, superusers, and other accounts "
        "that may open the raw-data admin.",
        parameters=[PageQuerySerializer],
        responses={200: StaffPageSerializer, **_errors(*READ_ERRORS)},
    )
    def get(self, request: Request) -> Response:
        params = _query(request, PageQuerySerializer)
        # Keyset pages of a distinct set: the ids first, then the users with their groups.
        ids = User.objects.filter(roles.STAFF_ACCOUNTS).values("pk")
        rows = User.objects.filter(pk__in=ids).prefetch_related(
            Prefetch("groups", queryset=Group.objects.only("name"))
        )
        return _page(request, rows, params, StaffSerializer, field="id", descending=False)

    @extend_schema(
        operation_id="invite_staff_user",
        summary="Invite a staff user with a role (staff admins)",
        description="The user gets an e-mail with a signed, expiring link to choose a password.",
        request=StaffInviteSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: StaffSerializer, **_errors(*WRITE_ERRORS)},
    )
    def post(self, request: Request) -> Response:
        def work() -> Response:
            data = checked_body(request, StaffInviteSerializer)
            return _invite(request, data, None)

        return idempotent(request, work)


class StaffRole(ApiView):
    permission_classes = [CanAdminister]

    @extend_schema(
        operation_id="set_staff_role",
        summary="Give a staff user another role, or take their console access away (admins)",
        description="Audited. Superuser status stays only with the admin role: a lesser role or "
        "none takes it away too. Nobody changes their own role (403).",
        request=StaffRoleSerializer,
        responses={200: StaffSerializer, **_errors(*WRITE_ERRORS)},
    )
    def post(self, request: Request, pk: int) -> Response:
        target = _staff(pk)
        data = checked_body(request, StaffRoleSerializer)
        role = data["role"]
        roles.set_staff_role(
            target,
            None if role == StaffRoleForm.NONE else role,
            actor=request.user,  # type: ignore[arg-type]
            source=Source.API,
        )
        return Response(StaffSerializer(User.objects.get(pk=target.pk)).data)
