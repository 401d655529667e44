"""What a run's result is called, wherever it is shown: item lists, receipts, the API.

Three outcomes prove a run is gone, and they are kept apart: *deleted* (Extend confirmed our
DELETE), *deleted, answer lost* (our DELETE reached Extend but its answer did not come back; a
later 404 confirms the run is gone) and *already gone* (Extend answered 404 to our first DELETE
and the workspace was then shown healthy). An item Extend answered 404 to that is not yet
proven gone is *not found, awaiting proof*. Customers see a legal hold only as "Retained for
legal reasons".
"""

from __future__ import annotations

from django.db import models

from deletions.models import DeletionItem
from deletions.requests.holds import CUSTOMER_NOTICE

IS = DeletionItem.Status


class Outcome(models.TextChoices):
    DELETED = "deleted", "Deleted"
    DELETED_ANSWER_LOST = "deleted_answer_lost", "Deleted (answer lost)"
    ALREADY_GONE = "already_gone", "Already gone"
    UNCONFIRMED = "unconfirmed", "Not found, awaiting proof"
    FAILED = "failed", "Failed"
    RETAINED = "retained", CUSTOMER_NOTICE
    PENDING = "pending", "Pending"


OUTCOME_OF_STATUS = {
    IS.ALREADY_GONE: Outcome.ALREADY_GONE,
    IS.UNCONFIRMED: Outcome.UNCONFIRMED,
    IS.FAILED: Outcome.FAILED,
    IS.HELD: Outcome.RETAINED,
}

# What each outcome means, for the receipt's legend.
MEANINGS = {
    Outcome.DELETED: "Extend confirmed our deletion.",
    Outcome.DELETED_ANSWER_LOST: (
        "Our deletion reached Extend but its answer was lost; Extend confirms the run is gone."
    ),
    Outcome.ALREADY_GONE: "Extend answered that the run no longer existed before we deleted it.",
    Outcome.UNCONFIRMED: (
        "Extend answered that the run does not exist; we are waiting for proof before calling "
        "it gone."
    ),
    Outcome.FAILED: "The run could not be deleted.",
    Outcome.RETAINED: "Kept for legal reasons for now; deleted once they no longer apply.",
}


def outcome_of(item: DeletionItem) -> Outcome:
    """The item's outcome; an item still pending or in flight has none yet (``pending``)."""
    if item.status == IS.DELETED:
        return Outcome.DELETED_ANSWER_LOST if item.answer_lost else Outcome.DELETED
    return OUTCOME_OF_STATUS.get(IS(item.status), Outcome.PENDING)


def outcome_label(item: DeletionItem, *, staff: bool = False) -> str:
    """The item's result in words: for customers a hold is only "Retained for legal reasons";
    staff see "On legal hold". Items not finished keep their state ("Pending", "In flight")."""
    if item.status in (IS.PENDING, IS.IN_FLIGHT) or (staff and item.status == IS.HELD):
        return str(item.get_status_display())
    return str(outcome_of(item).label)
