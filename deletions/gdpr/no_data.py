"""Closing a public intake for which the customer holds no data, and telling the data subject.

Art. 12(4): a controller that takes no action on a request tells the data subject why, without
delay. When a verified intake's reference matches none of the customer's parse runs, staff close
it as "no data found"; the portal checks that nothing matches (present runs, or runs held by
another open request) before it does, and e-mails the subject after commit, recording the notice
in the audit trail (``subject.notified``, kind ``no_data``, on the intake). The address is
erased when the intake closes, so it is kept in memory only until the notice is sent.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.db import transaction

from deletions import audit
from deletions.core import crypto, emails
from deletions.core.errors import RuleViolation
from deletions.gdpr import intake as intakes
from deletions.gdpr import subject_notices
from deletions.models import ErasureIntake, Source

if TYPE_CHECKING:
    from deletions.audit import Actor

logger = logging.getLogger(__name__)

NOTE = "No data found: no parse run of the customer carries the data subject's reference."


def close_no_data(
    intake: ErasureIntake, *, actor: Actor, source: Source | str, note: str = ""
) -> ErasureIntake:
    """Close the verified *intake* as "no data found" and tell the data subject after commit.

    Refused while any of the customer's runs carries the reference: those are to be frozen
    into a request (or wait for the open request that holds them).
    """
    with transaction.atomic():
        locked = (
            ErasureIntake.objects.select_for_update().select_related("customer").get(pk=intake.pk)
        )
        # Staff look for the subject's runs once the customer has confirmed the person.
        if locked.status != ErasureIntake.Status.CONFIRMED:
            raise RuleViolation(
                f"Intake #{locked.pk} is {locked.get_status_display().lower()}: only an intake "
                "the customer confirmed can be closed as no data found."
            )
        found = intakes.preview(
            locked.customer, intakes.selection_for(intakes.intake_reference(locked), [])
        )
        matching = found.count + found.busy
        if matching:
            raise RuleViolation(
                f"{matching:,} parse run{'s' if matching != 1 else ''} of the customer carry "
                "this reference: freeze them into a request instead."
            )
        address = crypto.decrypt(locked.email_encrypted) if locked.email_encrypted else ""
        closed = intakes.close_intake(
            locked,
            ErasureIntake.Status.DISMISSED,
            actor=actor,
            source=source,
            note=f"{NOTE} {note.strip()}".strip(),
        )
        if address:
            transaction.on_commit(lambda: _tell(closed, address))
    return closed


def _tell(intake: ErasureIntake, address: str) -> None:
    try:
        context: dict[str, object] = {"customer": intake.customer, "intake": intake}
        context.update(subject_notices.complaint_context())
        if not emails.send(subject_notices.TEMPLATES[subject_notices.NO_DATA], [address], context):
            return
        audit.record(
            subject_notices.ACTION,
            obj=intake,
            actor=None,
            source=Source.SYSTEM,
            customer=intake.customer_id,
            detail={"notice": subject_notices.NO_DATA, "to": intake.email_hint},
        )
    except Exception:
        logger.exception("Could not send the no-data notice of intake %s", intake.pk)
