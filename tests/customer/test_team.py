"""The team page: customer admins invite and deactivate their customer's users."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.urls import reverse

from deletions.models import AuditEvent, Membership
from tests.factories import customer_user

URL = reverse("customer:team")


def test_members_are_refused_and_do_not_see_the_team_link(client, member):
    client.force_login(member)
    assert client.get(URL).status_code == 403
    assert 'href="/team/"' not in client.get(reverse("customer:runs")).content.decode()


def test_admins_see_their_customers_users_only(client, customer_admin, member, outsider):
    client.force_login(customer_admin)
    response = client.get(URL)
    assert set(response.context["members"]) == {customer_admin, member}
    assert 'href="/team/"' in client.get(reverse("customer:runs")).content.decode()


def test_an_invitation_creates_a_passwordless_user_and_emails_a_link(
    client, customer, customer_admin, django_capture_on_commit_callbacks
):
    client.force_login(customer_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            URL, {"email": "New.Person@Example.com", "first_name": "Nia", "role": "member"}
        )
    assert response.status_code == 302
    user = User.objects.get(username="new.person@example.com")
    assert not user.has_usable_password()
    assert user.membership.customer == customer
    assert user.membership.role == Membership.Role.MEMBER
    assert AuditEvent.objects.filter(action="user.invited", object_id=str(user.pk)).exists()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new.person@example.com"]
    assert "Acme Health" in message.subject
    assert re.search(r"http://\S+/accounts/invitation/\S+/\S+/", str(message.body))
    assert message.alternatives and "Set your password" in message.alternatives[0][0]


def invite(client, capture, email):
    with capture(execute=True):
        response = client.post(URL, {"email": email, "role": "member"})
    shown = [str(m) for m in client.get(URL).context["messages"]]
    return response, shown


@pytest.mark.parametrize("holder", ["outsider", "approver", "staff_admin"])
def test_an_address_with_an_account_elsewhere_gets_the_same_answer_and_is_not_attached(
    request, client, customer, customer_admin, holder, django_capture_on_commit_callbacks
):
    account = request.getfixturevalue(holder)
    before = (Membership.objects.filter(user=account).first(), User.objects.count())
    client.force_login(customer_admin)

    fresh, fresh_shown = invite(client, django_capture_on_commit_callbacks, "fresh@example.com")
    taken, taken_shown = invite(client, django_capture_on_commit_callbacks, account.email.upper())

    # The admin cannot tell the two apart...
    assert (taken.status_code, taken["Location"]) == (fresh.status_code, fresh["Location"])
    assert taken_shown == [s.replace("fresh@example.com", account.email) for s in fresh_shown]
    # ...nobody was attached to this customer or created...
    assert (Membership.objects.filter(user=account).first(), User.objects.count()) == (
        before[0],
        before[1] + 1,
    )
    # ...and the account's holder is told, in the invitation's stead.
    assert [m.to for m in mail.outbox] == [["fresh@example.com"], [account.email]]
    notice = mail.outbox[1]
    assert "tried to invite" in notice.subject
    assert customer.name in str(notice.body)
    assert "/invitation/" not in str(notice.body)
    assert AuditEvent.objects.filter(
        action="user.invitation_to_existing_account",
        object_id=str(account.pk),
        customer=customer,
    ).exists()


def test_an_address_already_in_the_team_is_explained(client, customer_admin, member):
    client.force_login(customer_admin)
    response = client.post(URL, {"email": member.email, "role": "member"})
    assert response.status_code == 200
    assert "already in your team" in response.content.decode()
    assert mail.outbox == []


def test_deactivation_asks_first_then_deactivates(client, customer_admin, member):
    client.force_login(customer_admin)
    url = reverse("customer:deactivate", args=[member.pk])
    page = client.get(url)
    assert "Deactivate" in page.content.decode()
    member.refresh_from_db()
    assert member.is_active

    client.post(url)
    member.refresh_from_db()
    assert not member.is_active
    assert AuditEvent.objects.filter(action="user.deactivated").exists()


def test_a_deactivated_user_is_signed_out(client, customer_admin, member):
    client.force_login(member)
    member.is_active = False
    member.save()
    response = client.get(reverse("customer:runs"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_admins_cannot_deactivate_themselves(client, customer_admin):
    client.force_login(customer_admin)
    client.post(reverse("customer:deactivate", args=[customer_admin.pk]))
    customer_admin.refresh_from_db()
    assert customer_admin.is_active


def test_a_deactivated_user_can_be_reactivated(client, customer_admin, member):
    member.is_active = False
    member.save()
    client.force_login(customer_admin)
    client.post(reverse("customer:reactivate", args=[member.pk]))
    member.refresh_from_db()
    assert member.is_active


def test_members_cannot_deactivate_anyone(client, customer, member):
    colleague = customer_user(customer, username="bob")
    client.force_login(member)
    assert client.post(reverse("customer:deactivate", args=[colleague.pk])).status_code == 403
    colleague.refresh_from_db()
    assert colleague.is_active


def test_staff_users_cannot_be_deactivated_from_a_team_page(client, customer_admin, approver):
    client.force_login(customer_admin)
    assert client.post(reverse("customer:deactivate", args=[approver.pk])).status_code == 404


def test_an_invitation_can_be_sent_again(client, customer, customer_admin):
    invited = customer_user(customer, username="new@example.com", email="new@example.com")
    invited.set_unusable_password()
    invited.save()
    client.force_login(customer_admin)
    client.post(reverse("customer:resend_invitation", args=[invited.pk]))
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new@example.com"]
