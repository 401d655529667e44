"""Certificates of erasure: downloads for the customer and for staff, and the public verify page.

A download is of the request's current certificate: issued (or re-issued as a new version, if
the outcome changed) on download if the finish hook's task has not done it yet. ``?version=N``
downloads an earlier version, which says which version superseded it. A request that never
finished has none (404; the buttons are only shown once the request has finished).
"""

from __future__ import annotations

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods

from deletions import certificates
from deletions.errors import DomainError
from deletions.models import Certificate, DeletionRequest, Source
from deletions.views.console_auth import console_required
from deletions.views.console_requests import get_request
from deletions.views.customer import CustomerRequest, customer_required, get_request_for_user

MAX_UPLOAD_BYTES = 50 * 1024 * 1024


def _certificate(request: HttpRequest, req: DeletionRequest) -> Certificate:
    """The version asked for with ``?version=N``, else the current one; 404 if there is none."""
    asked = request.GET.get("version", "")
    if asked:
        if not asked.isdigit() or len(asked) > 9:
            raise Http404("No such certificate version.")
        cert = certificates.get_version(req, int(asked))
        if cert is None:
            raise Http404("No such certificate version.")
        return cert
    try:
        return certificates.current(req, actor=request.user, source=Source.WEB)
    except DomainError as exc:
        raise Http404(str(exc)) from exc


def _json_response(cert: Certificate) -> HttpResponse:
    response = HttpResponse(
        certificates.signed_json(cert), content_type="application/json; charset=utf-8"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="{certificates.file_name(cert, "json")}"'
    )
    return response


def _pdf_response(cert: Certificate) -> HttpResponse:
    response = HttpResponse(certificates.render_pdf(cert), content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="{certificates.file_name(cert, "pdf")}"'
    )
    return response


@require_GET
@customer_required
def customer_json(request: CustomerRequest, pk: int) -> HttpResponse:
    return _json_response(_certificate(request, get_request_for_user(request, pk)))


@require_GET
@customer_required
def customer_pdf(request: CustomerRequest, pk: int) -> HttpResponse:
    return _pdf_response(_certificate(request, get_request_for_user(request, pk)))


@console_required()
@require_GET
def console_json(request: HttpRequest, pk: int) -> HttpResponse:
    return _json_response(_certificate(request, get_request(pk)))


@console_required()
@require_GET
def console_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    return _pdf_response(_certificate(request, get_request(pk)))


class VerifyForm(forms.Form):
    document = forms.CharField(
        label="Paste the certificate (JSON)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false"}),
        help_text="For a large certificate (thousands of runs), upload the file instead.",
    )
    file = forms.FileField(label="Or upload the JSON file", required=False)

    def clean(self) -> dict[str, object] | None:
        data = super().clean() or {}
        if not data.get("document") and not data.get("file"):
            raise forms.ValidationError("Paste the certificate or choose its file.")
        upload = data.get("file")
        if upload is not None and getattr(upload, "size", 0) > MAX_UPLOAD_BYTES:
            raise forms.ValidationError("The file is too large to be a certificate.")
        return data


@require_http_methods(["GET", "POST"])
def verify_page(request: HttpRequest) -> HttpResponse:
    """Anyone holding a certificate may check it: valid or not, which version of which request,
    and whether a later version superseded it."""
    form = VerifyForm(request.POST, request.FILES) if request.method == "POST" else VerifyForm()
    result = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data.get("file")
        content: str | bytes = upload.read() if upload else form.cleaned_data["document"]
        result = certificates.verify(content)
    return render(
        request,
        "certificates/verify.html",
        {"form": form, "result": result},
        status=200,
    )
