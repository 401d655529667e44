"""Console: the request queue, bulk decisions, a request's detail and the actions on it.

Every state change goes through :mod:`deletions.requests.transitions`; these views only confirm
first, call the transition and report what happened or the domain's refusal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from deletions.core.errors import DomainError
from deletions.forms.cancellation import CancelForm, GdprCancelForm
from deletions.forms.console import (
    ApproveForm,
    BulkForm,
    GdprRejectForm,
    QueueFilterForm,
    ReasonForm,
    RejectForm,
)
from deletions.gdpr import certificates, recipients, subject_notices
from deletions.gdpr import deadlines as gdpr_deadlines
from deletions.models import Approval, DeletionItem, DeletionRequest, FileErasure, Source
from deletions.reporting import console_queries
from deletions.reporting import holds as hold_reports
from deletions.reporting.progress import Progress, cooling_off, progress_for
from deletions.reporting.progress import moment as progress_moment
from deletions.requests import bulk_decisions, file_results, results, transitions
from deletions.requests.grounds import GROUND_REQUIRED, RefusalGround
from deletions.views.console_auth import (
    APPROVE,
    OPERATE,
    console_required,
    missing_reason,
    render_console,
)

IS = DeletionItem.Status
FS = FileErasure.Status


@dataclass(frozen=True)
class Action:
    name: str  # also the transition's name in transitions.can()
    label: str
    perm: str
    danger: bool = False


ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action("approve", "Approve", APPROVE),
        Action("reject", "Reject", APPROVE, danger=True),
        Action("cancel", "Cancel request", APPROVE, danger=True),
        Action("pause", "Pause", OPERATE),
        Action("resume", "Resume", OPERATE),
        Action("retry", "Retry failed items", OPERATE),
    )
}


def get_request(pk: int) -> DeletionRequest:
    """Load a request for the console (staff see every customer's requests)."""
    return get_object_or_404(
        DeletionRequest.objects.select_related("customer", "requested_by__service_account"),
        pk=pk,
    )


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


# --- Queue ---------------------------------------------------------------------------------


@console_required()
def queue(request: HttpRequest) -> HttpResponse:
    form = QueueFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    page = console_queries.paginate(console_queries.queue(filters), request.GET, per_page=50)
    today = timezone.localdate()
    for req in page.objects:
        req.days_left = console_queries.days_left(req, today)  # type: ignore[attr-defined]
    return render_console(
        request,
        "console/queue.html",
        {
            "form": form,
            "page": page,
            "awaiting_default": not filters.get("status"),
            "can_decide": request.user.has_perm(APPROVE),
            "decide_reason": missing_reason(request, APPROVE),
        },
        section="queue",
    )


@console_required(APPROVE)
@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    """Approve or reject several requests: first a confirmation page, then each one in turn."""
    form = BulkForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect("console:queue")
    action = form.cleaned_data["action"]
    user = _user(request)
    reqs = bulk_decisions.load(form.cleaned_data["ids"])
    reason = (form.cleaned_data.get("reason") or "").strip()
    ground = form.cleaned_data.get("ground") or ""
    confirmed = request.POST.get("confirmed") == "yes"
    reason_missing = action == "reject" and confirmed and not reason
    # GDPR erasure requests are refused on a ground (deletions.requests.grounds); standard ones
    # need none.
    needs_ground = action == "reject" and any(r.kind == DeletionRequest.Kind.GDPR for r in reqs)
    ground_missing = needs_ground and confirmed and not ground
    if not confirmed or reason_missing or ground_missing:
        rows = [
            (o.request, o.ok, o.message)
            for o in (bulk_decisions.preview(req, user, action) for req in reqs)
        ]
        return render_console(
            request,
            "console/bulk_confirm.html",
            {
                "action": action,
                "rows": rows,
                "possible": sum(ok for _, ok, _ in rows),
                "reason": reason,
                "reason_missing": reason_missing,
                "needs_ground": needs_ground,
                "ground": ground,
                "ground_missing": ground_missing,
                "grounds": RefusalGround.choices,
                "ground_required": GROUND_REQUIRED,
            },
            section="queue",
        )
    results = [
        (o.request, o.ok, o.message)
        for o in bulk_decisions.decide(
            reqs, action, actor=user, source=Source.WEB, reason=reason, ground=ground
        )
    ]
    return render_console(
        request,
        "console/bulk_done.html",
        {
            "action": action,
            "results": results,
            "succeeded": sum(ok for _, ok, _ in results),
        },
        section="queue",
    )


# --- Detail --------------------------------------------------------------------------------


def progress(req: DeletionRequest) -> Progress:
    """Where the request stands (see deletions.reporting.progress)."""
    return progress_for(req)


def _approval_state(req: DeletionRequest, user: User) -> dict[str, Any]:
    approvals = list(req.approvals.select_related("approver__service_account"))
    given = sum(a.decision == Approval.Decision.APPROVE for a in approvals)
    return {
        "approvals": approvals,
        "approvals_given": given,
        "approvals_missing": max(req.required_approvals - given, 0),
        "you_approved": transitions.decided_by_same_person(approvals, user),
        "you_requested": transitions.requested_by_same_person(req, user),
    }


def _buttons(request: HttpRequest, req: DeletionRequest, state: dict[str, Any]) -> list[Any]:
    """The actions possible now, each with the reason it is disabled for this user, if it is."""
    buttons = []
    for action in ACTIONS.values():
        if not transitions.can(action.name, req):
            continue
        reason = missing_reason(request, action.perm)
        if not reason and action.name in ("approve", "reject") and state["you_requested"]:
            reason = "You made this request yourself; another approver must decide."
        if not reason and action.name == "approve" and state["you_approved"]:
            reason = "You already approved this request; another approver must."
        url = reverse(f"console:request_{action.name}", args=[req.pk])
        buttons.append({"action": action, "disabled_reason": reason, "url": url})
    return buttons


# Ownership conflicts listed on a request's page (they are rare; the admin lists them all).
CONFLICTS_SHOWN = 50


def _files(request: HttpRequest, req: DeletionRequest) -> dict[str, Any]:
    """The request's uploaded files for its page: a page of them (its own page parameter, beside
    the items'), filtered by state, each with its result and why it was kept in staff's words."""
    if not req.erase_files:
        return {"files_page": None, "file_status": ""}
    file_status = request.GET.get("file_status", "")
    erasures = FileErasure.objects.filter(request=req).select_related("workspace").order_by("id")
    if file_status in FS.values:
        erasures = erasures.filter(status=file_status)
    else:
        file_status = ""
    page = console_queries.paginate(erasures, request.GET, per_page=50, param="file_page")
    for erasure in page.objects:
        erasure.outcome = file_results.label(erasure)  # type: ignore[attr-defined]
        erasure.why = file_results.kept_why(erasure, staff=True)  # type: ignore[attr-defined]
    return {"files_page": page, "file_status": file_status, "file_statuses": FS.choices}


@console_required()
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    req = get_request(pk)
    state = _approval_state(req, _user(request))
    item_status = request.GET.get("item_status", "")
    items: QuerySet[DeletionItem] = (
        DeletionItem.objects.filter(request=req)
        .select_related("parse_run__workspace")
        .order_by("id")
    )
    if item_status in IS.values:
        items = items.filter(status=item_status)
    else:
        item_status = ""
    entries, truncated = console_queries.timeline(req)
    items_page = console_queries.paginate(items, request.GET, per_page=50)
    # The holds behind this page's held items, in two queries (see console_holds).
    covering = hold_reports.holds_for_runs(
        item.parse_run for item in items_page.objects if item.status == IS.HELD
    )
    conflicts = list(
        req.ownership_conflicts.select_related(
            "parse_run", "observed_customer", "current_customer"
        ).order_by("resolved_at", "-seen_at")[:CONFLICTS_SHOWN]
    )
    open_conflicts = {c.parse_run_id for c in conflicts if c.resolved_at is None}
    req_progress = progress(req)
    for item in items_page.objects:
        item.outcome = results.outcome_label(item, staff=True)  # type: ignore[attr-defined]
        item.holds = covering.get(item.parse_run_id, [])  # type: ignore[attr-defined]
        item.owner_conflict = item.parse_run_id in open_conflicts  # type: ignore[attr-defined]
    return render_console(
        request,
        "console/request_detail.html",
        {
            "req": req,
            "progress": req_progress,
            "files_text": file_results.files_text(req, req_progress.files),
            "cooling_off": cooling_off(req),
            "items_page": items_page,
            **_files(request, req),
            "item_status": item_status,
            "item_statuses": IS.choices,
            "timeline": entries,
            "timeline_truncated": truncated,
            "buttons": _buttons(request, req, state),
            "days_left": console_queries.days_left(req),
            "pause_ends_on": gdpr_deadlines.pause_ends_on(req),
            "max_pause_days": settings.GDPR_MAX_PAUSE_DAYS,
            "conflicts": conflicts,
            "certificate_versions": certificates.versions(req),
            # Art. 19: the recipients of a GDPR erasure and whether each was informed.
            "recipient_rows": recipients.for_request(req)
            if req.kind == DeletionRequest.Kind.GDPR
            else [],
            "can_mark_informed": recipients.can_record_informed(req),
            "today": timezone.localdate(),
            **state,
        },
        section="queue",
    )


# --- Actions -------------------------------------------------------------------------------


def _consequence(req: DeletionRequest, name: str, state: dict[str, Any]) -> str:
    """Exactly what the action will do, with counts, for its confirmation page."""
    n = req.item_count
    runs = f"{n:,} parse run{'s' if n != 1 else ''}"
    remaining = req.remaining_count
    if name == "approve":
        if state["approvals_given"] + 1 >= req.required_approvals:
            return (
                f"The request becomes approved and the engine starts deleting {runs} of "
                f"{req.customer.name} at Extend. Deleted runs cannot be restored."
            )
        return (
            f"Your approval is recorded as {state['approvals_given'] + 1} of "
            f"{req.required_approvals}. Nothing is deleted until another approver also approves."
        )
    if name == "reject":
        return (
            f"The request is rejected and none of its {runs} is deleted; the runs can be "
            "requested again. The requester is told your reason by e-mail."
            + (
                " So is the data subject, with the ground and how to complain to the "
                "supervisory authority."
                if req.kind == DeletionRequest.Kind.GDPR and subject_notices.can_notify(req)
                else ""
            )
        )
    if name == "cancel":
        told = ""
        if req.kind == DeletionRequest.Kind.GDPR:
            told = (
                " The data subject is told by e-mail that it was cancelled, by whom (your role, "
                "not your name) and your reason."
                if subject_notices.can_notify(req)
                else " The data subject left no address here (the request was filed on their "
                "behalf), so nobody is e-mailed: tell them yourself."
            )
        return (
            f"The request is cancelled and none of its {runs} is deleted; the runs can be "
            f"requested again. This cannot be undone.{told}"
        )
    if name == "pause":
        return (
            f"The engine stops taking new items of this request: {remaining:,} of {n:,} items "
            "wait until someone resumes it. Calls already in flight finish."
        )
    if name == "resume":
        return f"The engine resumes deleting the {remaining:,} remaining items of {runs}."
    failed = req.failed_count
    return (
        f"The {failed:,} failed item{'s' if failed != 1 else ''} go back to pending and the "
        "engine tries each of them again at Extend."
    )


def _run(name: str, req: DeletionRequest, user: User, data: dict[str, Any]) -> str:
    """Call the transition for *name*; return the success message."""
    kwargs: dict[str, Any] = {"actor": user, "source": Source.WEB}
    if name == "approve":
        done = transitions.approve_request(req, comment=data.get("comment", ""), **kwargs)
        if done.status == DeletionRequest.Status.APPROVED:
            if done.execute_after and done.execute_after > timezone.now():
                return (
                    f"Request #{req.pk} is approved; deletion starts after the customer's "
                    f"cooling-off window, at {progress_moment(done.execute_after)}."
                )
            return f"Request #{req.pk} is approved; deletion starts shortly."
        return f"Your approval of request #{req.pk} is recorded; another approver is needed."
    if name == "reject":
        # The requester's e-mail is sent by deletions.notifications.customer_emails' transition
        # hook.
        started = timezone.now()
        transitions.reject_request(
            req, reason=data["reason"], ground=data.get("ground", ""), **kwargs
        )
        told = (
            " The data subject was told the ground and your reason by e-mail."
            if subject_notices.notified(req, subject_notices.REJECTED, since=started)
            else ""
        )
        return f"Request #{req.pk} is rejected; the requester was told your reason.{told}"
    if name == "cancel":
        started = timezone.now()
        transitions.cancel_request(req, reason=data.get("reason", ""), **kwargs)
        # Claimed only once the notice is on the request's record (sent after the commit).
        told = (
            " The data subject was told by e-mail."
            if subject_notices.notified(req, subject_notices.CANCELLED, since=started)
            else ""
        )
        return f"Request #{req.pk} is cancelled; nothing was deleted.{told}"
    if name == "pause":
        transitions.pause_request(req, reason=data.get("reason", ""), **kwargs)
        return f"Request #{req.pk} is paused."
    if name == "resume":
        transitions.resume_request(req, **kwargs)
        return f"Request #{req.pk} is running again."
    done = transitions.retry_failed_items(req, **kwargs)
    return f"The failed items of request #{done.pk} are being tried again."


FORMS: dict[str, type[ApproveForm | RejectForm | ReasonForm | CancelForm] | None] = {
    "approve": ApproveForm,
    "reject": RejectForm,
    "pause": ReasonForm,
    "cancel": CancelForm,
}


def _action_view(name: str) -> Any:
    action = ACTIONS[name]

    @console_required(action.perm)
    @require_http_methods(["GET", "POST"])
    def view(request: HttpRequest, pk: int) -> HttpResponse:
        req = get_request(pk)
        user = _user(request)
        form_class = FORMS.get(name)
        if name == "reject" and req.kind == DeletionRequest.Kind.GDPR:
            form_class = GdprRejectForm
        if name == "cancel" and req.kind == DeletionRequest.Kind.GDPR:
            form_class = GdprCancelForm
        form = (
            form_class(request.POST if request.method == "POST" else None) if form_class else None
        )
        if request.method == "POST" and (form is None or form.is_valid()):
            data = form.cleaned_data if form is not None else {}
            try:
                messages.success(request, _run(name, req, user, data))
            except DomainError as exc:
                messages.error(request, str(exc))
            return redirect("console:request_detail", pk=req.pk)
        state = _approval_state(req, user)
        refusal = ""
        if not transitions.can(name, req):
            refusal = (
                f"Request #{req.pk} is {req.get_status_display().lower()}; "
                f"this action is not possible now."
            )
        elif name in ("approve", "reject") and state["you_requested"]:
            refusal = "You made this request yourself; another approver must decide."
        elif name == "approve" and state["you_approved"]:
            refusal = "You already approved this request; another approver must."
        return render_console(
            request,
            "console/request_action.html",
            {
                "req": req,
                "action": action,
                "form": form,
                "consequence": _consequence(req, name, state),
                "refusal": refusal,
                **state,
            },
            section="queue",
        )

    view.__name__ = f"request_{name}"
    return view


request_approve = _action_view("approve")
request_reject = _action_view("reject")
request_cancel = _action_view("cancel")
request_pause = _action_view("pause")
request_resume = _action_view("resume")
request_retry = _action_view("retry")
