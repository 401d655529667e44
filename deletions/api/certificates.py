"""The certificate of erasure over the API: the signed JSON or the PDF of a finished request."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    extend_schema,
    extend_schema_view,
)
from rest_framework import status
from rest_framework.request import Request

from deletions.api import serializers as s
from deletions.api.auth import (
    IsCustomerOrStaff,
)
from deletions.api.base import OBJECT_ERRORS, ApiView, _errors, _query, load_request
from deletions.api.errors import ApiError
from deletions.core.errors import DomainError
from deletions.gdpr import certificate_render, certificates
from deletions.models import Source
from deletions.requests import reads

# --- Parse runs ---


class CertificateView(ApiView):
    """The certificate of erasure of a finished request, as signed JSON or as PDF: the latest
    version (issued now if the outcome changed since the last one), or ``?version=N``."""

    permission_classes = [IsCustomerOrStaff]
    as_pdf = False

    def get(self, request: Request, pk: int) -> HttpResponse:
        req = load_request(request, pk)
        params = _query(request, s.CertificateQuerySerializer)
        if "version" in params:
            cert = certificates.get_version(req, params["version"])
            if cert is None:
                raise ApiError(
                    f"Request #{req.pk} has no certificate version {params['version']}.",
                    status_code=status.HTTP_404_NOT_FOUND,
                    code="not_found",
                )
        else:
            try:
                cert = certificates.current(req, actor=request.user, source=Source.API)
            except DomainError as exc:
                raise ApiError(
                    str(exc), status_code=status.HTTP_409_CONFLICT, code="not_finished"
                ) from exc
        if self.as_pdf:
            response = HttpResponse(
                certificate_render.render_pdf(cert), content_type="application/pdf"
            )
            extension = "pdf"
        else:
            response = HttpResponse(
                certificates.signed_json(cert), content_type="application/json; charset=utf-8"
            )
            extension = "json"
        name = certificates.file_name(cert, extension)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        reads.certificate_viewed(
            cert, req=req, actor=request.user, source=Source.API, fmt=extension
        )
        return response


CERTIFICATE_DESCRIPTION = (
    "A request's certificate has versions: a new one is issued when the request's outcome "
    "changes after a certificate was issued (failed runs retried, a legal hold lifted, a "
    "deletion verified later). Without `version`, the latest; with it, that version, which "
    "then says (outside what its signature covers) which version superseded it. "
    "A request with runs still unconfirmed is not certified. Certificates are signed with "
    "Ed25519 (`signature`: algorithm, key id, value); the public keys are at "
    "`/.well-known/erasure-certificate-keys.json`. The PDF carries the signed JSON as an "
    "attached file. Certificates issued before signatures carry an `integrity` HMAC instead."
)


@extend_schema_view(
    get=extend_schema(
        operation_id="get_certificate",
        summary="The certificate of erasure (signed JSON) of a finished request",
        description=CERTIFICATE_DESCRIPTION,
        parameters=[s.CertificateQuerySerializer],
        responses={(200, "application/json"): OpenApiTypes.OBJECT, **_errors(*OBJECT_ERRORS, 409)},
    )
)
class CertificateJson(CertificateView):
    as_pdf = False


@extend_schema_view(
    get=extend_schema(
        operation_id="get_certificate_pdf",
        summary="The certificate of erasure of a finished request, as PDF",
        description=CERTIFICATE_DESCRIPTION,
        parameters=[s.CertificateQuerySerializer],
        responses={(200, "application/pdf"): OpenApiTypes.BINARY, **_errors(*OBJECT_ERRORS, 409)},
    )
)
class CertificatePdf(CertificateView):
    as_pdf = True
