"""Console (admins only): customers, their users, and staff users with their roles.

New users are invited by e-mail: they get a signed, expiring link to choose their own password
(the ``accept_invitation`` page of the accounts pages); nobody ever types a password for them.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.models import Group, User
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_http_methods, require_POST

from deletions.accounts import customers, invitations, roles
from deletions.core.errors import RuleViolation
from deletions.forms.console import (
    STAFF_ROLE_CHOICES,
    CustomerForm,
    CustomerInviteForm,
    InviteForm,
    StaffInviteForm,
    StaffRoleForm,
)
from deletions.forms.controller import RecipientForm
from deletions.gdpr import recipients
from deletions.models import Customer, Membership, Source
from deletions.reporting.console_queries import paginate
from deletions.views.console_auth import ADMINISTER, console_required, render_console


def _invite(request: HttpRequest, form: InviteForm, *, customer: Customer | None = None) -> User:
    data = form.cleaned_data
    return invitations.invite(
        username=data["username"],
        email=data["email"],
        first_name=data.get("first_name", ""),
        last_name=data.get("last_name", ""),
        customer=customer,
        role=data["role"],
        actor=request.user,
        source=Source.WEB,
    )


# --- Customers -----------------------------------------------------------------------------


@console_required(ADMINISTER)
def customer_list(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()
    rows = customers.search(q).order_by("name")
    return render_console(
        request,
        "console/customer_list.html",
        {"page": paginate(rows, request.GET, per_page=50), "q": q},
        section="customers",
    )


@console_required(ADMINISTER)
@require_http_methods(["GET", "POST"])
def customer_create(request: HttpRequest) -> HttpResponse:
    form = CustomerForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        customer = customers.create_customer(
            form.cleaned_data, actor=request.user, source=Source.WEB
        )
        messages.success(request, f"Customer {customer.name} is created. Invite its users below.")
        return redirect("console:customer_detail", pk=customer.pk)
    return render_console(
        request, "console/customer_form.html", {"form": form, "customer": None}, section="customers"
    )


@console_required(ADMINISTER)
@require_http_methods(["GET", "POST"])
def customer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=pk)
    form = CustomerForm(request.POST if request.method == "POST" else None, instance=customer)
    if request.method == "POST" and form.is_valid():
        customers.update_customer(
            customer, form.cleaned_data, actor=request.user, source=Source.WEB
        )
        messages.success(request, f"Customer {customer.name} is saved.")
        return redirect("console:customer_detail", pk=customer.pk)
    return render_console(
        request,
        "console/customer_form.html",
        {"form": form, "customer": customer},
        section="customers",
    )


@console_required(ADMINISTER)
@require_http_methods(["GET", "POST"])
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The customer, its users, and (POST) inviting a new user."""
    customer = get_object_or_404(Customer, pk=pk)
    form = CustomerInviteForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        user = _invite(request, form, customer=customer)
        messages.success(request, f"{user.username} is invited; the e-mail went to {user.email}.")
        return redirect("console:customer_detail", pk=customer.pk)
    members = (
        Membership.objects.filter(customer=customer, user__service_account__isnull=True)
        .select_related("user")
        .order_by("user__username")
    )
    return render_console(
        request,
        "console/customer_detail.html",
        {
            "customer": customer,
            "members": members,
            "form": form,
            # Art. 19: who the customer's data was disclosed to (deletions.gdpr.recipients).
            "recipients": recipients.customer_recipients(customer),
            "recipient_form": RecipientForm(),
            "processor_name": recipients.PROCESSOR_NAME,
        },
        section="customers",
    )


# --- Staff ---------------------------------------------------------------------------------


@console_required(ADMINISTER)
@require_http_methods(["GET", "POST"])
def staff_list(request: HttpRequest) -> HttpResponse:
    """Staff users and their roles, and (POST) inviting a new staff user."""
    form = StaffInviteForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        user = _invite(request, form)
        messages.success(request, f"{user.username} is invited as {form.cleaned_data['role']}.")
        return redirect("console:staff_list")
    users = (
        User.objects.filter(roles.STAFF_ACCOUNTS)
        .distinct()
        .prefetch_related(Prefetch("groups", queryset=Group.objects.only("name")))
        .order_by("username")
    )
    page = paginate(users, request.GET, per_page=100)
    for user in page.objects:
        user.staff_role = roles.staff_role_of(user)  # type: ignore[attr-defined]
    return render_console(
        request,
        "console/staff_list.html",
        {"page": page, "form": form, "role_choices": STAFF_ROLE_CHOICES},
        section="staff",
    )


@console_required(ADMINISTER)
@require_POST
def staff_role(request: HttpRequest, pk: int) -> HttpResponse:
    """Give a staff user another role, or take their console access away."""
    # Service accounts are no staff: they never get a role.
    target = get_object_or_404(User, pk=pk, membership__isnull=True, service_account__isnull=True)
    form = StaffRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the roles.")
        return redirect("console:staff_list")
    role = form.cleaned_data["role"]
    try:
        roles.set_staff_role(
            target,
            None if role == StaffRoleForm.NONE else role,
            actor=request.user,  # type: ignore[arg-type]
            source=Source.WEB,
        )
    except RuleViolation as exc:
        messages.error(request, str(exc))
        return redirect("console:staff_list")
    label: Any = "no console access" if role == StaffRoleForm.NONE else role
    messages.success(request, f"{target.username} now has {label}.")
    return redirect("console:staff_list")
