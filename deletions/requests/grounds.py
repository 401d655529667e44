"""Grounds for refusing a GDPR erasure request, and the rule that a refusal names one.

Art. 17(3) lists the only reasons a controller may keep data a data subject asked to have
erased; Art. 11(2) and 12(2) and (6) let it refuse a person it cannot identify. A regulator asks
which one applied, so a rejected GDPR request records one of these codes beside its free-text
explanation (``DeletionRequest.refusal_ground``). A customer's standard request is not an
exercise of a legal right: it is rejected with the free reason alone and carries no ground.

The choices live with the model (:class:`deletions.models.requests.RefusalGround`).
"""

from __future__ import annotations

from deletions.core.errors import DomainError
from deletions.models.requests import RefusalGround as RefusalGround


class GroundError(DomainError):
    """A refusal whose ground is missing, unknown, or given where none applies."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        # The API answers 422 and names the field, as for a form's error.
        self.details = {"fields": {"ground": [message]}}


GROUND_REQUIRED = (
    "Choose the ground for refusing this GDPR erasure request: one of Art. 17(3)(a)-(e), or "
    "that the data subject's identity could not be verified."
)
GROUND_NOT_APPLICABLE = (
    "Grounds apply to GDPR erasure requests only; a standard request is rejected with its "
    "reason alone."
)


def checked_ground(ground: str | None, *, gdpr: bool) -> str:
    """The ground to record when rejecting a request: required and known for a GDPR erasure
    request (*gdpr*), absent for a standard one. Raises :class:`GroundError` otherwise."""
    ground = (ground or "").strip()
    if not gdpr:
        if ground:
            raise GroundError(GROUND_NOT_APPLICABLE)
        return ""
    if not ground:
        raise GroundError(GROUND_REQUIRED)
    if ground not in RefusalGround.values:
        raise GroundError(f"{ground!r} is not a ground for refusal. {GROUND_REQUIRED}")
    return ground


def label(ground: str) -> str:
    """The ground's wording for pages, e-mails and the register ("" for none)."""
    return str(RefusalGround(ground).label) if ground else ""
