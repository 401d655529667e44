"""Console: the dashboard (requests by status, GDPR deadlines, deletions per day, by retention
policies beside one-off requests, throughput against each workspace's limit, and the engine's
health)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from deletions.gdpr import deadlines as gdpr
from deletions.models import DeletionRequest, Workspace
from deletions.reporting import console_queries, retention
from deletions.views.console_auth import console_required, render_console

DUE_SOON_DAYS = 7
CHART_DAYS = 30


@console_required()
def dashboard(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    counts = console_queries.status_counts()
    # Paused deadlines stay listed, with their badge: a pause stops the clock, it does not
    # make a deadline go away.
    overdue, due_soon = gdpr.overdue_and_due_soon(today, DUE_SOON_DAYS)
    overdue, due_soon = overdue[:10], due_soon[:10]
    series = console_queries.deletions_per_day(CHART_DAYS)
    bars, top = console_queries.chart_bars(series)
    engine = console_queries.engine_health()
    stopped = [ws for ws in Workspace.objects.all() if ws.health != Workspace.Health.ACTIVE]
    return render_console(
        request,
        "console/dashboard.html",
        {
            "status_rows": [
                (value, label, counts.get(value, 0))
                for value, label in DeletionRequest.Status.choices
            ],
            "total_requests": sum(counts.values()),
            "overdue": overdue,
            "due_soon": due_soon,
            "due_soon_days": DUE_SOON_DAYS,
            "bars": bars,
            "chart_top": top,
            "chart_total": sum(n for _, n in series),
            "chart_width": console_queries.CHART_WIDTH,
            "chart_height": console_queries.CHART_HEIGHT,
            "by_kind": retention.deleted_by_policies_and_requests(CHART_DAYS),
            "first_day": series[0][0],
            "last_day": series[-1][0],
            "throughput": console_queries.throughput(),
            "engine": engine,
            "engine_rows": engine_rows(engine),
            "stopped_workspaces": stopped,
        },
        section="dashboard",
    )


ENGINE_LABELS = {
    "worker_heartbeat_age": ("Worker heartbeat", "{:.0f} s ago"),
    "queue_depth": ("Messages queued", "{:,}"),
    "last_reconciler_run": ("Last reconciler run", "{}"),
    "waiting_to_retry": ("Items waiting to retry", "{:,}"),
    "in_flight": ("Items in flight", "{:,}"),
    "running_requests": ("Running requests", "{:,}"),
}


def engine_rows(snapshot: dict[str, Any]) -> list[tuple[str, str]]:
    """The engine snapshot as label/value rows: known keys first, then any others it adds."""
    rows = []
    for key, value in snapshot.items():
        if key == "source":
            continue
        label, fmt = ENGINE_LABELS.get(key, (key.replace("_", " ").capitalize(), "{}"))
        if value is None:
            text = "never" if "age" in key or "run" in key else "unknown"
        else:
            try:
                text = fmt.format(value)
            except (TypeError, ValueError):
                text = str(value)
        rows.append((label, text))
    order = list(ENGINE_LABELS)
    known = {label: i for i, (label, _) in enumerate(ENGINE_LABELS[k] for k in order)}
    return sorted(rows, key=lambda row: known.get(row[0], len(known)))
