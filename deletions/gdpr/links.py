"""The signed links e-mailed to a data subject: verifying an intake's address, and answering a
deadline paused for more information (which resumes it, see :mod:`.intake`).

Apart from :mod:`.intake` so that :mod:`.deadlines` can e-mail an answer link without importing
the intake module that resumes deadlines.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import signing

from deletions.models import DeletionRequest, ErasureIntake

SIGNING_SALT = "deletions.intake.verify"
# A fresh link e-mailed when staff pause the deadline to ask the data subject for more
# information (deletions.gdpr.deadlines.pause_deadline); using it resumes the paused deadline.
ANSWER_SALT = "deletions.intake.answer"
ANSWER_MAX_AGE_SECONDS = 30 * 24 * 3600


def make_token(intake: ErasureIntake) -> str:
    return signing.TimestampSigner(salt=SIGNING_SALT).sign_object(
        {"i": intake.pk, "n": intake.nonce}
    )


class TokenInvalid(Exception):
    """The link is malformed, forged, expired or already used; ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def make_answer_token(intake: ErasureIntake, req: DeletionRequest) -> str:
    """A link for the data subject to answer the current pause of *req*'s deadline (once)."""
    assert req.deadline_paused_at is not None
    return signing.TimestampSigner(salt=ANSWER_SALT).sign_object(
        {"i": intake.pk, "n": intake.nonce, "r": req.pk, "p": req.deadline_paused_at.isoformat()}
    )


def _answer_for(data: Any) -> ErasureIntake:
    """The converted intake behind an answer link, with ``answering`` set to its request,
    while the very pause the link was sent for lasts."""
    intake = (
        ErasureIntake.objects.select_related("customer", "request")
        .filter(pk=data.get("i"), nonce=data.get("n"), request_id=data.get("r"))
        .first()
    )
    if intake is None or intake.request is None:
        raise TokenInvalid("invalid")
    req = intake.request
    if (
        not req.is_open
        or req.deadline_paused_at is None
        or req.deadline_paused_at.isoformat() != data.get("p")
    ):
        raise TokenInvalid("used")
    intake.answering = req  # type: ignore[attr-defined]
    return intake


def intake_for_token(token: str) -> ErasureIntake:
    """The intake a verification link points to, if it may still be verified; or, for an
    answer link (see ``make_answer_token``), the converted intake whose request it resumes."""
    try:
        data = signing.TimestampSigner(salt=SIGNING_SALT).unsign_object(
            token, max_age=settings.GDPR_VERIFICATION_MAX_AGE_SECONDS
        )
    except signing.SignatureExpired:
        raise TokenInvalid("expired") from None
    except signing.BadSignature:
        try:
            answer = signing.TimestampSigner(salt=ANSWER_SALT).unsign_object(
                token, max_age=ANSWER_MAX_AGE_SECONDS
            )
        except signing.SignatureExpired:
            raise TokenInvalid("expired") from None
        except signing.BadSignature:
            raise TokenInvalid("invalid") from None
        return _answer_for(answer)
    intake = (
        ErasureIntake.objects.select_related("customer")
        .filter(pk=data.get("i"), nonce=data.get("n"))
        .first()
    )
    if intake is None:
        raise TokenInvalid("invalid")
    if intake.status == ErasureIntake.Status.EXPIRED:
        raise TokenInvalid("expired")
    if intake.status != ErasureIntake.Status.AWAITING_VERIFICATION:
        raise TokenInvalid("used")
    return intake
