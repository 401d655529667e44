"""Public intakes at each step, for tests: verified by the subject, then confirmed by the
customer (the controller), which is what staff can freeze into a request."""

from __future__ import annotations

from deletions.gdpr import controller, intake
from deletions.models import Membership, Source
from tests.factories import customer_user
from tests.gdpr.conftest import SUBJECT


def verified_intake(customer, reference=SUBJECT, email="jane@example.org", **kwargs):
    found = intake.create_intake(customer, email=email, reference=reference, **kwargs)
    return intake.verify_intake(intake.make_token(found))


def confirm(found, admin=None):
    """The customer's admin (a new one unless given) confirms the intake's person."""
    if admin is None:
        admin = customer_user(found.customer, role=Membership.Role.ADMIN)
    return controller.confirm_intake(
        found, reason="Matches our patient record.", actor=admin, source=Source.WEB
    )


def confirmed_intake(customer, reference=SUBJECT, email="jane@example.org", **kwargs):
    return confirm(verified_intake(customer, reference=reference, email=email, **kwargs))
