"""Values every template needs: the site name, the signed-in user's customer, and for a
customer admin how many erasure requests wait for their confirmation (the nav's badge)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from deletions.accounts.roles import is_staff_user, membership_of
from deletions.models import ErasureIntake


def portal(request: HttpRequest) -> dict[str, Any]:
    membership = membership_of(request.user)
    return {
        "site_name": settings.SITE_NAME,
        "membership": membership,
        "is_staff_user": is_staff_user(request.user),
        "nav_confirmations": (
            ErasureIntake.objects.filter(
                customer_id=membership.customer_id, status=ErasureIntake.Status.VERIFIED
            ).count()
            if membership is not None and membership.is_customer_admin
            else 0
        ),
    }
