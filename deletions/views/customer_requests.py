"""The customer's deletion requests: list, detail with live progress, items, cancel, receipt."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from deletions.core.errors import DomainError
from deletions.forms.cancellation import cancel_form_for
from deletions.gdpr import deadlines as gdpr
from deletions.gdpr import subject_notices
from deletions.models import Approval, DeletionItem, DeletionRequest, Source
from deletions.reporting.progress import FINISHED_STATUSES, Progress, cooling_off, progress_for
from deletions.requests import holds, reads, receipts, results, transitions
from deletions.views.customer import (
    CustomerRequest,
    customer_required,
    get_request_for_user,
    keyset_page,
    visible_requests,
)

RS = DeletionRequest.Status
IS = DeletionItem.Status
PAGE_SIZE = 50
# While a request is in one of these, its progress bar polls for news: often while work goes
# on, now and then while it waits for a decision (so an open page notices the approval).
LIVE_STATUSES = frozenset({RS.APPROVED, RS.RUNNING, RS.PAUSED})
WAITING_STATUSES = frozenset({RS.PENDING_APPROVAL, RS.AWAITING_VERIFICATION})
LIVE_POLL_SECONDS = 2
WAITING_POLL_SECONDS = 10


@require_GET
@customer_required
def request_list(request: CustomerRequest) -> HttpResponse:
    """Members see their own requests; customer admins see all of the customer's."""
    status = request.GET.get("status", "")
    requests = visible_requests(request).select_related("requested_by")
    if status in RS.values:
        requests = requests.filter(status=status)
    page = keyset_page(
        requests,
        field="submitted_at",
        descending=True,
        after=request.GET.get("after", ""),
        before=request.GET.get("before", ""),
        size=PAGE_SIZE,
    )
    ctx: dict[str, Any] = {
        "page": page,
        "status": status if status in RS.values else "",
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
    return {
        "req": req,
        "progress": progress_of(req),
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
    return render(request, "customer/request_detail.html", ctx)


@require_GET
@customer_required
def request_progress(request: CustomerRequest, pk: int) -> HttpResponse:
    """The live parts of the detail page, polled (htmx) while the request is live: the progress
    block, with the heading's status, the banner, the approvals and the cancel button swapped
    in out of band."""
    req = get_request_for_user(request, pk)
    return render(request, "customer/_progress.html", _detail_context(request, req))


def plain_error(item: DeletionItem) -> str:
    """The item's last error in words a customer understands."""
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
    status = request.GET.get("status", "")
    items = DeletionItem.objects.filter(request=req).select_related("parse_run")
    if status in IS.values:
        items = items.filter(status=status)
    page = keyset_page(
        items,
        field="id",
        descending=False,
        after=request.GET.get("after", ""),
        before=request.GET.get("before", ""),
        size=PAGE_SIZE,
    )
    rows = [(item, results.outcome_label(item), plain_error(item)) for item in page.rows]
    ctx: dict[str, Any] = {
        "req": req,
        "page": page,
        "rows": rows,
        "status": status if status in IS.values else "",
        # Held items are shown neutrally: never the hold's reason or reference.
        "statuses": [
            (v, holds.CUSTOMER_NOTICE if v == IS.HELD else label) for v, label in IS.choices
        ],
        "customer_notice": holds.CUSTOMER_NOTICE,
        "nav": "requests",
    }
    return render(request, "customer/request_items.html", ctx)


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
        "nav": "requests",
    }
    return render(request, "customer/receipt.html", ctx)
