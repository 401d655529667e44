"""Console: Extend workspaces, their credentials, connection test, health and inventory sync."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_http_methods, require_POST

from deletions import audit, extend_client, fence, ratelimit, sync, workspace_health
from deletions.engine.due import open_pending_items
from deletions.errors import DomainError
from deletions.extend_connection import client_for
from deletions.forms_console import ReasonForm, SecretsForm, WorkspaceForm
from deletions.models import Source, Workspace
from deletions.views.console_auth import (
    ADMINISTER,
    OPERATE,
    console_required,
    missing_reason,
    render_console,
)

# A connection test waits at most this long for a slot of the organisation's GET limit.
CONNECTION_TEST_SLOT_WAIT_SECONDS = 5.0

# What staff should do about each stopped state before resuming.
HEALTH_ADVICE = {
    Workspace.Health.CREDENTIALS_INVALID: (
        "Extend refused the API key (401). Enter a new key below, test the connection, then resume."
    ),
    Workspace.Health.FORBIDDEN: (
        "Extend refused access (403): the key may not act on this workspace. Check the key's "
        "scope and the Extend workspace id, test the connection, then resume."
    ),
    Workspace.Health.PAYMENT_REQUIRED: (
        "Extend blocked usage on the account (402). Settle the payment with Extend, then resume."
    ),
    Workspace.Health.PAUSED: "Staff paused this workspace. Resume it when work may continue.",
    Workspace.Health.NOT_FOUND_BURST: (
        "Too many deletes in a row answered 404: the key or workspace id may point at the "
        "wrong workspace. Check them and test the connection before resuming."
    ),
}


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def get_workspace(pk: int) -> Workspace:
    return get_object_or_404(Workspace.objects.select_related("organization"), pk=pk)


def webhook_url(workspace: Workspace) -> str:
    return f"{settings.SITE_URL}/webhooks/extend/{workspace.webhook_token}/"


@console_required()
def workspace_list(request: HttpRequest) -> HttpResponse:
    workspaces = list(Workspace.objects.select_related("organization"))
    pending = dict(open_pending_items().order_by().values_list("workspace").annotate(n=Count("id")))
    for ws in workspaces:
        ws.pending_items = pending.get(ws.pk, 0)  # type: ignore[attr-defined]
    return render_console(
        request,
        "console/workspace_list.html",
        {"workspaces": workspaces, "admin_reason": missing_reason(request, ADMINISTER)},
        section="workspaces",
    )


def _detail_context(request: HttpRequest, ws: Workspace) -> dict[str, Any]:
    sync_status = sync.sync_status(ws)
    return {
        "ws": ws,
        "webhook_url": webhook_url(ws),
        "advice": HEALTH_ADVICE.get(ws.health, ""),  # type: ignore[call-overload]
        "secrets_form": SecretsForm(),
        "sync_available": sync is not None,
        "sync_status": sync_status,
        "pending_items": open_pending_items(ws.pk).count(),
        "admin_reason": missing_reason(request, ADMINISTER),
        "operate_reason": missing_reason(request, OPERATE),
    }


@console_required()
def workspace_detail(request: HttpRequest, pk: int) -> HttpResponse:
    ws = get_workspace(pk)
    return render_console(
        request, "console/workspace_detail.html", _detail_context(request, ws), section="workspaces"
    )


def _changes(form: WorkspaceForm, before: dict[str, Any]) -> dict[str, Any]:
    ws = form.instance
    fields = ["base_url", *form.Meta.fields]
    return {
        name: {"before": before.get(name), "after": getattr(ws, name)}
        for name in fields
        if before.get(name) != getattr(ws, name)
    }


@console_required(ADMINISTER)
@require_http_methods(["GET", "POST"])
def workspace_create(request: HttpRequest) -> HttpResponse:
    form = WorkspaceForm(request.POST if request.method == "POST" else None)
    secrets = SecretsForm(request.POST if request.method == "POST" else None)
    # The secrets may also be entered later; when given, they must look like secrets.
    given = bool(request.POST.get("api_key") or request.POST.get("webhook_secret"))
    secrets_ok = not given or secrets.is_valid()
    if request.method == "POST" and form.is_valid() and secrets_ok:
        with transaction.atomic():
            ws = form.save(commit=False)
            raw_key = secrets.cleaned_data.get("api_key", "") if given else ""
            raw_secret = secrets.cleaned_data.get("webhook_secret", "") if given else ""
            if raw_key:
                ws.set_api_key(raw_key)
            if raw_secret:
                ws.set_webhook_secret(raw_secret)
            ws.save()
            audit.record(
                "workspace.created",
                obj=ws,
                actor=request.user,
                source=Source.WEB,
                after={name: str(getattr(ws, name)) for name in ["base_url", *form.Meta.fields]},
                detail={"api_key_set": bool(raw_key), "webhook_secret_set": bool(raw_secret)},
            )
        messages.success(request, f"Workspace {ws.name} is created.")
        return redirect("console:workspace_detail", pk=ws.pk)
    return render_console(
        request,
        "console/workspace_form.html",
        {"form": form, "secrets_form": secrets if given else SecretsForm(), "ws": None},
        section="workspaces",
    )


@console_required(ADMINISTER)
@require_http_methods(["GET", "POST"])
def workspace_edit(request: HttpRequest, pk: int) -> HttpResponse:
    ws = get_workspace(pk)
    before = {name: getattr(ws, name) for name in ["base_url", *WorkspaceForm.Meta.fields]}
    form = WorkspaceForm(request.POST if request.method == "POST" else None, instance=ws)
    if request.method == "POST" and form.is_valid():
        # The fence: once a new URL, version or workspace id commits, no DELETE claimed under
        # the old ones is sent (the gate compares credentials versions).
        with fence.closed([ws.pk]):
            ws = form.save(commit=False)
            if any(before[name] != getattr(ws, name) for name in Workspace.CONNECTION_FIELDS):
                ws.credentials_version = (
                    Workspace.objects.select_for_update().get(pk=ws.pk).credentials_version + 1
                )
            was_key = ws.masked_api_key
            if form.cleaned_data.get("api_key"):
                ws.set_api_key(form.cleaned_data["api_key"])
            ws.save()
            form.save_m2m()
            changes = _changes(form, before)
            if changes:
                audit.record(
                    "workspace.updated",
                    obj=ws,
                    actor=request.user,
                    source=Source.WEB,
                    before={k: str(v["before"]) for k, v in changes.items()},
                    after={k: str(v["after"]) for k, v in changes.items()},
                )
            rotated = bool(form.cleaned_data.get("api_key"))
            if rotated:
                audit.record(
                    "workspace.key_rotated",
                    obj=ws,
                    actor=request.user,
                    source=Source.WEB,
                    before={"api_key": was_key},
                    after={"api_key": ws.masked_api_key},
                    detail={"secret": "api_key"},
                )
        messages.success(
            request,
            f"Workspace {ws.name} is saved." if changes or rotated else "Nothing was changed.",
        )
        return redirect("console:workspace_detail", pk=ws.pk)
    return render_console(
        request,
        "console/workspace_form.html",
        {"form": form, "ws": ws},
        section="workspaces",
    )


@console_required(ADMINISTER)
@require_POST
def workspace_secrets(request: HttpRequest, pk: int) -> HttpResponse:
    """Enter or rotate the API key and/or webhook secret; neither is ever shown back."""
    ws = get_workspace(pk)
    form = SecretsForm(request.POST)
    if not form.is_valid():
        context = _detail_context(request, ws)
        context["secrets_form"] = form
        return render_console(
            request, "console/workspace_detail.html", context, section="workspaces", status=400
        )
    with fence.closed([ws.pk]):  # a new key binds the gate from its commit on
        ws = Workspace.objects.select_for_update().get(pk=ws.pk)
        rotated = []
        if form.cleaned_data.get("api_key"):
            was = ws.masked_api_key
            ws.set_api_key(form.cleaned_data["api_key"])
            rotated.append(("api_key", was, ws.masked_api_key))
        if form.cleaned_data.get("webhook_secret"):
            was = ws.masked_webhook_secret
            ws.set_webhook_secret(form.cleaned_data["webhook_secret"])
            rotated.append(("webhook_secret", was, ws.masked_webhook_secret))
        ws.save(
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
                obj=ws,
                actor=request.user,
                source=Source.WEB,
                before={secret: was},
                after={secret: now},
                detail={"secret": secret},
            )
    names = " and ".join("API key" if s == "api_key" else "webhook secret" for s, *_ in rotated)
    note = ""
    if ws.health != Workspace.Health.ACTIVE:
        note = " Test the connection, then resume the workspace."
    messages.success(request, f"The new {names} of {ws.name} is stored.{note}")
    return redirect("console:workspace_detail", pk=ws.pk)


# What of an answer a connection test shows: a short token (Extend's error code, its request
# id) and never free text. The test may have reached anything its URL names, and whatever
# answered must not be able to put its words on a staff page.
_TOKEN = re.compile(r"[A-Za-z0-9_.:-]{1,100}")


def _token(value: str | None) -> str | None:
    return value if value and _TOKEN.fullmatch(value) else None


@dataclass
class ConnectionResult:
    ok: bool
    summary: str
    status: int | None = None
    code: str | None = None
    request_id: str | None = None
    runs_seen: int = 0


def _refused(exc: extend_client.ExtendError, summary: str) -> ConnectionResult:
    return ConnectionResult(
        ok=False,
        summary=summary,
        status=exc.status,
        code=_token(exc.code),
        request_id=_token(exc.request_id),
    )


def check_connection(ws: Workspace) -> ConnectionResult:
    """A real call to Extend with the workspace's stored credentials: the first page of runs."""
    if not ws.has_api_key:
        return ConnectionResult(ok=False, summary="No API key is stored for this workspace.")
    try:
        client = client_for(ws, connect_timeout=3.05, read_timeout=10.0)
    except ValueError as exc:
        return ConnectionResult(ok=False, summary=f"The workspace is misconfigured: {exc}")
    try:
        with client:
            # A GET like any other: it waits its turn in the organisation's limit (briefly:
            # someone is waiting for the page), and a 429 pushes back every GET caller.
            deadline = time.monotonic() + CONNECTION_TEST_SLOT_WAIT_SECONDS
            if not ratelimit.acquire_for(ws, ratelimit.GET, deadline=deadline):
                return ConnectionResult(
                    ok=False,
                    summary="Not tested: Extend's rate limit for this organisation's reads is in "
                    "use (or Extend asked to wait after a 429). Try again in a moment.",
                )
            page = next(client.list_parse_runs(page_size=1))
    except extend_client.RateLimited as exc:
        ratelimit.block_for(ws, ratelimit.GET, max(exc.retry_after, 1.0))
        return _refused(
            exc,
            "Extend answered 429 (rate limited): every read of this organisation now "
            f"waits {exc.retry_after:g} s. Try again after that.",
        )
    except extend_client.DestinationRefused as exc:
        # Our own words (the outbound URL policy's reason): nothing was sent.
        return ConnectionResult(ok=False, summary=f"Nothing was sent: {exc.message}")
    except extend_client.ExtendError as exc:
        return _refused(exc, f"Extend refused the call: {type(exc).__name__}.")
    return ConnectionResult(
        ok=True,
        summary="Extend accepted the credentials and listed parse runs.",
        status=200,
        request_id=_token(page.request_id),
        runs_seen=len(page.runs),
    )


@console_required(OPERATE)
@require_POST
def workspace_test(request: HttpRequest, pk: int) -> HttpResponse:
    ws = get_workspace(pk)
    result = check_connection(ws)
    audit.record(
        "workspace.connection_tested",
        obj=ws,
        actor=request.user,
        source=Source.WEB,
        detail={"ok": result.ok, "status": result.status, "code": result.code},
    )
    context = _detail_context(request, ws)
    context["connection"] = result
    return render_console(request, "console/workspace_detail.html", context, section="workspaces")


@console_required(OPERATE)
@require_http_methods(["GET", "POST"])
def workspace_pause(request: HttpRequest, pk: int) -> HttpResponse:
    ws = get_workspace(pk)
    form = ReasonForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            changed = workspace_health.pause_workspace(
                ws, actor=_user(request), source=Source.WEB, reason=form.cleaned_data["reason"]
            )
            if changed:
                messages.success(request, f"Workspace {ws.name} is paused.")
            else:
                messages.error(request, f"Workspace {ws.name} was already paused.")
        except DomainError as exc:
            messages.error(request, str(exc))
        return redirect("console:workspace_detail", pk=ws.pk)
    pending = open_pending_items(ws.pk).count()
    return render_console(
        request,
        "console/workspace_confirm.html",
        {
            "ws": ws,
            "form": form,
            "verb": "Pause",
            "consequence": (
                f"The engine stops sending requests to Extend for {ws.name}. Its {pending:,} "
                "pending items wait (none is marked failed) until someone resumes the workspace."
            ),
        },
        section="workspaces",
    )


@console_required(OPERATE)
@require_http_methods(["GET", "POST"])
def workspace_resume(request: HttpRequest, pk: int) -> HttpResponse:
    ws = get_workspace(pk)
    if request.method == "POST":
        try:
            workspace_health.resume_workspace(ws, actor=_user(request), source=Source.WEB)
            messages.success(request, f"Workspace {ws.name} is active again; work resumes.")
        except DomainError as exc:
            messages.error(request, str(exc))
        return redirect("console:workspace_detail", pk=ws.pk)
    pending = open_pending_items(ws.pk).count()
    return render_console(
        request,
        "console/workspace_confirm.html",
        {
            "ws": ws,
            "form": None,
            "verb": "Resume",
            "advice": HEALTH_ADVICE.get(ws.health, ""),  # type: ignore[call-overload]
            "consequence": (
                f"The engine starts sending requests to Extend for {ws.name} again, with the "
                f"stored key {ws.masked_api_key}: its {pending:,} pending items continue."
            ),
        },
        section="workspaces",
    )


@console_required(OPERATE)
@require_POST
def workspace_sync(request: HttpRequest, pk: int) -> HttpResponse:
    ws = get_workspace(pk)
    try:
        started = sync.start_sync(ws)
        if started is False:
            messages.error(request, f"A sync of {ws.name} is already running.")
        else:
            audit.record("workspace.sync_requested", obj=ws, actor=request.user, source=Source.WEB)
            messages.success(request, f"A sync of {ws.name}'s parse runs is starting.")
    except DomainError as exc:
        messages.error(request, str(exc))
    return redirect("console:workspace_detail", pk=ws.pk)
