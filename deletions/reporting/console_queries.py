"""Queries behind the console pages, kept to a fixed number per page whatever the data size."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Generic, TypeVar

from django.db.models import Count, Exists, F, Model, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce, TruncDate
from django.http import QueryDict
from django.utils import timezone

from deletions.engine import health as deletions_engine_health
from deletions.gdpr import deadlines as gdpr_deadlines
from deletions.models import (
    AuditEvent,
    DeletionAttempt,
    DeletionItem,
    DeletionRequest,
    FileAttempt,
    Workspace,
)
from deletions.requests.grounds import RefusalGround

M = TypeVar("M", bound=Model)

RS = DeletionRequest.Status
DECISION_STATUSES = (RS.PENDING_APPROVAL,)


@dataclass
class Page(Generic[M]):
    """One page of a list, found without counting the whole table: one extra row is fetched to
    know whether a next page exists."""

    objects: list[M]
    number: int
    has_next: bool
    query: str  # the current filters, to carry into page links
    # The page's query parameter: "page", or another where a page pages two lists.
    param: str = "page"

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def next_number(self) -> int:
        return self.number + 1

    @property
    def previous_number(self) -> int:
        return self.number - 1


def paginate(
    qs: QuerySet[M], params: QueryDict, *, per_page: int = 50, param: str = "page"
) -> Page[M]:
    try:
        number = max(int(params.get(param, "1")), 1)
    except ValueError:
        number = 1
    number = min(number, 10_000)
    start = (number - 1) * per_page
    rows = list(qs[start : start + per_page + 1])
    rest = params.copy()
    rest.pop(param, None)
    return Page(
        objects=rows[:per_page],
        number=number,
        has_next=len(rows) > per_page,
        query=rest.urlencode(),
        param=param,
    )


def queue(filters: dict[str, Any], *, today: date | None = None) -> QuerySet[DeletionRequest]:
    """Requests matching the queue *filters* (cleaned ``QueueFilterForm`` data), most urgent first:
    the GDPR due date (none last), then the oldest."""
    today = today or timezone.localdate()
    qs = DeletionRequest.objects.select_related("customer", "requested_by")
    status = filters.get("status") or ""
    if not status:
        qs = qs.filter(status__in=DECISION_STATUSES)
    elif status != "any":
        qs = qs.filter(status=status)
    if filters.get("customer"):
        qs = qs.filter(customer=filters["customer"])
    if filters.get("kind"):
        qs = qs.filter(kind=filters["kind"])
    if filters.get("workspace"):
        qs = qs.filter(
            Exists(
                DeletionItem.objects.filter(request=OuterRef("pk"), workspace=filters["workspace"])
            )
        )
    if filters.get("overdue"):
        # A paused deadline's clock stands still: it is overdue if it was when paused.
        qs = qs.annotate(
            effective_due=Coalesce("extended_due_on", "due_on"),
            paused_on=TruncDate("deadline_paused_at"),
        ).filter(
            Q(deadline_paused_at__isnull=True, effective_due__lt=today)
            | Q(deadline_paused_at__isnull=False, effective_due__lt=F("paused_on")),
            status__in=DeletionRequest.OPEN_STATUSES,
        )
    q = (filters.get("q") or "").strip()
    if q:
        number = q.lstrip("#")
        if number.isdigit():
            qs = qs.filter(Q(pk=int(number)) | Q(requested_by__username__iexact=q))
        else:
            qs = qs.filter(requested_by__username__icontains=q)
    return qs.order_by(
        Coalesce("extended_due_on", "due_on").asc(nulls_last=True), "submitted_at", "id"
    )


def days_left(req: DeletionRequest, today: date | None = None) -> int | None:
    """Days to the due date in force; a paused deadline's as they stood when it was paused."""
    return gdpr_deadlines.days_left(req, today)


@dataclass
class TimelineEntry:
    at: datetime
    kind: str  # "audit" or "attempt"
    title: str
    actor: str = ""
    detail: str = ""
    status: str = ""
    extend_request_id: str = ""
    error: str = ""


TIMELINE_LIMIT = 200


def timeline(req: DeletionRequest) -> tuple[list[TimelineEntry], bool]:
    """The request's audit events and API attempts (for its runs and, when it erases them, its
    uploaded files) merged, newest first (two or three queries).

    Returns the entries and whether older ones were left out.
    """
    events = list(AuditEvent.objects.filter(request=req).order_by("-at", "-id")[:TIMELINE_LIMIT])
    attempts = list(
        DeletionAttempt.objects.filter(item__request=req)
        .select_related("item__parse_run")
        .order_by("-started_at", "-id")[:TIMELINE_LIMIT]
    )
    entries = [
        TimelineEntry(
            at=e.at,
            kind="audit",
            title=e.action,
            actor=e.actor_label,
            detail=_describe_event(e),
        )
        for e in events
    ]
    entries += [_attempt_entry(a, a.item.parse_run.run_id) for a in attempts]
    file_attempts = (
        list(
            FileAttempt.objects.filter(item__request=req)
            .select_related("item")
            .order_by("-started_at", "-id")[:TIMELINE_LIMIT]
        )
        if req.erase_files
        else []
    )
    entries += [_attempt_entry(a, f"file {a.item.file_id}") for a in file_attempts]
    entries.sort(key=lambda e: e.at, reverse=True)
    truncated = TIMELINE_LIMIT in (len(events), len(attempts), len(file_attempts))
    return entries[:TIMELINE_LIMIT], truncated


def _attempt_entry(attempt: DeletionAttempt | FileAttempt, subject: str) -> TimelineEntry:
    return TimelineEntry(
        at=attempt.started_at,
        kind="attempt",
        title=f"{attempt.get_kind_display()} {subject}",
        status=f"{attempt.http_status or '—'} {attempt.outcome}".strip(),
        extend_request_id=attempt.extend_request_id,
        error=attempt.error,
        detail=f"{attempt.duration_ms} ms",
    )


def _describe_event(event: AuditEvent) -> str:
    parts = []
    if event.before and event.after:
        parts.append(f"{_flat(event.before)} → {_flat(event.after)}")
    for key, value in (event.detail or {}).items():
        if value not in ("", None, {}, []):
            if key == "ground":  # a refusal's ground is shown in words, as on the request
                value = dict(RefusalGround.choices).get(value, value)
            parts.append(f"{key.replace('_', ' ')}: {value}")
    return "; ".join(parts)


def _flat(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(str(v) for v in value.values())
    return str(value)


# --- Dashboard -----------------------------------------------------------------------------


def status_counts() -> dict[str, int]:
    rows = DeletionRequest.objects.order_by().values_list("status").annotate(n=Count("id"))
    return dict(rows)


def deletions_per_day(days: int = 30, *, now: datetime | None = None) -> list[tuple[date, int]]:
    """Items confirmed gone per day over the last *days* days, oldest first, gaps as zero."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    first = today - timedelta(days=days - 1)
    rows = (
        DeletionItem.objects.filter(
            confirmed_at__gte=datetime.combine(
                first, time.min, tzinfo=timezone.get_current_timezone()
            ),
            status__in=(DeletionItem.Status.DELETED, DeletionItem.Status.ALREADY_GONE),
        )
        .order_by()
        .annotate(day=TruncDate("confirmed_at"))
        .values_list("day")
        .annotate(n=Count("id"))
    )
    counts = dict(rows)
    return [
        (first + timedelta(days=i), counts.get(first + timedelta(days=i), 0)) for i in range(days)
    ]


@dataclass
class Bar:
    x: int
    y: int
    width: int
    height: int
    day: date
    count: int
    label: bool = False


CHART_WIDTH = 600
CHART_HEIGHT = 160


def chart_bars(series: list[tuple[date, int]]) -> tuple[list[Bar], int]:
    """Bar geometry for the inline SVG chart (presentation attributes only: CSP allows them)."""
    top = max((n for _, n in series), default=0) or 1
    slot = CHART_WIDTH // max(len(series), 1)
    bars = []
    for i, (day, n) in enumerate(series):
        height = round(n / top * (CHART_HEIGHT - 20)) if n else 0
        bars.append(
            Bar(
                x=i * slot + 2,
                y=CHART_HEIGHT - height,
                width=slot - 4,
                height=height,
                day=day,
                count=n,
            )
        )
    return bars, top


@dataclass
class Throughput:
    workspace: Workspace
    per_second: float
    limit: int

    @property
    def percent(self) -> int:
        return min(int(100 * self.per_second / self.limit), 100) if self.limit else 0


def throughput(*, now: datetime | None = None) -> list[Throughput]:
    """Deletes per second over the last minute, per workspace, against its limit (two queries)."""
    since = (now or timezone.now()) - timedelta(seconds=60)
    rows = (
        DeletionAttempt.objects.filter(kind=DeletionAttempt.Kind.DELETE, started_at__gte=since)
        .order_by()
        .values_list("item__workspace")
        .annotate(n=Count("id"))
    )
    counts = dict(rows)
    return [
        Throughput(workspace=ws, per_second=counts.get(ws.pk, 0) / 60, limit=ws.rate_limit)
        for ws in Workspace.objects.all()
    ]


def engine_health() -> dict[str, Any]:
    """The engine's snapshot (see deletions.engine.health)."""
    return deletions_engine_health.snapshot()
