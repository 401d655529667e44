"""Console: the register of erasure requests (every GDPR request, filtered by the period it was
received in and by customer) and its CSV and JSON exports, streamed and audited as reads.

Every staff role that sees GDPR requests in the queue may read and export it (``VIEW``).
"""

from __future__ import annotations

from collections.abc import Iterator

from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from deletions.forms.register import RegisterFilterForm
from deletions.gdpr import register
from deletions.models import Source
from deletions.reporting.console_queries import paginate
from deletions.views.console_auth import VIEW, console_required, render_console

PER_PAGE = 100

FORMATS = {
    "csv": ("text/csv; charset=utf-8", register.csv_lines),
    "json": ("application/json", register.json_chunks),
}


@console_required(VIEW)
@require_GET
def register_page(request: HttpRequest) -> HttpResponse:
    form = RegisterFilterForm(request.GET or None)
    valid = form.is_valid() if form.is_bound else True
    filters = form.filters() if form.is_bound and valid else register.Filters()
    page = paginate(register.requests(filters), request.GET, per_page=PER_PAGE)
    today = timezone.localdate()
    rows = []
    for req in page.objects if valid else []:
        row = register.entry(req, today)
        rows.append((req, row, register.OUTCOMES[row["outcome"]]))
    return render_console(
        request,
        "console/gdpr/register.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "valid": valid,
        },
        section="intakes",
    )


def _export(request: HttpRequest, fmt: str) -> HttpResponse | StreamingHttpResponse:
    form = RegisterFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return HttpResponse("Invalid filters.", status=400, content_type="text/plain")
    filters = form.filters() if form.is_bound else register.Filters()
    assert isinstance(request.user, User)
    # Recorded before the rows are read, so the export is in the trail even if it is cut off.
    register.record_export(filters, fmt=fmt, actor=request.user, source=Source.WEB)
    content_type, write = FORMATS[fmt]
    body: Iterator[str] = write(filters)
    response = StreamingHttpResponse(body, content_type=content_type)
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="erasure-register-{stamp}.{fmt}"'
    return response


@console_required(VIEW)
@require_GET
def register_csv(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    return _export(request, "csv")


@console_required(VIEW)
@require_GET
def register_json(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    return _export(request, "json")
