"""The 403, 404 and 500 pages, rendered in the portal's layout (portal/urls.py's handlers)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "403.html", status=403)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    # No context processors: they may touch the database, which may be what failed.
    html = render_to_string("500.html", {"site_name": settings.SITE_NAME})
    return HttpResponse(html, status=500)
