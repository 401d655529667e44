"""Values every template needs: the site name and the signed-in user's customer."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from deletions.accounts.roles import is_staff_user, membership_of


def portal(request: HttpRequest) -> dict[str, Any]:
    return {
        "site_name": settings.SITE_NAME,
        "membership": membership_of(request.user),
        "is_staff_user": is_staff_user(request.user),
    }
