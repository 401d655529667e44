"""Staff console pages for the parse-run inventory: CSV import and assigning unassigned runs.

Both change which customer a run belongs to, so both confirm first (with counts), need the
``administer_portal`` permission, write in one transaction and leave an audit record.
"""

from __future__ import annotations

import re
import secrets
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from deletions.inventory import imports, run_assignment
from deletions.models import Customer, ParseRun, Source, Workspace
from deletions.views.console_auth import ADMINISTER, console_required, render_console

SESSION_KEY = "inventory_import"
# Uploaded files wait this long for their confirmation, then they are swept away.
PREVIEW_MAX_AGE_SECONDS = 3600
PAGE_SIZE = 50
MAX_SELECTED = 500
PREVIEW_ROWS = 20


# -- CSV import ---------------------------------------------------------------------------------


class ImportForm(forms.Form):
    workspace = forms.ModelChoiceField(
        queryset=Workspace.objects.all(),
        help_text="The Extend workspace these parse runs live in.",
    )
    file = forms.FileField(
        label="CSV file",
        help_text=(
            "UTF-8, with a header row: run_id, customer_ref and optionally file_name "
            f"(at most {imports.MAX_ROWS:,} rows)."
        ),
    )


def _import_dir() -> Path:
    path = Path(settings.VAR_DIR) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _sweep_old_previews(directory: Path) -> None:
    cutoff = time.time() - PREVIEW_MAX_AGE_SECONDS
    for old in directory.glob("*.csv"):
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
        except OSError:
            continue


def _stored_upload(request: HttpRequest) -> tuple[dict[str, Any], bytes] | None:
    """The file kept for the preview this session is confirming, if it is still valid."""
    stored = request.session.get(SESSION_KEY)
    token = request.POST.get("token", "")
    if not isinstance(stored, dict) or not token or stored.get("token") != token:
        return None
    if not re.fullmatch(r"[A-Za-z0-9_\-]{20,64}", token):
        return None
    path = _import_dir() / f"{token}.csv"
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if imports.digest(data) != stored.get("sha256"):
        return None
    return stored, data


def _forget_upload(request: HttpRequest, token: str) -> None:
    request.session.pop(SESSION_KEY, None)
    (_import_dir() / f"{token}.csv").unlink(missing_ok=True)


@console_required(ADMINISTER)
@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    """Upload a CSV file and see what it would import (nothing is written yet)."""
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method != "POST" or not form.is_valid():
        status = 400 if request.method == "POST" else 200
        return render_console(
            request,
            "console/inventory/import.html",
            {"form": form, "max_rows": imports.MAX_ROWS},
            section="workspaces",
            status=status,
        )
    workspace: Workspace = form.cleaned_data["workspace"]
    upload = form.cleaned_data["file"]
    data = upload.read(imports.MAX_FILE_BYTES + 1)
    preview = imports.parse(data, workspace)
    context: dict[str, Any] = {
        "form": ImportForm(initial={"workspace": workspace}),
        "preview": preview,
        "file_name": upload.name,
        "sample": preview.rows[:PREVIEW_ROWS],
    }
    if not preview.ok:
        return render_console(request, "console/inventory/import_preview.html", context, status=400)
    directory = _import_dir()
    _sweep_old_previews(directory)
    token = secrets.token_urlsafe(24)
    (directory / f"{token}.csv").write_bytes(data)
    previous = request.session.get(SESSION_KEY)
    if isinstance(previous, dict) and isinstance(previous.get("token"), str):
        (directory / f"{previous['token']}.csv").unlink(missing_ok=True)
    request.session[SESSION_KEY] = {
        "token": token,
        "sha256": imports.digest(data),
        "workspace": workspace.pk,
        "name": str(upload.name)[:200],
    }
    context["token"] = token
    return render_console(request, "console/inventory/import_preview.html", context)


@console_required(ADMINISTER)
@require_POST
def import_confirm(request: HttpRequest) -> HttpResponse:
    """Import the previewed file: validated again, all rows in one transaction or none."""
    found = _stored_upload(request)
    if found is None:
        messages.error(request, "This preview has expired or was replaced; upload the file again.")
        return render_console(
            request,
            "console/inventory/import.html",
            {"form": ImportForm(), "max_rows": imports.MAX_ROWS},
            section="workspaces",
            status=400,
        )
    stored, data = found
    workspace = Workspace.objects.filter(pk=int(stored.get("workspace") or 0)).first()
    if workspace is None:
        _forget_upload(request, stored["token"])
        messages.error(request, "The workspace no longer exists; nothing was imported.")
        return redirect("console:inventory_import")
    preview = imports.apply_import(data, workspace, actor=request.user, source=Source.WEB)
    if not preview.ok:
        # Something changed since the preview (a customer removed, runs synced meanwhile).
        context = {
            "form": ImportForm(initial={"workspace": workspace}),
            "preview": preview,
            "file_name": stored.get("name", ""),
            "sample": [],
            "changed": True,
        }
        _forget_upload(request, stored["token"])
        return render_console(request, "console/inventory/import_preview.html", context, status=409)
    _forget_upload(request, stored["token"])
    messages.success(
        request,
        f"Imported {len(preview.rows):,} parse runs into {workspace.name}: "
        f"{preview.new_count:,} new, {preview.update_count:,} assigned.",
    )
    return redirect("console:inventory_import")


# -- Unassigned runs ------------------------------------------------------------------------------


class UnassignedFilter(forms.Form):
    workspace = forms.ModelChoiceField(
        queryset=Workspace.objects.all(), required=False, empty_label="All workspaces"
    )
    value = forms.CharField(
        label="Metadata value",
        required=False,
        max_length=255,
        help_text="Runs whose metadata has this value (under the key below).",
    )
    key = forms.CharField(
        label="Metadata key",
        required=False,
        max_length=100,
        help_text="Default: each workspace's customer key.",
    )

    def clean_key(self) -> str:
        key: str = self.cleaned_data["key"].strip()
        if key and (problem := run_assignment.key_problem(key)):
            raise forms.ValidationError(problem)
        return key

    def runs(self) -> QuerySet[ParseRun]:
        """Unassigned present runs matching the filter (all of them if the form is invalid)."""
        if not self.is_valid():
            runs = run_assignment.unassigned_runs()
            return runs.none() if self.is_bound and self.errors else runs
        return run_assignment.unassigned_runs(
            workspace=self.cleaned_data.get("workspace"),
            value=self.cleaned_data.get("value", ""),
            key=self.cleaned_data.get("key", ""),
        )

    def as_params(self) -> dict[str, str]:
        if not self.is_valid():
            return {}
        workspace = self.cleaned_data.get("workspace")
        params = {
            "workspace": str(workspace.pk) if workspace else "",
            "value": self.cleaned_data.get("value", ""),
            "key": self.cleaned_data.get("key", ""),
        }
        return {name: value for name, value in params.items() if value}


class AssignForm(forms.Form):
    customer = forms.ModelChoiceField(
        queryset=Customer.objects.filter(is_active=True),
        empty_label="Choose a customer…",
        help_text="The runs become this customer's: its users will see them and may delete them.",
    )
    scope = forms.ChoiceField(
        choices=[("selected", "The runs I ticked"), ("all", "All runs matching the filter")],
        initial="selected",
        widget=forms.RadioSelect,
    )
    runs = forms.TypedMultipleChoiceField(coerce=int, required=False, choices=[])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Any ids: the update itself keeps only unassigned runs matching the filter.
        raw = self.data.getlist("runs") if hasattr(self.data, "getlist") else []
        field = self.fields["runs"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(value, value) for value in raw]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("scope") == "selected":
            selected = cleaned.get("runs") or []
            if not selected:
                raise forms.ValidationError("Tick at least one run, or choose all matching runs.")
            if len(selected) > MAX_SELECTED:
                raise forms.ValidationError(f"Tick at most {MAX_SELECTED} runs at once.")
        return cleaned


@console_required()
@require_http_methods(["GET"])
def unassigned(request: HttpRequest) -> HttpResponse:
    """Present runs no customer owns yet, newest first, with keyset pagination."""
    filters = UnassignedFilter(request.GET or None)
    matching = filters.runs()
    runs = matching.select_related("workspace").order_by("-id")
    after = request.GET.get("after", "")
    if after.isdigit():
        runs = runs.filter(id__lt=int(after))
    page = list(runs[: PAGE_SIZE + 1])
    has_next = len(page) > PAGE_SIZE
    page = page[:PAGE_SIZE]
    params = filters.as_params()
    return render_console(
        request,
        "console/inventory/unassigned.html",
        {
            "filters": filters,
            "runs": [(run, run_assignment.customer_value(run)) for run in page],
            "total": matching.count(),
            "next_after": page[-1].pk if has_next else None,
            "is_first_page": not after,
            "params": params,
            "query": urlencode(params),
            "assign_form": AssignForm(),
        },
        section="workspaces",
    )


@console_required(ADMINISTER)
@require_POST
def assign(request: HttpRequest) -> HttpResponse:
    """Assign unassigned runs to a customer: a confirmation page first, then the change."""
    filters = UnassignedFilter(request.POST)
    form = AssignForm(request.POST)
    if not filters.is_valid() or not form.is_valid():
        for error in [*form.non_field_errors(), *filters.non_field_errors()]:
            messages.error(request, error)
        for name, errors in form.errors.items():
            if name != "__all__":
                messages.error(
                    request,
                    f"{form.fields[name].label or name}: {' '.join(str(e) for e in errors)}",
                )
        return _back_to_list(filters)
    customer: Customer = form.cleaned_data["customer"]
    scope: str = form.cleaned_data["scope"]
    selected: list[int] = form.cleaned_data.get("runs") or []
    runs = filters.runs()
    if scope == "selected":
        runs = runs.filter(pk__in=selected)
    if request.POST.get("confirm") != "yes":
        return render_console(
            request,
            "console/inventory/assign_confirm.html",
            {
                "customer": customer,
                "scope": scope,
                "count": runs.count(),
                "selected": selected,
                "params": filters.as_params(),
                "workspaces": list(
                    Workspace.objects.filter(
                        pk__in=runs.values("workspace_id").distinct()
                    ).values_list("name", flat=True)
                ),
            },
            section="workspaces",
        )
    count = run_assignment.assign(
        runs,
        customer,
        actor=request.user,
        source=Source.WEB,
        scope=scope,
        filters=filters.as_params(),
    )
    if count:
        messages.success(request, f"Assigned {count:,} parse runs to {customer.name}.")
    else:
        messages.error(
            request, "No run was assigned: they were assigned by someone else meanwhile."
        )
    return _back_to_list(filters)


def _back_to_list(filters: UnassignedFilter) -> HttpResponse:
    query = urlencode(filters.as_params())
    return redirect(reverse("console:inventory_unassigned") + (f"?{query}" if query else ""))
