"""Certificates of erasure: downloads for the customer and for staff, and the public verify page.

A download is of the request's current certificate: issued (or re-issued as a new version, if
the outcome changed) on download if the finish hook's task has not done it yet. ``?version=N``
downloads an earlier version, which says which version superseded it. A request that never
finished has none (404; the buttons are only shown once the request has finished).
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from deletions.accounts import throttle
from deletions.core.errors import DomainError
from deletions.core.request_limits import declared_length
from deletions.gdpr import certificate_checks, certificate_pdf, certificate_render, certificates
from deletions.models import Certificate, DeletionRequest, Source
from deletions.requests import reads
from deletions.views.console_auth import console_required
from deletions.views.console_requests import get_request
from deletions.views.customer import CustomerRequest, customer_required, get_request_for_user

# Room for the form's other fields and the multipart envelope around the certificate.
FORM_ALLOWANCE = 64 * 1024


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
    response = HttpResponse(certificate_render.render_pdf(cert), content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="{certificates.file_name(cert, "pdf")}"'
    )
    return response


def _read(request: HttpRequest, req: DeletionRequest, fmt: str) -> Certificate:
    """The certificate asked for, its read recorded in the audit trail."""
    cert = _certificate(request, req)
    reads.certificate_viewed(cert, req=req, actor=request.user, source=Source.WEB, fmt=fmt)
    return cert


@require_GET
@customer_required
def customer_json(request: CustomerRequest, pk: int) -> HttpResponse:
    return _json_response(_read(request, get_request_for_user(request, pk), "json"))


@require_GET
@customer_required
def customer_pdf(request: CustomerRequest, pk: int) -> HttpResponse:
    return _pdf_response(_read(request, get_request_for_user(request, pk), "pdf"))


@console_required()
@require_GET
def console_json(request: HttpRequest, pk: int) -> HttpResponse:
    return _json_response(_read(request, get_request(pk), "json"))


@console_required()
@require_GET
def console_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    return _pdf_response(_read(request, get_request(pk), "pdf"))


class VerifyForm(forms.Form):
    document = forms.CharField(
        label="Paste the certificate (JSON)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false"}),
        help_text="For a large certificate (thousands of runs), upload the file instead.",
    )
    file = forms.FileField(
        label="Or upload the certificate: its PDF or its JSON file",
        required=False,
        help_text="A PDF certificate carries its signed JSON as an attachment; that is what "
        "is checked.",
    )

    def clean(self) -> dict[str, object] | None:
        data = super().clean() or {}
        if not data.get("document") and not data.get("file"):
            raise forms.ValidationError("Paste the certificate or choose its file.")
        return data


def _too_large_message() -> str:
    limit = settings.CERTIFICATE_VERIFY_MAX_BYTES
    return (
        f"The certificate is larger than {filesizeformat(limit)}, the most this page checks. "
        "Ask the organisation that issued it to verify it for you."
    )


def _verify_page(
    request: HttpRequest,
    form: VerifyForm,
    *,
    result: certificate_checks.Verification | None = None,
    problem: str = "",
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "certificates/verify.html",
        {"form": form, "result": result, "problem": problem},
        status=status,
    )


# Django's CSRF check reads the whole body: the size limit comes first, on the headers alone, and
# _verify's csrf_protect checks the token once the body is known to be small.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def verify_page(request: HttpRequest) -> HttpResponse:
    """Anyone holding a certificate (its JSON, pasted or uploaded, or its PDF) may check it:
    valid or not, which version of which request, signed with which key, and whether a later
    version superseded it. A certificate may be at most ``CERTIFICATE_VERIFY_MAX_BYTES``, and
    checks are throttled per client."""
    limit = settings.CERTIFICATE_VERIFY_MAX_BYTES
    if request.method == "POST" and declared_length(request.META) > limit + FORM_ALLOWANCE:
        return _verify_page(request, VerifyForm(), problem=_too_large_message(), status=413)
    return _verify(request)


@csrf_protect
def _verify(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _verify_page(request, VerifyForm())
    if throttle.client_over_limit(
        "certificate-verify", request, settings.CERTIFICATE_VERIFY_LIMIT_PER_IP
    ):
        return throttle.too_many(
            request,
            "certificates/verify.html",
            {
                "form": VerifyForm(),
                "problem": "Too many certificates were checked from your address. Try again "
                f"in {throttle.WINDOW_SECONDS // 60} minutes.",
            },
        )
    form = VerifyForm(request.POST, request.FILES)
    if not form.is_valid():
        return _verify_page(request, form, status=400)
    limit = settings.CERTIFICATE_VERIFY_MAX_BYTES
    upload = form.cleaned_data.get("file")
    pasted: str = form.cleaned_data["document"]
    # The body passed with room for the form around it: the certificate itself may not.
    if (upload is not None and upload.size > limit) or len(pasted.encode()) > limit:
        return _verify_page(request, form, problem=_too_large_message(), status=413)
    try:
        result = (
            certificate_checks.verify_upload(upload.read())
            if upload is not None
            else certificate_checks.verify(pasted)
        )
    except certificate_pdf.TooLarge:
        return _verify_page(request, form, problem=_too_large_message(), status=413)
    return _verify_page(request, form, result=result, status=200 if result.readable else 400)
