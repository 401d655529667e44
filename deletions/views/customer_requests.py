"""The customer's deletion requests: list, detail with live progress, items, uploaded files,
cancel, receipt."""

from __future__ import annotations

from typing import Any, TypeVar

from django.contrib import messages
from django.db.models import Model, QuerySet
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from deletions.core.errors import DomainError
from deletions.forms.cancellation import cancel_form_for
from deletions.gdpr import deadlines as gdpr
from deletions.gdpr import subject_notices
from deletions.models import Approval, DeletionItem, DeletionRequest, FileErasure, Source
from deletions.reporting.progress import FINISHED_STATUSES, Progress, cooling_off, progress_for
from deletions.requests import file_results, holds, reads, receipts, results, transitions
from deletions.views.customer import (
    CustomerRequest,
    KeysetPage,
    customer_required,
    get_request_for_user,
    keyset_page,
    visible_requests,
)

M = TypeVar("M", bound=Model)
RS = DeletionRequest.Status
IS = DeletionItem.Status
FS = FileErasure.Status
PAGE_SIZE = 50
# Files shown on the request's page; the files page lists them all.
FILES_ON_DETAIL = 10
# While a request is in one of these, its progress bar polls for news: often while work goes
# on, now and then while it waits for a decision (so an open page notices the approval).
LIVE_STATUSES = frozenset({RS.APPROVED, RS.RUNNING, RS.PAUSED})
WAITING_STATUSES = frozenset({RS.PENDING_APPROVAL, RS.AWAITING_VERIFICATION})
LIVE_POLL_SECONDS = 2
WAITING_POLL_SECONDS = 10


def _page_by_status(
    request: CustomerRequest,
    rows: QuerySet[M],
    statuses: list[str],
    *,
    field: str = "id",
    descending: bool = False,
) -> tuple[KeysetPage[M], str]:
    """One keyset page of *rows* with the status the page asks for (``?status=``, if it is one
    of *statuses*), and that status ("" for all)."""
    status = request.GET.get("status", "")
    if status in statuses:
        rows = rows.filter(status=status)
    else:
        status = ""
    page = keyset_page(
        rows,
        field=field,
        descending=descending,
        after=request.GET.get("after", ""),
        before=request.GET.get("before", ""),
        size=PAGE_SIZE,
    )
    return page, status


@require_GET
@customer_required
def request_list(request: CustomerRequest) -> HttpResponse:
    """Members see their own requests; customer admins see all of the customer's."""
    requests = visible_requests(request).select_related("requested_by")
    page, status = _page_by_status(
        request, requests, RS.values, field="submitted_at", descending=True
    )
    ctx: dict[str, Any] = {
        "page": page,
        "status": status,
        "statuses": RS.choices,
        "is_admin": request.membership.is_customer_admin,
        "nav": "requests",
        # The public erasure form of this customer: people whose documents it processed ask
        # there themselves, and the customer links it from its privacy notice.
        "public_form_url": request.build_absolute_uri(
            reverse("public:form", args=[request.membership.customer.slug])
        ),
    }
    return render(request, "customer/requests.html", ctx)


def progress_of(req: DeletionRequest) -> Progress:
    """Where the request stands (see deletions.reporting.progress)."""
    return progress_for(req)


def _detail_context(request: CustomerRequest, req: DeletionRequest) -> dict[str, Any]:
    """Everything the live parts of the page show (progress, heading, banner, approvals,
    actions): the page renders them once and the poll re-renders them all."""
    approvals = list(req.approvals.select_related("approver"))
    progress = progress_of(req)
    return {
        "req": req,
        "progress": progress,
        "files_text": file_results.files_text(req, progress.files),
        "live": req.status in LIVE_STATUSES | WAITING_STATUSES,
        "poll_seconds": LIVE_POLL_SECONDS if req.status in LIVE_STATUSES else WAITING_POLL_SECONDS,
        "finished": req.status in FINISHED_STATUSES,
        "can_cancel": transitions.can("cancel", req),
        "cooling_off": cooling_off(req),
        "customer_notice": holds.CUSTOMER_NOTICE,
        "approvals": approvals,
        "approvals_given": sum(1 for a in approvals if a.decision == Approval.Decision.APPROVE),
    }


@require_GET
@customer_required
def request_detail(request: CustomerRequest, pk: int) -> HttpResponse:
    req = get_request_for_user(request, pk)
    ctx = _detail_context(request, req)
    ctx.update({"days_left": gdpr.days_left(req), "nav": "requests"})
    if req.erase_files:
        first = list(FileErasure.objects.filter(request=req).order_by("id")[: FILES_ON_DETAIL + 1])
        ctx["file_rows"] = file_rows(first[:FILES_ON_DETAIL])
        ctx["more_files"] = len(first) > FILES_ON_DETAIL
    return render(request, "customer/request_detail.html", ctx)


@require_GET
@customer_required
def request_progress(request: CustomerRequest, pk: int) -> HttpResponse:
    """The live parts of the detail page, polled (htmx) while the request is live: the progress
    block, with the heading's status, the banner, the approvals and the cancel button swapped
    in out of band."""
    req = get_request_for_user(request, pk)
    return render(request, "customer/_progress.html", _detail_context(request, req))


def plain_error(item: DeletionItem | FileErasure) -> str:
    """The item's (or file's) last error in words a customer understands."""
    code = item.last_http_status
    if item.status != IS.FAILED and not item.last_error:
        return ""
    if code in (400, 422):
        meaning = "Extend refused the deletion as invalid"
    elif code in (401, 403):
        meaning = "Extend refused the operator's credentials"
    elif code == 402:
        meaning = "The operator's Extend account needs payment"
    elif code == 429:
        meaning = "Extend asked us to slow down"
    elif code is not None and code >= 500:
        meaning = "Extend had a temporary server error and retries ran out"
    elif code is None and item.last_error:
        meaning = "Extend could not be reached (timeout or connection error)"
    else:
        meaning = f"Extend answered {code}"
    detail = item.last_error.strip().splitlines()[0][:200] if item.last_error.strip() else ""
    return f"{meaning}: {detail}" if detail else f"{meaning}."


@require_GET
@customer_required
def request_items(request: CustomerRequest, pk: int) -> HttpResponse:
    """Per-item outcomes, filtered by item state, one keyset page at a time."""
    req = get_request_for_user(request, pk)
    items = DeletionItem.objects.filter(request=req).select_related("parse_run")
    page, status = _page_by_status(request, items, IS.values)
    rows = [(item, results.outcome_label(item), plain_error(item)) for item in page.rows]
    ctx: dict[str, Any] = {
        "req": req,
        "page": page,
        "rows": rows,
        "status": status,
        # Held items are shown neutrally: never the hold's reason or reference.
        "statuses": [
            (v, holds.CUSTOMER_NOTICE if v == IS.HELD else label) for v, label in IS.choices
        ],
        "customer_notice": holds.CUSTOMER_NOTICE,
        "nav": "requests",
    }
    return render(request, "customer/request_items.html", ctx)


def file_rows(erasures: list[FileErasure]) -> list[tuple[FileErasure, str, str, str]]:
    """Each file with its result, why it was kept and its last error, in the customer's
    words."""
    return [(f, file_results.label(f), file_results.kept_why(f), plain_error(f)) for f in erasures]


@require_GET
@customer_required
def request_files(request: CustomerRequest, pk: int) -> HttpResponse:
    """The uploaded files the request erases, filtered by state, one keyset page at a time; a
    request that does not erase files says so."""
    req = get_request_for_user(request, pk)
    page, status = _page_by_status(request, FileErasure.objects.filter(request=req), FS.values)
    tally = file_results.tally(req)
    ctx: dict[str, Any] = {
        "req": req,
        "page": page,
        "rows": file_rows(page.rows),
        "tally": tally,
        "files_text": file_results.files_text(req, tally),
        "status": status,
        "statuses": FS.choices,
        "nav": "requests",
    }
    return render(request, "customer/request_files.html", ctx)


@require_http_methods(["GET", "POST"])
@customer_required
def request_cancel(request: CustomerRequest, pk: int) -> HttpResponse:
    """GET shows what cancelling means; POST cancels (only before the request runs)."""
    req = get_request_for_user(request, pk)
    is_gdpr = req.kind == DeletionRequest.Kind.GDPR
    form = cancel_form_for(is_gdpr, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            transitions.cancel_request(
                req, actor=request.user, source=Source.WEB, reason=form.cleaned_data["reason"]
            )
        except DomainError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request,
                f"Request #{req.pk} was cancelled. Its {req.item_count:,} parse runs were not "
                "deleted and can be selected again.",
            )
        return redirect("customer:request", pk=req.pk)
    ctx = {
        "req": req,
        "form": form,
        "can_cancel": transitions.can("cancel", req),
        "subject_told": is_gdpr and subject_notices.can_notify(req),
        "nav": "requests",
    }
    return render(request, "customer/request_cancel.html", ctx)


def _finished_request(request: CustomerRequest, pk: int) -> DeletionRequest:
    req = get_request_for_user(request, pk)
    if req.status not in FINISHED_STATUSES:
        raise Http404("The receipt is available once the request has finished.")
    return req


@require_GET
@customer_required
def receipt_csv(request: CustomerRequest, pk: int) -> StreamingHttpResponse:
    """The receipt as CSV, streamed so that 100,000 items need no more memory than 10."""
    req = _finished_request(request, pk)
    reads.receipt_viewed(req, actor=request.user, source=Source.WEB, fmt="csv")
    response = StreamingHttpResponse(receipts.csv_rows(req), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="deletion-receipt-{req.pk}.csv"'
    return response


@require_GET
@customer_required
def receipt_html(request: CustomerRequest, pk: int) -> HttpResponse:
    """A printable receipt."""
    req = _finished_request(request, pk)
    reads.receipt_viewed(req, actor=request.user, source=Source.WEB, fmt="html")
    summary = receipts.summary(req)
    ctx = {
        "req": req,
        "summary": summary,
        "items": receipts.items(req),
        "legend": receipts.legend(summary),
        "files": receipts.files(req),
        "file_legend": receipts.file_legend(summary),
        "nav": "requests",
    }
    return render(request, "customer/receipt.html", ctx)
