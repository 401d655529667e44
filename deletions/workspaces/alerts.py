"""E-mail alerts to operator staff about the engine: a workspace stopped, work stuck."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import NoReverseMatch, reverse

from deletions.core import emails
from deletions.models import DeletionItem, Workspace


def staff_alert_recipients() -> list[str]:
    """STAFF_ALERT_EMAILS plus every active staff admin and approver with an address."""
    users = (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=["admin", "approver"])
        .exclude(email="")
    )
    return sorted({*settings.STAFF_ALERT_EMAILS, *users.values_list("email", flat=True)})


def _workspace_url(workspace: Workspace) -> str:
    try:
        return emails.absolute_url(reverse("console:workspace_detail", args=[workspace.pk]))
    except NoReverseMatch:
        return emails.absolute_url(reverse("admin:deletions_workspace_change", args=[workspace.pk]))


def alert_workspace_stopped(workspace_id: int) -> int:
    """Tell staff that the engine stopped a workspace's work, why, and how to resume it."""
    workspace = Workspace.objects.get(pk=workspace_id)
    return emails.send(
        "workspace_stopped",
        staff_alert_recipients(),
        {"workspace": workspace, "url": _workspace_url(workspace)},
    )


def alert_verification_failed(item_id: int) -> int:
    """Tell staff that Extend acknowledged a DELETE several times, yet the run is still there."""
    item = DeletionItem.objects.select_related("parse_run", "workspace").get(pk=item_id)
    return emails.send(
        "verification_failed",
        staff_alert_recipients(),
        {
            "item": item,
            "url": emails.absolute_url(reverse("console:request_detail", args=[item.request_id])),
        },
    )
