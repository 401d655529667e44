"""Creating and changing workspaces, their secrets and their inventory sync: one implementation
for the console's pages and the API.

A workspace's base URL and API key decide where the portal sends a secret, so the two rules that
guard them are checked here, at the point of no return, whoever calls: a URL must pass the
outbound URL policy (:mod:`deletions.core.outbound`), and a stored key is never kept for a new URL
(the key must be entered again with it). A change to what a call is sent with commits inside the
workspace's dispatch fence (:mod:`deletions.workspaces.fence`), so no DELETE claimed under the old
settings is sent after it. Every change is audited; secrets appear in the trail only masked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from deletions import audit
from deletions.core import outbound
from deletions.core.errors import RuleViolation
from deletions.models import Source, Workspace
from deletions.workspaces import fence

if TYPE_CHECKING:
    from deletions.audit import Actor

# What staff set about a workspace besides its base URL and secrets (the console form's fields).
SETTINGS_FIELDS = (
    "name",
    "api_version",
    "key_scope",
    "extend_workspace_id",
    "organization",
    "customer_metadata_key",
    "rate_limit",
    "get_rate_limit",
    "verify_deletions",
)
AUDITED_FIELDS = ("base_url", *SETTINGS_FIELDS)

KEY_REENTRY_MESSAGE = (
    "The URL changes: enter the workspace's API key again. A stored key is never sent to a new "
    "address."
)
ORGANIZATION_KEY_MESSAGE = "An organisation key needs the Extend workspace id."


def secret_problem(value: str) -> str | None:
    """Why *value* cannot be an API key or signing secret, or None if it may be one."""
    if len(value) < 8 or any(c.isspace() for c in value):
        return "This does not look like a secret: too short or has spaces."
    return None


def base_url_problem(url: str) -> str | None:
    """Why the portal may not call *url* with a workspace's key, or None if it may.

    Extend's own regions always may (https by construction; each call is checked again);
    any other URL must pass the outbound URL policy.
    """
    if url in Workspace.Region.values:
        return None
    try:
        outbound.check_url(url)
    except outbound.OutboundURLRefused as exc:
        return str(exc)
    return None


def needs_key_reentry(workspace: Workspace, base_url: str, api_key: str) -> bool:
    """Whether saving *base_url* needs the API key entered again: an existing workspace with a
    stored key moves to another address and no new key comes with it."""
    return bool(
        workspace.pk and workspace.has_api_key and base_url != workspace.base_url and not api_key
    )


def _check(workspace: Workspace, values: dict[str, Any], api_key: str) -> None:
    """The rules every save meets, against the workspace as stored (*workspace*)."""
    base_url = values.get("base_url", workspace.base_url)
    problem = base_url_problem(base_url)
    if problem:
        raise RuleViolation(problem)
    if needs_key_reentry(workspace, base_url, api_key):
        raise RuleViolation(KEY_REENTRY_MESSAGE)
    if api_key and (problem := secret_problem(api_key)):
        raise RuleViolation(problem)
    scope = values.get("key_scope", workspace.key_scope)
    workspace_id = values.get("extend_workspace_id", workspace.extend_workspace_id)
    if scope == Workspace.KeyScope.ORGANIZATION and not workspace_id:
        raise RuleViolation(ORGANIZATION_KEY_MESSAGE)


def snapshot(workspace: Workspace) -> dict[str, Any]:
    """The audited settings of *workspace*, as they are now."""
    return {name: getattr(workspace, name) for name in AUDITED_FIELDS}


@sensitive_variables("api_key", "webhook_secret")
def create_workspace(
    values: dict[str, Any],
    *,
    api_key: str = "",
    webhook_secret: str = "",
    actor: Actor,
    source: Source | str,
) -> Workspace:
    """A new workspace with *values* (:data:`AUDITED_FIELDS`) and, if given, its secrets."""
    workspace = Workspace()
    _check(workspace, values, api_key)
    if webhook_secret and (problem := secret_problem(webhook_secret)):
        raise RuleViolation(problem)
    with transaction.atomic():
        for name, value in values.items():
            setattr(workspace, name, value)
        if api_key:
            workspace.set_api_key(api_key)
        if webhook_secret:
            workspace.set_webhook_secret(webhook_secret)
        workspace.save()
        audit.record(
            "workspace.created",
            obj=workspace,
            actor=actor,
            source=source,
            after={name: str(getattr(workspace, name)) for name in AUDITED_FIELDS},
            detail={"api_key_set": bool(api_key), "webhook_secret_set": bool(webhook_secret)},
        )
    return workspace


@sensitive_variables("api_key")
def update_workspace(
    workspace: Workspace,
    values: dict[str, Any],
    *,
    api_key: str = "",
    actor: Actor,
    source: Source | str,
) -> bool:
    """Change *workspace*'s settings to *values* (any of :data:`AUDITED_FIELDS`) and, if given,
    its API key; False if nothing changed.

    The rules are checked against the workspace as it is under the fence, so a URL is never
    saved with a key that was entered for another one.
    """
    # The fence: once a new URL, version or workspace id commits, no DELETE claimed under the
    # old ones is sent (the gate compares credentials versions).
    with fence.closed([workspace.pk]):
        locked = Workspace.objects.select_for_update().get(pk=workspace.pk)
        before = snapshot(locked)
        _check(locked, values, api_key)
        for name, value in values.items():
            setattr(locked, name, value)
        changes = {
            name: (before[name], getattr(locked, name))
            for name in AUDITED_FIELDS
            if before[name] != getattr(locked, name)
        }
        if any(name in changes for name in Workspace.CONNECTION_FIELDS):
            locked.credentials_version += 1
        was_key = locked.masked_api_key
        if api_key:
            locked.set_api_key(api_key)
        locked.save()
        if changes:
            audit.record(
                "workspace.updated",
                obj=locked,
                actor=actor,
                source=source,
                before={name: str(old) for name, (old, _new) in changes.items()},
                after={name: str(new) for name, (_old, new) in changes.items()},
            )
        if api_key:
            audit.record(
                "workspace.key_rotated",
                obj=locked,
                actor=actor,
                source=source,
                before={"api_key": was_key},
                after={"api_key": locked.masked_api_key},
                detail={"secret": "api_key"},
            )
    workspace.refresh_from_db()
    return bool(changes or api_key)


SECRET_NAMES = {"api_key": "API key", "webhook_secret": "webhook secret"}


@sensitive_variables("api_key", "webhook_secret")
def rotate_secrets(
    workspace: Workspace,
    *,
    api_key: str = "",
    webhook_secret: str = "",
    actor: Actor,
    source: Source | str,
) -> list[str]:
    """Enter or replace the API key and/or the webhook secret; neither is ever shown back.
    Returns the names of the secrets replaced (``api_key``, ``webhook_secret``)."""
    if not api_key and not webhook_secret:
        raise RuleViolation("Enter a new API key, a new webhook secret, or both.")
    for value in (api_key, webhook_secret):
        if value and (problem := secret_problem(value)):
            raise RuleViolation(problem)
    with fence.closed([workspace.pk]):  # a new key binds the gate from its commit on
        locked = Workspace.objects.select_for_update().get(pk=workspace.pk)
        rotated = []
        if api_key:
            was = locked.masked_api_key
            locked.set_api_key(api_key)
            rotated.append(("api_key", was, locked.masked_api_key))
        if webhook_secret:
            was = locked.masked_webhook_secret
            locked.set_webhook_secret(webhook_secret)
            rotated.append(("webhook_secret", was, locked.masked_webhook_secret))
        locked.save(
            update_fields=[
                "api_key_encrypted",
                "api_key_last4",
                "credentials_version",
                "webhook_secret_encrypted",
                "webhook_secret_last4",
            ]
        )
        for secret, was, now in rotated:
            audit.record(
                "workspace.key_rotated",
                obj=locked,
                actor=actor,
                source=source,
                before={secret: was},
                after={secret: now},
                detail={"secret": secret},
            )
    workspace.refresh_from_db()
    return [secret for secret, _was, _now in rotated]
