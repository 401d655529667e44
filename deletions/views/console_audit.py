"""Console: the audit log, filtered, and its CSV export (streamed, and itself audited)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, time
from itertools import chain
from typing import Any

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone

from deletions import audit
from deletions.core import csv_safe
from deletions.forms.console import AuditFilterForm
from deletions.models import AuditEvent, Source
from deletions.reporting.console_queries import paginate
from deletions.views.console_auth import console_required, render_console

CSV_COLUMNS = [
    "id",
    "at",
    "actor",
    "source",
    "action",
    "object_type",
    "object_id",
    "request_id",
    "customer_id",
    "before",
    "after",
    "detail",
    "client_address",
]


def filtered_events(filters: dict[str, Any]) -> QuerySet[AuditEvent]:
    qs = AuditEvent.objects.order_by("-at", "-id")
    if filters.get("action"):
        qs = qs.filter(action__startswith=filters["action"].strip())
    if filters.get("actor"):
        qs = qs.filter(actor_label__iexact=filters["actor"].strip())
    if filters.get("source"):
        qs = qs.filter(source=filters["source"])
    if filters.get("customer"):
        qs = qs.filter(customer_id=filters["customer"].pk)
    if filters.get("request_id"):
        qs = qs.filter(request_id=filters["request_id"])
    tz = timezone.get_current_timezone()
    if filters.get("date_from"):
        qs = qs.filter(at__gte=datetime.combine(filters["date_from"], time.min, tzinfo=tz))
    if filters.get("date_to"):
        qs = qs.filter(at__lte=datetime.combine(filters["date_to"], time.max, tzinfo=tz))
    return qs


@console_required()
def audit_log(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    page = paginate(filtered_events(filters), request.GET, per_page=100)
    return render_console(
        request,
        "console/audit_log.html",
        {"form": form, "page": page, "source_labels": dict(Source.choices)},
        section="audit",
    )


def _rows(events: QuerySet[AuditEvent]) -> Iterator[str]:
    rows = (
        [
            e.pk,
            e.at.isoformat(),
            e.actor_label,
            e.source,
            e.action,
            e.object_type,
            e.object_id,
            e.request_id,
            e.customer_id,
            json.dumps(e.before, sort_keys=True) if e.before is not None else "",
            json.dumps(e.after, sort_keys=True) if e.after is not None else "",
            json.dumps(e.detail, sort_keys=True) if e.detail else "",
            e.client_address,
        ]
        for e in events.iterator(chunk_size=2000)
    )
    return csv_safe.lines(chain([CSV_COLUMNS], rows))


@console_required()
def audit_export(request: HttpRequest) -> StreamingHttpResponse | HttpResponse:
    form = AuditFilterForm(request.GET or None)
    if request.GET and not form.is_valid():
        return HttpResponse("Invalid filters.", status=400, content_type="text/plain")
    filters = form.cleaned_data if request.GET else {}
    assert isinstance(request.user, User)
    # Recorded before the rows are read, so the export is in the trail even if it is cut off.
    audit.record(
        "audit.exported",
        obj=request.user,
        actor=request.user,
        source=Source.WEB,
        detail={
            k: (str(v.pk) if hasattr(v, "pk") else str(v))
            for k, v in filters.items()
            if v not in (None, "")
        },
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(
        _rows(filtered_events(filters)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    return response
