"""What a certificate's entries depend on, grouped: a request's items (runs) or uploaded files
per status and the other fields their entries read, with the counts and newest times that move
when an entry would change (a late verification, a confirmation). A digest of these tells
whether the latest version may still be true without building a new document."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Max, Model, QuerySet


def grouped(rows: QuerySet[Model], *fields: str) -> list[dict[str, Any]]:
    """*rows* grouped by *fields*, in that order (one aggregate query)."""
    return list(
        rows.values(*fields)
        .annotate(
            n=Count("id"),
            verified=Count("verified_at"),
            verify_due=Count("verify_due_at"),
            last_verified=Max("verified_at"),
            last_confirmed=Max("confirmed_at"),
        )
        .order_by(*fields)
    )
