"""Console: Extend organisations, whose rate limits every workspace in them shares."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_http_methods

from deletions.forms.console import OrganizationForm
from deletions.models import Organization, Source
from deletions.views.console_auth import (
    ADMINISTER,
    console_required,
    render_console,
)
from deletions.workspaces import organizations


@console_required()
def organization_list(request: HttpRequest) -> HttpResponse:
    orgs = Organization.objects.prefetch_related("workspaces")
    return render_console(
        request,
        "console/organization_list.html",
        {"organizations": orgs},
        section="workspaces",
    )


@console_required()
def organization_detail(request: HttpRequest, pk: int) -> HttpResponse:
    org = get_object_or_404(Organization, pk=pk)
    return render_console(
        request,
        "console/organization_detail.html",
        {"org": org, "workspaces": list(org.workspaces.all())},
        section="workspaces",
    )


@console_required(ADMINISTER)
@require_http_methods(["GET", "POST"])
def organization_create(request: HttpRequest) -> HttpResponse:
    form = OrganizationForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        org = organizations.create_organization(
            form.cleaned_data, actor=request.user, source=Source.WEB
        )
        messages.success(
            request, f"Organisation {org.name} is created. Choose it in its workspaces' settings."
        )
        return redirect("console:organization_detail", pk=org.pk)
    return render_console(
        request,
        "console/organization_form.html",
        {"form": form, "org": None},
        section="workspaces",
    )


@console_required(ADMINISTER)
@require_http_methods(["GET", "POST"])
def organization_edit(request: HttpRequest, pk: int) -> HttpResponse:
    org = get_object_or_404(Organization, pk=pk)
    form = OrganizationForm(request.POST if request.method == "POST" else None, instance=org)
    if request.method == "POST" and form.is_valid():
        changed = organizations.update_organization(
            org, form.cleaned_data, actor=request.user, source=Source.WEB
        )
        messages.success(
            request, f"Organisation {org.name} is saved." if changed else "Nothing was changed."
        )
        return redirect("console:organization_detail", pk=org.pk)
    return render_console(
        request,
        "console/organization_form.html",
        {"form": form, "org": org},
        section="workspaces",
    )
