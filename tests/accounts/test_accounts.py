"""Accounts: sign in and out, throttled failures, password reset by e-mail, invitations."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from deletions.accounts.invitations import invitation_url
from deletions.tasks.accounts import send_password_reset_task
from tests.factories import customer_user

PASSWORD = "correct horse battery staple"


def test_the_login_page_links_to_password_reset(client, db):
    body = client.get(reverse("login")).content.decode()
    assert reverse("password_reset") in body


def test_a_customer_user_signs_in_and_lands_on_their_runs(client, member):
    response = client.post(
        reverse("login"), {"username": "alice", "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("customer:runs")


def test_a_wrong_password_is_explained(client, member):
    response = client.post(reverse("login"), {"username": "alice", "password": "nope"})
    assert "didn't match" in response.content.decode()


def test_sign_out_needs_post_and_ends_the_session(client, member):
    client.force_login(member)
    assert client.get(reverse("logout")).status_code == 405
    client.post(reverse("logout"))
    assert client.get(reverse("customer:runs")).status_code == 302


def test_repeated_failures_lock_the_account_out_with_our_page(client, member, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "alice", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 429
    body = response.content.decode()
    assert "Too many failed sign-in attempts" in body
    assert reverse("password_reset") in body
    assert "portal.css" in body  # the portal's layout, not a bare page


def ask_for_reset(client, capture, email, *, ip="198.51.100.7", **extra):
    """POST the reset form from client address *ip*, running what waits for the commit."""
    with capture(execute=True):
        return client.post(reverse("password_reset"), {"email": email}, REMOTE_ADDR=ip, **extra)


def run_worker(queued):
    """Do what the Celery worker does with the queued reset e-mails."""
    for address in queued:
        send_password_reset_task(address)


def test_password_reset_emails_a_link_that_sets_a_new_password(
    client, member, reset_mail_queue, django_capture_on_commit_callbacks
):
    response = ask_for_reset(client, django_capture_on_commit_callbacks, member.email)
    assert "Check your e-mail" in client.get(response["Location"]).content.decode()
    run_worker(reset_mail_queue)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [member.email]
    assert "Reset your password" in message.subject
    assert message.alternatives and "Choose a new password" in message.alternatives[0][0]
    link = re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", str(message.body)).group(1)

    page = client.get(link, follow=True)
    assert "Choose a new password" in page.content.decode()
    confirm_url = page.redirect_chain[-1][0]
    client.post(
        confirm_url,
        {"new_password1": "a much better passphrase", "new_password2": "a much better passphrase"},
    )
    member.refresh_from_db()
    assert member.check_password("a much better passphrase")
    # The link works once.
    again = client.get(link, follow=True)
    assert "This link no longer works" in again.content.decode()


def test_password_reset_answers_alike_and_mails_only_after_answering(
    client, member, reset_mail_queue, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    known = ask_for_reset(client, capture, member.email)
    unknown = ask_for_reset(client, capture, "nobody@example.com")
    # The same answer, and nothing looked up or sent while answering: the worker does both,
    # so not even the time taken tells whether the account exists.
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert mail.outbox == []
    assert reset_mail_queue == [member.email, "nobody@example.com"]
    run_worker(reset_mail_queue)
    assert [m.to for m in mail.outbox] == [[member.email]]


def test_password_reset_is_limited_per_client_address(
    client, member, settings, reset_mail_queue, django_capture_on_commit_callbacks
):
    settings.PASSWORD_RESET_LIMIT_PER_IP = 3
    capture = django_capture_on_commit_callbacks
    for n in range(3):
        assert ask_for_reset(client, capture, f"p{n}@example.com").status_code == 302
    refused = ask_for_reset(client, capture, member.email)
    assert refused.status_code == 429
    assert refused["Retry-After"] == "3600"
    assert "Too many requests" in refused.content.decode()
    assert member.email not in reset_mail_queue
    # Another client is not held back by the first one's requests.
    assert ask_for_reset(client, capture, member.email, ip="192.0.2.1").status_code == 302
    assert reset_mail_queue[-1] == member.email


def test_an_invalid_reset_request_does_not_count(
    client, db, settings, reset_mail_queue, django_capture_on_commit_callbacks
):
    settings.PASSWORD_RESET_LIMIT_PER_IP = 2
    for _ in range(5):
        assert (
            ask_for_reset(client, django_capture_on_commit_callbacks, "not an address").status_code
            == 200
        )
    assert (
        ask_for_reset(client, django_capture_on_commit_callbacks, "a@example.com").status_code
        == 302
    )


def test_one_address_gets_a_few_reset_mails_an_hour_and_the_same_answer_after(
    client, member, settings, reset_mail_queue, django_capture_on_commit_callbacks
):
    settings.PASSWORD_RESET_LIMIT_PER_EMAIL = 2
    answers = {
        ask_for_reset(
            client, django_capture_on_commit_callbacks, member.email, ip=f"203.0.113.{n}"
        )["Location"]
        for n in range(5)
    }
    # Five strangers asked: the owner gets two links (either still works), and nobody was told
    # to stop, so nobody can keep the owner from resetting.
    assert answers == {reverse("password_reset_done")}
    assert reset_mail_queue == [member.email, member.email]


@pytest.fixture
def invited(customer):
    user = customer_user(customer, username="new@example.com", email="new@example.com")
    user.set_unusable_password()
    user.save()
    return user


def test_an_invitation_link_shows_the_page_on_get_and_changes_nothing(client, invited):
    response = client.get(invitation_url(invited))
    assert response.status_code == 200
    assert "Acme Health" in response.content.decode()
    invited.refresh_from_db()
    assert not invited.has_usable_password()


def test_accepting_an_invitation_sets_the_password_and_signs_in(client, invited):
    url = invitation_url(invited)
    response = client.post(
        url, {"new_password1": "my own passphrase", "new_password2": "my own passphrase"}
    )
    assert response.status_code == 302
    invited.refresh_from_db()
    assert invited.check_password("my own passphrase")
    assert client.get(reverse("customer:runs")).status_code == 200
    # Used once, the link is dead.
    client.logout()
    assert client.get(url).status_code == 400


def test_mismatched_passwords_are_explained(client, invited):
    response = client.post(
        invitation_url(invited), {"new_password1": "my own passphrase", "new_password2": "other"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["new_password2"]
    invited.refresh_from_db()
    assert not invited.has_usable_password()


def test_an_invitation_link_expires(client, invited, settings):
    url = invitation_url(invited)
    later = timezone.now() + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 60)
    with time_machine.travel(later):
        response = client.get(url)
    assert response.status_code == 400
    assert "no longer works" in response.content.decode()


def test_a_tampered_invitation_link_is_refused(client, invited):
    url = invitation_url(invited)
    assert client.get(url[:-3] + "xx/").status_code == 400
    assert client.get(reverse("accept_invitation", args=["zzzz", "abc-def"])).status_code == 400


def test_an_invitation_link_is_not_a_password_reset_link(client, invited):
    path = invitation_url(invited).replace("/invitation/", "/reset/")
    page = client.get(path, follow=True)
    assert "This link no longer works" in page.content.decode()


def test_a_deactivated_user_cannot_accept(client, invited):
    url = invitation_url(invited)
    invited.is_active = False
    invited.save()
    assert client.get(url).status_code == 400
