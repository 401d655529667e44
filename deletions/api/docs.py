"""The OpenAPI schema (public: it describes, it reveals nothing) and a docs page built from it."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import AllowAny

METHODS = ("get", "post", "put", "patch", "delete")


class SchemaView(SpectacularAPIView):
    renderer_classes = [OpenApiJsonRenderer]
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []


def _resolve(schema: dict[str, Any], ref: str) -> dict[str, Any]:
    node: Any = schema
    for part in ref.lstrip("#/").split("/"):
        node = node[part]
    return dict(node)


def _fields(schema: dict[str, Any], body: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not body:
        return []
    media = body.get("content", {}).get("application/json", {}).get("schema", {})
    if "$ref" in media:
        media = _resolve(schema, media["$ref"])
    required = set(media.get("required", []))
    fields = []
    for name, spec in media.get("properties", {}).items():
        if "$ref" in spec:
            spec = _resolve(schema, spec["$ref"])
        kind = spec.get("type") or ("one of: " + ", ".join(map(str, spec.get("enum", []))))
        fields.append(
            {
                "name": name,
                "type": kind,
                "required": name in required,
                "description": spec.get("description", ""),
            }
        )
    return fields


@require_GET
def docs(request: HttpRequest) -> HttpResponse:
    """Every endpoint of the schema with its parameters, body fields and answers."""
    generator = SchemaGenerator()  # type: ignore[no-untyped-call]
    schema = generator.get_schema(request=None, public=True)  # type: ignore[no-untyped-call]
    endpoints = []
    for url, item in schema["paths"].items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            endpoints.append(
                {
                    "method": method.upper(),
                    "path": url,
                    "anchor": op["operationId"],
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "parameters": op.get("parameters", []),
                    "body": _fields(schema, op.get("requestBody")),
                    "responses": sorted(op.get("responses", {}).items()),
                }
            )
    ctx = {"info": schema["info"], "endpoints": endpoints}
    return render(request, "api/docs.html", ctx)
