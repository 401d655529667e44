"""The customer admin's team page: invite colleagues, deactivate and reactivate them."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from deletions import audit
from deletions.accounts.invitations import invitation_url
from deletions.core import emails
from deletions.forms.customer import InviteUserForm
from deletions.models import Customer, Membership, Source
from deletions.views.customer import CustomerRequest, customer_admin_required


def _in_customer(user: User, customer: Customer) -> bool:
    membership = getattr(user, "membership", None)
    return membership is not None and membership.customer_id == customer.pk


def _team_user(request: CustomerRequest, user_id: int) -> User:
    """The ownership helper for users: one of this customer's people, or 404 (service accounts
    are no team members: they are managed with their tokens)."""
    return get_object_or_404(
        User.objects.select_related("membership"),
        pk=user_id,
        membership__customer_id=request.membership.customer_id,
        service_account__isnull=True,
    )


def send_invitation(user: User, *, invited_by: User) -> int:
    """E-mail *user* a signed, expiring link to set their password."""
    return emails.send(
        "invitation",
        [user.email],
        {
            "user": user,
            "invited_by": invited_by,
            "customer": user.membership.customer,
            "url": emails.absolute_url(invitation_url(user)),
        },
    )


def send_existing_account_notice(account: User, *, invited_by: User, customer: Customer) -> int:
    """Tell *account*'s holder that someone tried to invite their address, and that nothing
    changed."""
    return emails.send(
        "invitation_existing_account",
        [account.email],
        {
            "account": account,
            "invited_by": invited_by,
            "customer": customer,
            "reset_url": emails.absolute_url(reverse("password_reset")),
        },
    )


def _invite_new_user(request: CustomerRequest, data: dict[str, Any]) -> None:
    customer = request.membership.customer
    with transaction.atomic():
        user = User(
            username=data["email"],
            email=data["email"],
            first_name=data["first_name"],
            last_name=data["last_name"],
        )
        # No password until the invitation is accepted.
        user.set_unusable_password()
        user.save()
        Membership.objects.create(user=user, customer=customer, role=data["role"])
        audit.record(
            "user.invited",
            obj=user,
            actor=request.user,
            source=Source.WEB,
            customer=customer,
            detail={"role": data["role"]},
        )
        transaction.on_commit(lambda: send_invitation(user, invited_by=request.user))


def _notify_existing_accounts(request: CustomerRequest, accounts: list[User]) -> None:
    """The address has an account elsewhere (another customer, staff): attach nobody, tell
    the holder, and keep a record for staff, who may help if the person needs both."""
    customer = request.membership.customer
    with transaction.atomic():
        for account in accounts:
            audit.record(
                "user.invitation_to_existing_account",
                obj=account,
                actor=request.user,
                source=Source.WEB,
                customer=customer,
            )
            if account.is_active and account.email:
                transaction.on_commit(
                    lambda a=account: send_existing_account_notice(  # type: ignore[misc]
                        a, invited_by=request.user, customer=customer
                    )
                )


@require_http_methods(["GET", "POST"])
@customer_admin_required
def team(request: CustomerRequest) -> HttpResponse:
    """The customer's users, and the invitation form.

    An invitation answers "Invitation sent" whether or not the address already has an account
    somewhere, so the form cannot be used to find out who uses the portal: a new address gets
    its invitation; an address with an account of another customer or of the operator's staff
    is not attached here (an account belongs to one customer), and its holder is told by
    e-mail that someone tried. Only an address already in this team is refused, since the
    admin sees those on this page anyway.
    """
    customer = request.membership.customer
    form = InviteUserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        accounts = list(
            User.objects.filter(
                Q(username__iexact=data["email"]) | Q(email__iexact=data["email"])
            ).select_related("membership")
        )
        if any(_in_customer(a, customer) for a in accounts):
            form.add_error("email", "Someone with this e-mail address is already in your team.")
        else:
            if accounts:
                _notify_existing_accounts(request, accounts)
            else:
                _invite_new_user(request, data)
            messages.success(
                request, f"Invitation sent to {data['email']}. The link is valid for 3 days."
            )
            return redirect("customer:team")
    members = (
        User.objects.filter(membership__customer=customer, service_account__isnull=True)
        .select_related("membership")
        .order_by("-is_active", "username")
    )
    ctx: dict[str, Any] = {"form": form, "members": members, "customer": customer, "nav": "team"}
    return render(request, "customer/team.html", ctx)


@require_http_methods(["GET", "POST"])
@customer_admin_required
def deactivate(request: CustomerRequest, user_id: int) -> HttpResponse:
    """GET asks to confirm; POST deactivates (the user can no longer sign in)."""
    user = _team_user(request, user_id)
    if user.pk == request.user.pk:
        messages.error(request, "You cannot deactivate your own account.")
        return redirect("customer:team")
    if request.method == "POST":
        if user.is_active:
            user.is_active = False
            with transaction.atomic():
                user.save(update_fields=["is_active"])
                audit.record(
                    "user.deactivated",
                    obj=user,
                    actor=request.user,
                    source=Source.WEB,
                    customer=request.membership.customer_id,
                )
        messages.success(
            request, f"{user.get_username()} was deactivated and can no longer sign in."
        )
        return redirect("customer:team")
    return render(request, "customer/team_deactivate.html", {"member": user, "nav": "team"})


@require_POST
@customer_admin_required
def reactivate(request: CustomerRequest, user_id: int) -> HttpResponse:
    user = _team_user(request, user_id)
    if not user.is_active:
        user.is_active = True
        with transaction.atomic():
            user.save(update_fields=["is_active"])
            audit.record(
                "user.reactivated",
                obj=user,
                actor=request.user,
                source=Source.WEB,
                customer=request.membership.customer_id,
            )
    messages.success(request, f"{user.get_username()} can sign in again.")
    return redirect("customer:team")


@require_POST
@customer_admin_required
def resend_invitation(request: CustomerRequest, user_id: int) -> HttpResponse:
    """Send a fresh link to a user who has not set a password yet."""
    user = _team_user(request, user_id)
    if user.has_usable_password() or not user.is_active:
        messages.error(request, f"{user.get_username()} has already accepted or is deactivated.")
    else:
        send_invitation(user, invited_by=request.user)
        messages.success(request, f"A new invitation was sent to {user.email}.")
    return redirect("customer:team")
