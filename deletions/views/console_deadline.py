"""Console: pause a GDPR request's deadline while waiting on the data subject, and resume it.

Both confirm first (GET shows what will happen, POST does it) and go through
:func:`deletions.gdpr.deadlines.pause_deadline` / :func:`deletions.gdpr.deadlines.resume_deadline`,
which record the audit events the request's timeline shows. Approvers and admins may (``APPROVE``).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from deletions.core.errors import DomainError
from deletions.forms.gdpr import PauseForm
from deletions.gdpr import deadlines as gdpr
from deletions.gdpr import subject_notices
from deletions.models import DeletionRequest, Source
from deletions.views.console_auth import APPROVE, console_required, render_console
from deletions.views.console_requests import get_request


def pause_refusal(req: DeletionRequest) -> str:
    """Why the deadline cannot be paused now, or "" if it can."""
    if req.kind != DeletionRequest.Kind.GDPR or not req.due_on:
        return "Only GDPR erasure requests have a deadline to pause."
    if not req.is_open:
        return "The request is finished; its deadline cannot change."
    if gdpr.is_paused(req):
        return "The deadline is already paused."
    if not gdpr.pause_allowance_left(req):
        return (
            f"It has already been paused for {req.deadline_paused_days} days, the most allowed "
            f"({settings.GDPR_MAX_PAUSE_DAYS} in all)."
        )
    return ""


@console_required(APPROVE)
@require_http_methods(["GET", "POST"])
def deadline_pause(request: HttpRequest, pk: int) -> HttpResponse:
    req = get_request(pk)
    has_address = gdpr.subject_address(req) is not None
    form = PauseForm(
        request.POST if request.method == "POST" else None,
        initial={"ask_subject": has_address},
    )
    if not has_address:
        form.fields["ask_subject"].disabled = True
        form.fields["ask_subject"].help_text = (
            "Not possible: the request did not come through the public form, so there is no "
            "address to write to. Contact the data subject directly."
        )
    if request.method == "POST" and form.is_valid():
        started = timezone.now()
        try:
            gdpr.pause_deadline(
                req,
                reason=form.cleaned_data["reason"],
                actor=request.user,
                source=Source.WEB,
                ask_subject=bool(form.cleaned_data.get("ask_subject")),
            )
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            # Claimed only when the notice is on the request's record (sent after the commit).
            if subject_notices.notified(req, subject_notices.MORE_INFO, since=started):
                told = " The data subject was e-mailed a link to answer."
            elif subject_notices.notified(req, subject_notices.PAUSED, since=started):
                told = " The data subject was told why by e-mail."
            else:
                told = ""
            messages.success(request, f"Deadline of request #{req.pk} paused.{told}")
            return redirect("console:request_detail", pk=req.pk)
    return render_console(
        request,
        "console/gdpr/deadline_pause.html",
        {
            "req": req,
            "form": form,
            "refusal": pause_refusal(req),
            "has_address": has_address,
            "max_pause_days": settings.GDPR_MAX_PAUSE_DAYS,
            "reminder_days": settings.GDPR_PAUSE_REMINDER_DAYS,
            "allowance_left": gdpr.pause_allowance_left(req),
            "ends_on": timezone.localdate() + timedelta(days=gdpr.pause_allowance_left(req)),
        },
        section="queue",
    )


@console_required(APPROVE)
@require_http_methods(["GET", "POST"])
def deadline_resume(request: HttpRequest, pk: int) -> HttpResponse:
    req = get_request(pk)
    errors: list[str] = []
    if request.method == "POST":
        try:
            req = gdpr.resume_deadline(req, actor=request.user, source=Source.WEB)
        except DomainError as exc:
            errors.append(str(exc))
        else:
            due = req.effective_due_on
            messages.success(
                request,
                f"Deadline of request #{req.pk} resumed; it is now due on {due:%-d %B %Y}."
                if due
                else f"Deadline of request #{req.pk} resumed.",
            )
            return redirect("console:request_detail", pk=req.pk)
    days = gdpr.days_paused(req)
    due = req.effective_due_on
    return render_console(
        request,
        "console/gdpr/deadline_resume.html",
        {
            "req": req,
            "errors": errors,
            "paused": gdpr.is_paused(req) and req.is_open,
            "paused_on": timezone.localdate(req.deadline_paused_at)
            if req.deadline_paused_at
            else None,
            "days": days,
            "new_due": due + timedelta(days=days) if due else None,
        },
        section="queue",
    )
