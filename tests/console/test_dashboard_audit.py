"""The dashboard's figures and the audit log with its CSV export."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from deletions import audit
from deletions.models import AuditEvent, DeletionAttempt, DeletionItem, Source, Workspace
from deletions.views.console_dashboard import engine_rows
from tests.helpers import force_status, submitted_request


def test_the_dashboard_counts_requests_by_status(client, viewer, workspace, customer, member):
    submitted_request(workspace, customer, member, runs=1, prefix="a_")
    done = submitted_request(workspace, customer, member, runs=1, prefix="b_")
    force_status(done, "completed")
    client.force_login(viewer)
    response = client.get(reverse("console:dashboard"))
    rows = {value: n for value, _, n in response.context["status_rows"]}
    assert rows["pending_approval"] == 1
    assert rows["completed"] == 1
    assert response.context["total_requests"] == 2


def test_the_dashboard_lists_gdpr_deadlines(client, viewer, workspace, customer, member):
    today = timezone.localdate()
    late = submitted_request(workspace, customer, member, runs=1, prefix="l_")
    soon = submitted_request(workspace, customer, member, runs=1, prefix="s_")
    force_status(late, "pending_approval", kind="gdpr", due_on=today - timedelta(days=1))
    force_status(soon, "running", kind="gdpr", due_on=today + timedelta(days=3))
    client.force_login(viewer)
    response = client.get(reverse("console:dashboard"))
    assert [r.pk for r in response.context["overdue"]] == [late.pk]
    assert [r.pk for r in response.context["due_soon"]] == [soon.pk]


def test_the_chart_and_throughput_come_from_deletions(client, viewer, workspace, customer, member):
    req = submitted_request(workspace, customer, member, runs=4)
    now = timezone.now()
    items = list(req.items.all())
    DeletionItem.objects.filter(pk__in=[i.pk for i in items[:3]]).update(
        status=DeletionItem.Status.DELETED, confirmed_at=now
    )
    for item in items[:3]:
        DeletionAttempt.objects.create(item=item, http_status=200, outcome="deleted")
    client.force_login(viewer)
    response = client.get(reverse("console:dashboard"))
    assert response.context["chart_total"] == 3
    assert response.context["bars"][-1].count == 3
    assert response.context["bars"][-1].height > 0
    tp = {t.workspace.pk: t for t in response.context["throughput"]}
    assert tp[workspace.pk].per_second == 3 / 60
    body = response.content.decode()
    assert "<svg" in body
    assert "style=" not in body  # CSP: no inline styles


def test_the_dashboard_warns_about_stopped_workspaces(client, viewer, workspace):
    Workspace.objects.filter(pk=workspace.pk).update(
        health=Workspace.Health.PAYMENT_REQUIRED, health_reason="HTTP 402"
    )
    client.force_login(viewer)
    body = client.get(reverse("console:dashboard")).content.decode()
    assert "Work is stopped for workspace" in body
    assert "Payment required" in body


def test_the_engine_health_shows_items_waiting_to_retry(client, viewer, pending_request):
    DeletionItem.objects.filter(pk=pending_request.items.first().pk).update(
        attempts=1, next_attempt_at=timezone.now() + timedelta(minutes=5)
    )
    client.force_login(viewer)
    response = client.get(reverse("console:dashboard"))
    rows = dict(response.context["engine_rows"])
    assert rows["Items waiting to retry"] == "1"


def test_engine_rows_format_known_and_unknown_keys():
    rows = engine_rows({"worker_heartbeat_age": 3.4, "queue_depth": 1200, "extra_thing": "x"})
    assert rows == [
        ("Worker heartbeat", "3 s ago"),
        ("Messages queued", "1,200"),
        ("Extra thing", "x"),
    ]


def test_the_dashboard_makes_a_constant_number_of_queries(
    client, viewer, workspace, customer, member, django_assert_max_num_queries
):
    submitted_request(workspace, customer, member, runs=2, prefix="a_")
    client.force_login(viewer)
    with django_assert_max_num_queries(20) as few:
        client.get(reverse("console:dashboard"))
    for i in range(10):
        submitted_request(workspace, customer, member, runs=5, prefix=f"m{i}_")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("console:dashboard"))


# --- Audit log -----------------------------------------------------------------------------


def test_the_audit_log_filters(client, viewer, staff_admin, pending_request, customer):
    audit.record("workspace.key_rotated", obj=customer, actor=staff_admin, source=Source.WEB)
    client.force_login(viewer)
    url = reverse("console:audit_log")
    actions = lambda r: [e.action for e in r.context["page"].objects]  # noqa: E731
    assert actions(client.get(url, {"action": "workspace"})) == ["workspace.key_rotated"]
    assert actions(client.get(url, {"actor": "olga"})) == ["workspace.key_rotated"]
    assert actions(client.get(url, {"request_id": pending_request.pk})) == ["request.submitted"]
    assert len(actions(client.get(url, {"customer": customer.pk}))) == 2
    assert actions(client.get(url, {"source": "api"})) == []
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert actions(client.get(url, {"date_from": tomorrow})) == []
    today = timezone.localdate().isoformat()
    assert len(actions(client.get(url, {"date_from": today, "date_to": today}))) == 2


def test_the_audit_export_streams_csv_and_is_audited(client, viewer, pending_request):
    client.force_login(viewer)
    response = client.get(reverse("console:audit_export"), {"action": "request."})
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:5] == ["id", "at", "actor", "source", "action"]
    assert [r[4] for r in rows[1:]] == ["request.submitted"]
    exported = AuditEvent.objects.get(action="audit.exported")
    assert exported.actor == viewer
    assert exported.detail == {"action": "request."}


def test_the_audit_export_refuses_bad_filters(client, viewer, db):
    client.force_login(viewer)
    response = client.get(reverse("console:audit_export"), {"date_from": "yesterday"})
    assert response.status_code == 400
    assert not AuditEvent.objects.filter(action="audit.exported").exists()


def test_the_dashboard_shows_the_worker_heartbeat_and_last_reconciler_run(client, viewer):
    from deletions.engine import health as engine_health
    from deletions.engine import reconciler

    engine_health.note_worker_alive()
    reconciler.reconcile(wake=lambda workspace_id: None)
    client.force_login(viewer)
    rows = dict(client.get(reverse("console:dashboard")).context["engine_rows"])
    assert rows["Worker heartbeat"] in {"0 s ago", "1 s ago"}
    assert rows["Last reconciler run"] != "never"
    assert rows["Messages queued"] != "unknown"
