"""The e-mails of the controller's confirmation step: the customer's admins are told an intake
waits for them, and a data subject the customer could not confirm is told so.

Both are sent after the commit of the change that calls for them, so a rolled-back change sends
nothing; neither carries the subject's reference or address in the admins' message (the page
shows them, to a signed-in admin, and records the read).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse

from deletions.core import emails
from deletions.models import Customer, ErasureIntake, Membership


def customer_admin_addresses(customer: Customer | int) -> list[str]:
    """The addresses of the customer's active admins (people, not service accounts)."""
    customer_id = customer.pk if isinstance(customer, Customer) else customer
    users = get_user_model().objects.filter(
        is_active=True,
        membership__customer_id=customer_id,
        membership__role=Membership.Role.ADMIN,
        service_account__isnull=True,
    )
    return sorted(set(users.exclude(email="").values_list("email", flat=True)))


def _send_confirmation_needed(intake_id: int) -> None:
    intake = ErasureIntake.objects.select_related("customer").filter(pk=intake_id).first()
    if intake is None or intake.status != ErasureIntake.Status.VERIFIED:
        return
    emails.send(
        "gdpr_controller_confirm",
        customer_admin_addresses(intake.customer_id),
        {
            "customer": intake.customer,
            "intake": intake,
            "link": emails.absolute_url(reverse("customer:intake", args=[intake.pk])),
        },
    )


def confirmation_needed(intake: ErasureIntake) -> None:
    """Once the current transaction commits, tell the customer's admins that *intake* waits for
    their confirmation."""
    intake_id = intake.pk
    transaction.on_commit(lambda: _send_confirmation_needed(intake_id))


def subject_not_confirmed(intake: ErasureIntake, address: str) -> None:
    """Once the current transaction commits, tell the data subject at *address* that the company
    could not confirm them, so nothing will be erased on this request."""
    customer = intake.customer

    def send() -> None:
        emails.send("gdpr_not_confirmed", [address], {"customer": customer})

    transaction.on_commit(send)
