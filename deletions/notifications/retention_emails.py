"""E-mails about retention policies to the customer's admins: the notice before a policy first
acts, the notice of an evaluation larger than ``RETENTION_POLICY_NOTICE_THRESHOLD``, and the
monthly summary. Beat's tasks send them (:mod:`deletions.tasks.policies`).

Each is sent at most once, and its record says so: the notice before first action and the
monthly summary claim their row (the policy's ``first_notice_sent_at``; the customer's, locked,
with its summary's audit event) in the transaction that sends, so a failed send is tried again
at the next tick and two ticks at once send one. Times are in the customer's time zone, the one
its policies keep. Run ids appear, file names do not: an e-mail leaves the portal, and a file
name may name a person.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, tzinfo
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import dateformat, timezone

from deletions import audit
from deletions.core import emails
from deletions.gdpr.controller_notices import customer_admin_addresses
from deletions.models import (
    AuditEvent,
    Customer,
    DeletionRequest,
    ParseRun,
    PolicyEvaluation,
    RetentionPolicy,
    Source,
)
from deletions.notifications import retention_links
from deletions.policies import selection
from deletions.policies.evaluation import Outcome, standing_approvals
from deletions.policies.schedule import customer_zone, next_evaluation
from deletions.reporting import retention

logger = logging.getLogger(__name__)

ST = RetentionPolicy.Status
# Runs of a large evaluation listed in its notice, each with its own exemption link.
EXEMPT_LINKS = 10
# Last month's summary goes out in the first days of a month (a portal down on the 1st still
# sends it); after that, that month is not summarised any more.
SUMMARY_DAYS = 7
SUMMARY_SENT = "policy.monthly_summary_sent"


def _when(moment: datetime | None, zone: tzinfo) -> str:
    """'9 Dec 2026, 02:00' in *zone*."""
    if moment is None:
        return ""
    return dateformat.format(moment.astimezone(zone), "j M Y, H:i")


def _runs(n: int) -> str:
    return f"{n:,} parse run{'' if n == 1 else 's'}"


def narrowing(policy: RetentionPolicy) -> list[str]:
    """What narrows the policy beyond its customer, one phrase each (none: all its runs)."""
    parts = []
    names = [w.name for w in policy.workspaces.all()]
    if names:
        parts.append(f"in workspace{'s' if len(names) > 1 else ''} {', '.join(names)}")
    if policy.file_name_contains:
        parts.append(f"whose file name contains “{policy.file_name_contains}”")
    if policy.extend_status:
        parts.append(f"with Extend status {policy.extend_status}")
    if policy.metadata_key:
        value = f" = “{policy.metadata_value}”" if policy.metadata_value else ""
        parts.append(f"with metadata {policy.metadata_key}{value}")
    return parts


def _dated_by(policy: RetentionPolicy) -> str:
    return "created" if policy.basis == RetentionPolicy.Basis.AGE else "processed"


def _cadence(policy: RetentionPolicy) -> str:
    if policy.basis == RetentionPolicy.Basis.AGE:
        return f"every day at {settings.RETENTION_POLICY_EVALUATION_HOUR:02d}:00"
    minutes = max(round(settings.RETENTION_POLICY_TICK_SECONDS / 60), 1)
    return f"every {minutes} minute{'s' if minutes != 1 else ''}"


def _policy_context(policy: RetentionPolicy, zone: tzinfo) -> dict[str, Any]:
    approvals = standing_approvals(policy)
    return {
        "policy": policy,
        "customer": policy.customer,
        "narrowing": narrowing(policy),
        "dated_by": _dated_by(policy),
        "cadence": _cadence(policy),
        "approved_by": [a.approver.get_full_name() or a.approver.get_username() for a in approvals],
        "approved_at": _when(policy.approved_at, zone),
        "time_zone": str(zone),
        "policy_url": retention_links.policy_url(policy.pk),
        "exempt_url": retention_links.exempt_url(policy.pk),
    }


def _record_notice(
    policy: RetentionPolicy,
    notice: str,
    recipients: list[str],
    *,
    request: DeletionRequest | None = None,
    **detail: object,
) -> None:
    """The audit trail's record of a notice, in the transaction that sent it."""
    audit.record(
        "policy.notice_sent",
        obj=policy,
        actor=None,
        source=Source.SYSTEM,
        request=request,
        customer=policy.customer_id,
        detail={"notice": notice, "recipients": len(recipients), **detail},
    )


# --- Before the first action ---------------------------------------------------------------


def send_first_action_notices(now: datetime | None = None) -> int:
    """Tell the admins of every active policy not yet announced when it first acts and what it
    would select now. Returns the number of messages sent."""
    now = now or timezone.now()
    waiting = RetentionPolicy.objects.filter(status=ST.ACTIVE, first_notice_sent_at__isnull=True)
    sent = 0
    for policy_id in waiting.order_by("pk").values_list("pk", flat=True):
        try:
            sent += _first_action_notice(policy_id, now)
        except Exception:
            # Left unclaimed (the transaction rolled back): the next tick tries again.
            logger.exception("the first-action notice of policy #%s could not be sent", policy_id)
    return sent


def _first_action_notice(policy_id: int, now: datetime) -> int:
    with transaction.atomic():
        # The claim: of two ticks at once, one updates the row; the other waits for its commit
        # and then finds the notice sent.
        claimed = RetentionPolicy.objects.filter(
            pk=policy_id, status=ST.ACTIVE, first_notice_sent_at__isnull=True
        ).update(first_notice_sent_at=now)
        if not claimed:
            return 0
        policy = RetentionPolicy.objects.select_related("customer").get(pk=policy_id)
        earliest = now + timedelta(days=settings.RETENTION_POLICY_NOTICE_DAYS)
        if policy.first_action_at is None or policy.first_action_at < earliest:
            # A notice that went out late (mail down, a tick missed) still gives the admins
            # their days: the first action moves, it never comes sooner than promised.
            policy.first_action_at = earliest
            policy.next_evaluation_at = next_evaluation(policy, now)
            policy.save(update_fields=["first_action_at", "next_evaluation_at", "updated_at"])
        zone = customer_zone(policy.customer)
        preview = selection.preview(policy, now)
        recipients = customer_admin_addresses(policy.customer)
        first_action = policy.first_action_at
        context = {
            **_policy_context(policy, zone),
            "first_action": _when(first_action, zone),
            "acts_already": first_action <= now,
            "preview": preview,
            "would_select": _runs(preview.cap if preview.more else preview.count),
            "oldest": _when(preview.oldest, zone),
            "newest": _when(preview.newest, zone),
        }
        messages = emails.send("retention_first_notice", recipients, context)
        _record_notice(
            policy,
            "first_action",
            recipients,
            first_action_at=first_action.isoformat(),
            would_select=preview.count,
            more=preview.more,
        )
    return messages


# --- A large evaluation ---------------------------------------------------------------------


def send_large_evaluation_notice(evaluation: PolicyEvaluation) -> int:
    """Tell the customer's admins what *evaluation* selected and when its deletion begins, with
    a link to exempt each of its first runs. Returns the number of messages sent (0 if it
    created no request)."""
    evaluation = PolicyEvaluation.objects.select_related("policy__customer", "request").get(
        pk=evaluation.pk
    )
    req, policy = evaluation.request, evaluation.policy
    if req is None:
        return 0
    zone = customer_zone(policy.customer)
    field = "extend_created_at" if policy.basis == RetentionPolicy.Basis.AGE else "processed_at"
    runs = ParseRun.objects.filter(items__request=req)
    first = list(runs.order_by(field, "id").values_list("run_id", field)[:EXEMPT_LINKS])
    newest = runs.order_by(f"-{field}", "-id").values_list(field, flat=True).first()
    recipients = customer_admin_addresses(policy.customer)
    context = {
        **_policy_context(policy, zone),
        "evaluation": evaluation,
        "req": req,
        "runs": _runs(req.item_count),
        "evaluated_at": _when(evaluation.evaluated_at, zone),
        "cut_off": _when(evaluation.cut_off, zone),
        "cap": f"{settings.RETENTION_POLICY_CAP:,}",
        "oldest": _when(first[0][1] if first else None, zone),
        "newest": _when(newest, zone),
        "execute_after": _when(req.execute_after, zone),
        "first_runs": [
            {
                "run_id": run_id,
                "when": _when(at, zone),
                "url": retention_links.exempt_url(policy.pk, run_id),
            }
            for run_id, at in first
        ],
        "more_runs": max(req.item_count - len(first), 0),
        "request_url": emails.absolute_url(reverse("customer:request", args=[req.pk])),
    }
    with transaction.atomic():
        messages = emails.send("retention_large_evaluation", recipients, context)
        _record_notice(
            policy,
            "large_evaluation",
            recipients,
            request=req,
            evaluation=evaluation.pk,
            selected=req.item_count,
            execute_after=req.execute_after.isoformat() if req.execute_after else None,
        )
    return messages


def announce_large_evaluations(outcomes: list[Outcome]) -> int:
    """Send the large-evaluation notice of each outcome that calls for one (its evaluation says
    ``noticed``); a failure is logged and the others still go. Returns the messages sent."""
    sent = 0
    for outcome in outcomes:
        ev = outcome.evaluation
        if ev is None or not ev.noticed or ev.request_id is None or ev.pk is None:
            continue
        try:
            sent += send_large_evaluation_notice(ev)
        except Exception:
            logger.exception("the notice of evaluation %s could not be sent", ev.pk)
    return sent


# --- The monthly summary ----------------------------------------------------------------------


def send_monthly_summaries(now: datetime | None = None) -> int:
    """In the first ``SUMMARY_DAYS`` days of a month (each customer's own), send each customer
    with policies last month's summary, once. Returns the number of messages sent."""
    now = now or timezone.now()
    sent = 0
    customers = Customer.objects.filter(retention_policies__isnull=False).distinct().order_by("pk")
    for customer in customers:
        today = timezone.localtime(now, customer_zone(customer)).date()
        if today.day > SUMMARY_DAYS:
            continue
        year, month = retention.previous_month(today)
        try:
            sent += send_monthly_summary(customer, year, month)
        except Exception:
            logger.exception("the retention summary of customer #%s could not be sent", customer.pk)
    return sent


def summary_sent(customer: Customer, key: str) -> bool:
    """Whether *customer*'s summary of month *key* ('2026-11') went out."""
    return AuditEvent.objects.filter(
        action=SUMMARY_SENT, object_type="customer", object_id=str(customer.pk), detail__month=key
    ).exists()


def send_monthly_summary(customer: Customer, year: int, month: int) -> int:
    """E-mail *customer*'s admins its summary of *month*, unless it was sent or there is nothing
    to summarise (no policy active, paused or acting in the month)."""
    with transaction.atomic():
        # The customer's row orders two ticks at once: the second sees the first's record.
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        summary = retention.monthly_summary(customer, year, month)
        if not summary.policies or summary_sent(customer, summary.key):
            return 0
        zone = customer_zone(customer)
        recipients = customer_admin_addresses(customer)
        rows = [
            {
                "month": row,
                "url": retention_links.policy_url(row.policy.pk),
                "last_evaluated": _when(row.last_evaluated_at, zone),
            }
            for row in summary.policies
        ]
        messages = emails.send(
            "retention_monthly_summary",
            recipients,
            {
                "customer": customer,
                "summary": summary,
                "rows": rows,
                "runs": _runs(summary.gone),
                "time_zone": str(zone),
                "policies_url": retention_links.policies_url(),
            },
        )
        audit.record(
            SUMMARY_SENT,
            obj=customer,
            actor=None,
            source=Source.SYSTEM,
            detail={
                "month": summary.key,
                "recipients": len(recipients),
                "runs_gone": summary.gone,
                "policies": [row.policy.pk for row in summary.policies],
            },
        )
    return messages
