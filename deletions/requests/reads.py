"""Reads of a request's documents recorded in the audit trail: who downloaded or opened a
certificate of erasure or a receipt, when, in which format, from where (``audit.record`` keeps
the signed-in reader's address). A read changes nothing, so it has no transaction of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from deletions import audit
from deletions.models import Certificate, DeletionRequest, Source

if TYPE_CHECKING:
    from deletions.audit import Actor


def certificate_viewed(
    cert: Certificate, *, req: DeletionRequest, actor: Actor, source: Source | str, fmt: str
) -> None:
    """*actor* read version ``cert.version`` of *req*'s certificate as *fmt* (json, pdf)."""
    audit.record(
        "certificate.viewed",
        obj=cert,
        actor=actor,
        source=source,
        request=req,
        detail={"version": cert.version, "format": fmt},
    )


def receipt_viewed(req: DeletionRequest, *, actor: Actor, source: Source | str, fmt: str) -> None:
    """*actor* read *req*'s receipt as *fmt* (html, csv)."""
    audit.record("receipt.viewed", obj=req, actor=actor, source=source, detail={"format": fmt})
