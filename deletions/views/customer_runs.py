"""The customer's parse runs, and asking for their deletion (select, review, submit)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods

from deletions.core.errors import SubmissionError
from deletions.forms.customer import CONFIRM_WORD_THRESHOLD, DeletionRequestForm, RunFilterForm
from deletions.inventory.files import files_of
from deletions.models import DeletionRequest, ParseRun, Source
from deletions.notifications import customer_emails as notifications
from deletions.requests.files import erases_files_by_default
from deletions.requests.submission import (
    RunFilter,
    Selection,
    clean_run_ids,
    customer_runs,
    refuse_over_cap,
    submit_request,
)
from deletions.views.customer import CustomerRequest, customer_required, keyset_page

PAGE_SIZE = 50
SAMPLE_SIZE = 10

Scope = DeletionRequest.Scope
DS = RunFilterForm.DeletionState

SORT_FIELDS = {
    "-created": ("extend_created_at", True),
    "created": ("extend_created_at", False),
    "file_name": ("file_name", False),
    "-file_name": ("file_name", True),
}


def listed_runs(request: CustomerRequest, form: RunFilterForm) -> QuerySet[ParseRun]:
    """All of the customer's runs (tombstones too) that the table's filters select."""
    runs = ParseRun.objects.filter(customer_id=request.membership.customer_id)
    runs = form.run_filter().apply(runs)
    state = form.value("state")
    if state == DS.PRESENT:
        runs = runs.filter(state=ParseRun.State.PRESENT, open_request__isnull=True)
    elif state == DS.PENDING:
        runs = runs.filter(state=ParseRun.State.PRESENT, open_request__isnull=False)
    elif state == DS.DELETED:
        runs = runs.exclude(state=ParseRun.State.PRESENT)
    return runs


@require_GET
@customer_required
def runs(request: CustomerRequest) -> HttpResponse:
    """The runs table: search, filters, sort, keyset pages, and checkboxes to select runs."""
    form = RunFilterForm(request.GET)
    form.is_valid()
    field, descending = SORT_FIELDS[form.value("sort") or "-created"]
    page = keyset_page(
        listed_runs(request, form).select_related("open_request"),
        field=field,
        descending=descending,
        after=request.GET.get("after", ""),
        before=request.GET.get("before", ""),
        size=PAGE_SIZE,
    )
    params = form.query_params()
    ctx: dict[str, Any] = {
        "form": form,
        "page": page,
        "filtered": form.is_filtered(),
        "filter_params": params,
        "next_url": _with(params, after=page.next_cursor) if page.next_cursor else "",
        "prev_url": _with(params, before=page.prev_cursor) if page.prev_cursor else "",
        "page_size": PAGE_SIZE,
        "nav": "runs",
        "user_id": request.user.pk,
        "is_admin": request.membership.is_customer_admin,
    }
    return render(request, "customer/runs.html", ctx)


def _with(params: dict[str, str], **extra: str | None) -> str:
    query = {**params, **{k: v for k, v in extra.items() if v}}
    return "?" + urlencode(query) if query else ""


def _selection_from_post(request: CustomerRequest) -> tuple[Selection, RunFilterForm]:
    """What the runs page (or the review page) posted: explicit ids, or 'everything matching'."""
    form = RunFilterForm(request.POST)
    form.is_valid()
    if request.POST.get("match_all") == "1":
        run_filter = form.run_filter()
        scope = Scope.ALL if run_filter == RunFilter() else Scope.FILTER
        return Selection(scope=scope, run_filter=run_filter), form
    return Selection(scope=Scope.EXPLICIT, run_ids=request.POST.getlist("run")), form


@require_http_methods(["GET", "POST"])
@customer_required
def new_request(request: CustomerRequest) -> HttpResponse:
    """Review the selection and submit it. GET has nothing to review: back to the runs."""
    if request.method != "POST":
        return redirect("customer:runs")
    customer = request.membership.customer
    try:
        selection, filter_form = _selection_from_post(request)
        if selection.scope == Scope.EXPLICIT:
            selection.run_ids = clean_run_ids(selection.run_ids)
    except SubmissionError as exc:
        return _refused(request, str(exc), reverse("customer:runs"))
    if selection.scope == Scope.EXPLICIT and not selection.run_ids:
        return _refused(
            request,
            "Select at least one parse run first.",
            reverse("customer:runs") + _with(filter_form.query_params()),
        )

    # What would be deleted now: present runs that are not in another open request.
    free = customer_runs(customer).filter(open_request__isnull=True)
    if selection.scope == Scope.EXPLICIT:
        chosen = free.filter(run_id__in=selection.run_ids)
    else:
        chosen = selection.run_filter.apply(free)
    count = chosen.count()
    left_out = 0
    if selection.scope == Scope.EXPLICIT:
        left_out = len(selection.run_ids) - count
        if left_out:
            # Keep only what can still be deleted; say what was dropped.
            selection.run_ids = list(chosen.values_list("run_id", flat=True))
    try:
        refuse_over_cap(count)
    except SubmissionError as exc:
        return _refused(
            request, str(exc), reverse("customer:runs") + _with(filter_form.query_params())
        )
    if not count:
        return _refused(
            request,
            "None of the selected parse runs can be deleted: they are unknown, already deleted "
            "or in another open request.",
            reverse("customer:runs") + _with(filter_form.query_params()),
        )

    needs_word = selection.scope == Scope.ALL or count > CONFIRM_WORD_THRESHOLD
    submitting = request.POST.get("step") == "submit"
    form = DeletionRequestForm(
        request.POST if submitting else None,
        needs_confirmation=needs_word,
        erase_files=erases_files_by_default(
            DeletionRequest.Kind.STANDARD, selection.scope, customer.erase_files_default
        ),
    )
    if submitting and form.is_valid() and not left_out:
        data = form.cleaned_data
        kind = DeletionRequest.Kind.GDPR if data["is_gdpr"] else DeletionRequest.Kind.STANDARD
        try:
            with transaction.atomic():
                req = submit_request(
                    customer=customer,
                    selection=selection,
                    reason=data["reason"],
                    requested_by=request.user,
                    source=Source.WEB,
                    kind=kind,
                    subject_ref=data["subject_ref"].strip() if data["is_gdpr"] else "",
                    erase_files=data["erase_files"],
                )
                # Submission is not a transition, so its e-mail is sent from here.
                transaction.on_commit(lambda: notifications.request_submitted(req))
        except SubmissionError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                f"Request #{req.pk} to delete {req.item_count:,} parse runs was sent for "
                "approval. We'll e-mail you when it is decided.",
            )
            return redirect("customer:request", pk=req.pk)

    ctx: dict[str, Any] = {
        "form": form,
        "selection": selection,
        "scope_label": Scope(selection.scope).label,
        "count": count,
        "left_out": left_out,
        "sample": list(chosen.order_by("-extend_created_at", "-id")[:SAMPLE_SIZE]),
        "files": FilesPreview.of(chosen),
        "needs_word": needs_word,
        "filter_form": filter_form,
        "filter_params": filter_form.query_params(),
        "match_all": selection.scope != Scope.EXPLICIT,
        "back_url": reverse("customer:runs") + _with(filter_form.query_params()),
        "nav": "runs",
    }
    # A submitted form with errors is a bad request (400), shown with its messages.
    status = 400 if submitting and form.errors else 200
    return render(request, "customer/request_new.html", ctx, status=status)


@dataclass(frozen=True)
class FilesPreview:
    """The uploaded files of the runs a request would take, as far as the inventory knows."""

    # Files the runs use.
    used: int
    # Of those, files that runs outside the selection still use: kept even if files are erased.
    shared: int

    @property
    def would_go(self) -> int:
        return self.used - self.shared

    @classmethod
    def of(cls, runs: QuerySet[ParseRun]) -> FilesPreview:
        """Two grouped queries, whatever the number of runs and files."""
        uses = files_of(runs).values()
        return cls(used=len(uses), shared=sum(1 for use in uses if not use.free))


def _refused(request: CustomerRequest, message: str, back_url: str) -> HttpResponse:
    """Bad input: say what is wrong, create nothing, answer 400."""
    return render(
        request,
        "customer/selection_error.html",
        {"message": message, "back_url": back_url, "nav": "runs"},
        status=400,
    )
