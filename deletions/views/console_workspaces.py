"""Console: Extend workspaces, their credentials, connection test, health and inventory sync."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import User
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_http_methods, require_POST

from deletions.core.errors import DomainError
from deletions.engine.due import open_pending_items
from deletions.forms.console import ReasonForm, SecretsForm, WorkspaceForm
from deletions.inventory import sync
from deletions.models import Source, Workspace
from deletions.views.console_auth import (
    ADMINISTER,
    OPERATE,
    console_required,
    missing_reason,
    render_console,
)
from deletions.workspaces import changes as workspaces
from deletions.workspaces import connection_check
from deletions.workspaces import health as workspace_health

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


@console_required(ADMINISTER)
@require_http_methods(["GET", "POST"])
def workspace_create(request: HttpRequest) -> HttpResponse:
    form = WorkspaceForm(request.POST if request.method == "POST" else None)
    secrets = SecretsForm(request.POST if request.method == "POST" else None)
    # The secrets may also be entered later; when given, they must look like secrets.
    given = bool(request.POST.get("api_key") or request.POST.get("webhook_secret"))
    secrets_ok = not given or secrets.is_valid()
    if request.method == "POST" and form.is_valid() and secrets_ok:
        try:
            ws = workspaces.create_workspace(
                form.values(),
                api_key=secrets.cleaned_data.get("api_key", "") if given else "",
                webhook_secret=secrets.cleaned_data.get("webhook_secret", "") if given else "",
                actor=request.user,
                source=Source.WEB,
            )
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
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
    form = WorkspaceForm(request.POST if request.method == "POST" else None, instance=ws)
    if request.method == "POST" and form.is_valid():
        try:
            changed = workspaces.update_workspace(
                ws,
                form.values(),
                api_key=form.cleaned_data.get("api_key") or "",
                actor=request.user,
                source=Source.WEB,
            )
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                f"Workspace {ws.name} is saved." if changed else "Nothing was changed.",
            )
            return redirect("console:workspace_detail", pk=pk)
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
    rotated: list[str] = []
    if form.is_valid():
        try:
            rotated = workspaces.rotate_secrets(
                ws,
                api_key=form.cleaned_data.get("api_key") or "",
                webhook_secret=form.cleaned_data.get("webhook_secret") or "",
                actor=request.user,
                source=Source.WEB,
            )
        except DomainError as exc:
            form.add_error(None, str(exc))
    if not rotated:
        context = _detail_context(request, ws)
        context["secrets_form"] = form
        return render_console(
            request, "console/workspace_detail.html", context, section="workspaces", status=400
        )
    names = " and ".join(workspaces.SECRET_NAMES[name] for name in rotated)
    note = ""
    if ws.health != Workspace.Health.ACTIVE:
        note = " Test the connection, then resume the workspace."
    messages.success(request, f"The new {names} of {ws.name} is stored.{note}")
    return redirect("console:workspace_detail", pk=ws.pk)


@console_required(OPERATE)
@require_POST
def workspace_test(request: HttpRequest, pk: int) -> HttpResponse:
    ws = get_workspace(pk)
    result = connection_check.check_and_record(ws, actor=request.user, source=Source.WEB)
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
        if sync.request_sync(ws, actor=request.user, source=Source.WEB):
            messages.success(request, f"A sync of {ws.name}'s parse runs is starting.")
        else:
            messages.error(request, f"A sync of {ws.name} is already running.")
    except DomainError as exc:
        messages.error(request, str(exc))
    return redirect("console:workspace_detail", pk=ws.pk)
