"""Inviting a new user (staff, or a customer's): the account, its role, the audit record and the
e-mail with a signed link to choose a password. Nobody ever types a password for someone else.

Invitation links are signed and expire (``PASSWORD_RESET_TIMEOUT``) like password-reset links,
but with their own token salt, so one kind of link never works as the other; a link stops
working once a password is set.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from deletions import audit
from deletions.accounts import roles
from deletions.core import emails
from deletions.core.errors import RuleViolation
from deletions.models import Customer, Membership, Source

if TYPE_CHECKING:
    from deletions.audit import Actor


class InvitationTokenGenerator(PasswordResetTokenGenerator):
    """Like password-reset tokens: invalid once a password is set, or after the timeout."""

    # The salt links were signed with since invitations existed: keep it, or they all break.
    key_salt = "deletions.views.accounts.InvitationTokenGenerator"


invitation_token = InvitationTokenGenerator()


def invitation_url(user: User) -> str:
    """The path of *user*'s invitation link."""
    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse("accept_invitation", args=[uidb64, invitation_token.make_token(user)])


def invite(
    *,
    username: str,
    email: str,
    first_name: str = "",
    last_name: str = "",
    customer: Customer | None,
    role: str,
    actor: Actor,
    source: Source | str,
) -> User:
    """Create a user with *role* (a staff role, or with *customer* a membership role), audit it
    and e-mail them the invitation after commit.

    The caller has checked that the name and address are free (the forms say so field by
    field); a clash found here is refused all the same.
    """
    if customer is None and role not in roles.STAFF_GROUPS:
        raise RuleViolation(f"{role!r} is not a staff role.")
    if customer is not None and role not in Membership.Role.values:
        raise RuleViolation(f"{role!r} is not a role within a customer.")
    role_label = role if customer is None else Membership.Role(role).label.lower()
    with transaction.atomic():
        if User.objects.filter(username__iexact=username).exists():
            raise RuleViolation(f"There is already a user called {username}.")
        user = User(
            username=username,
            email=email,
            first_name=first_name,
            last_name=last_name,
            is_staff=customer is None,
        )
        user.set_unusable_password()
        user.save()
        if customer is not None:
            Membership.objects.create(user=user, customer=customer, role=role)
        else:
            user.groups.add(Group.objects.get(name=role))
        audit.record(
            "user.invited",
            obj=user,
            actor=actor,
            source=source,
            customer=customer,
            after={"username": user.username, "role": role},
            detail={"customer": customer.name if customer else None, "email_sent": True},
        )
        context = {
            "invitee": user,
            "inviter": audit.actor_label(actor),
            "customer": customer,
            "role_label": role_label,
            "url": emails.absolute_url(invitation_url(user)),
            "expiry_days": max(settings.PASSWORD_RESET_TIMEOUT // 86400, 1),
        }
        transaction.on_commit(lambda: emails.send("staff_invitation", [user.email], context))
    return user
