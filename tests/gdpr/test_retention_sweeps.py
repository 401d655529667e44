"""The daily purge applies every table's period: what is past it goes, what is fresh (or still
in use) stays. Each test makes an expired row and a fresh one, then purges at a later date."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import time_machine
from axes.models import AccessAttempt, AccessAttemptExpiration, AccessFailureLog, AccessLog
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session

from deletions.gdpr import retention
from deletions.models import (
    ApiToken,
    AuditEvent,
    IdempotencyKey,
    LegalHold,
    NotificationDelivery,
    NotificationEndpoint,
    OwnershipConflict,
    ParseRun,
    RateLimitSlot,
    Recipient,
    RecipientNotice,
    WebhookEvent,
)
from tests.factories import make_runs
from tests.helpers import submitted_request

OLD = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
PURGE = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)  # 147 days after OLD
FRESH = PURGE - timedelta(hours=1)


def purge() -> retention.PurgeResult:
    with time_machine.travel(PURGE, tick=False):
        return retention.purge_expired_records()


def test_webhook_events_go_after_their_period(workspace):
    WebhookEvent.objects.create(
        workspace=workspace, event_id="evt_old", event_type="parse_run.processed", received_at=OLD
    )
    WebhookEvent.objects.create(
        workspace=workspace, event_id="evt_new", event_type="parse_run.processed", received_at=FRESH
    )
    assert purge().webhook_events == 1
    assert list(WebhookEvent.objects.values_list("event_id", flat=True)) == ["evt_new"]


def test_idempotency_keys_and_their_stored_answers_go_after_a_day(member):
    token, _raw = ApiToken.issue(member, name="robot", created_by=member)
    for key, at in (("old", PURGE - timedelta(hours=25)), ("new", FRESH)):
        IdempotencyKey.objects.create(
            token=token,
            key=key,
            request_hash="0" * 64,
            response_status=201,
            response_body={"id": 7, "reason": "stored answer"},
            created_at=at,
        )
    assert purge().idempotency_keys == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]


def test_finished_notifications_go_after_their_period_pending_ones_stay(customer, settings):
    settings.RETENTION_NOTIFICATION_DAYS = 30
    endpoint = NotificationEndpoint(customer=customer, url="https://hooks.example.org/portal")
    endpoint.set_secret("s3cret")
    endpoint.save()
    status = NotificationDelivery.Status
    for event, state, at in (
        ("old-delivered", status.DELIVERED, OLD),
        ("old-given-up", status.FAILED, OLD),
        ("old-pending", status.PENDING, OLD),
        ("new-delivered", status.DELIVERED, FRESH),
    ):
        NotificationDelivery.objects.create(
            endpoint=endpoint, event=event, payload={"event": event}, status=state, created_at=at
        )
    assert purge().notification_deliveries == 2
    assert sorted(NotificationDelivery.objects.values_list("event", flat=True)) == [
        "new-delivered",
        "old-pending",
    ]


def _sign_in_records(username: str) -> None:
    common = {
        "user_agent": "pytest",
        "ip_address": "198.51.100.7",
        "username": username,
        "http_accept": "*/*",
        "path_info": "/accounts/login/",
    }
    attempt = AccessAttempt.objects.create(
        **common, get_data="", post_data="", failures_since_start=1
    )
    AccessAttemptExpiration.objects.create(
        access_attempt=attempt, expires_at=attempt.attempt_time + timedelta(minutes=15)
    )
    AccessFailureLog.objects.create(**common)
    AccessLog.objects.create(**common)


def test_sign_in_records_go_after_their_period(db):
    with time_machine.travel(OLD, tick=False):
        _sign_in_records("old-user")
    with time_machine.travel(FRESH, tick=False):
        _sign_in_records("new-user")
    assert purge().login_records == 3
    for model in (AccessAttempt, AccessFailureLog, AccessLog):
        assert list(model.objects.values_list("username", flat=True)) == ["new-user"]
    assert AccessAttemptExpiration.objects.get().access_attempt.username == "new-user"


def test_expired_sessions_go(db):
    Session.objects.create(session_key="old", session_data="x", expire_date=FRESH)
    Session.objects.create(
        session_key="live", session_data="x", expire_date=PURGE + timedelta(hours=1)
    )
    assert purge().sessions == 1
    assert list(Session.objects.values_list("session_key", flat=True)) == ["live"]


def test_admin_log_entries_go_with_the_audit_period(staff_admin, settings):
    settings.RETENTION_AUDIT_DAYS = 30
    kind = ContentType.objects.get_for_model(LegalHold)
    for name, at in (("old", OLD), ("new", FRESH)):
        LogEntry.objects.create(
            user=staff_admin,
            content_type=kind,
            object_id="1",
            object_repr=name,
            action_flag=ADDITION,
            action_time=at,
        )
    assert purge().admin_log_entries == 1
    assert list(LogEntry.objects.values_list("object_repr", flat=True)) == ["new"]


def _hold(customer, staff_admin, reference: str, **fields) -> LegalHold:
    return LegalHold.objects.create(
        scope=LegalHold.Scope.CUSTOMER,
        customer=customer,
        reason="Litigation",
        reference=reference,
        placed_by=staff_admin,
        placed_at=OLD - timedelta(days=30),
        **fields,
    )


def test_ended_holds_go_after_their_period_active_ones_stay(customer, staff_admin, settings):
    settings.RETENTION_ENDED_HOLD_DAYS = 30
    _hold(customer, staff_admin, "lifted-long-ago", lifted_at=OLD, lifted_by=staff_admin)
    _hold(customer, staff_admin, "ended-long-ago", ends_on=date(2026, 1, 5))
    _hold(customer, staff_admin, "lifted-lately", lifted_at=FRESH, lifted_by=staff_admin)
    _hold(customer, staff_admin, "ended-lately", ends_on=date(2026, 5, 20))
    _hold(customer, staff_admin, "active")
    assert purge().ended_holds == 2
    assert sorted(LegalHold.objects.values_list("reference", flat=True)) == [
        "active",
        "ended-lately",
        "lifted-lately",
    ]


def test_tombstones_go_after_their_period_once_nothing_names_them(
    workspace, customer, member, staff_admin, settings
):
    settings.RETENTION_TOMBSTONE_DAYS = 60
    ids = make_runs(workspace, customer, 6, prefix="ts_")
    runs = {run.run_id: run for run in ParseRun.objects.filter(run_id__in=ids)}
    deleted, vanished = ParseRun.State.DELETED, ParseRun.State.VANISHED
    for run_id, state, deleted_at, seen in (
        (ids[0], deleted, OLD, OLD),  # goes
        (ids[1], vanished, None, OLD),  # goes
        (ids[2], deleted, FRESH, OLD),  # deleted lately: stays
        (ids[3], ParseRun.State.PRESENT, None, OLD),  # present: stays
        (ids[4], deleted, OLD, OLD),  # an ended hold's list names it: stays
    ):
        ParseRun.objects.filter(run_id=run_id).update(
            state=state, deleted_at=deleted_at, last_seen_at=seen, file_name="", metadata={}
        )
    _hold(customer, staff_admin, "on-the-run", lifted_at=FRESH).runs.add(runs[ids[4]])
    # Still named by an item of a request whose records are not purged yet: stays.
    named = submitted_request(workspace, customer, member, runs=1, prefix="named_")
    ParseRun.objects.filter(items__request=named).update(state=deleted, deleted_at=OLD)

    assert purge().tombstones == 2
    assert not ParseRun.objects.filter(run_id__in=ids[:2]).exists()
    assert ParseRun.objects.filter(run_id__in=ids[2:]).count() == 4
    assert ParseRun.objects.filter(items__request=named).exists()


def test_resolved_ownership_conflicts_go_after_the_request_period(
    workspace, customer, other_customer, member, settings
):
    settings.RETENTION_REQUEST_DAYS = 30
    req = submitted_request(workspace, customer, member, runs=2, prefix="oc_")
    first, second = ParseRun.objects.filter(items__request=req).order_by("id")
    for run, resolved in ((first, OLD), (second, None)):
        OwnershipConflict.objects.create(
            parse_run=run,
            request=req,
            current_customer=customer,
            observed_customer=other_customer,
            source=OwnershipConflict.Seen.SYNC,
            resolved_at=resolved,
        )
    assert purge().ownership_conflicts == 1
    assert OwnershipConflict.objects.get().parse_run == second


def test_revoked_tokens_go_after_their_period_active_ones_stay(member, settings):
    settings.RETENTION_REVOKED_TOKEN_DAYS = 30
    for name, revoked in (("revoked-long-ago", OLD), ("revoked-lately", FRESH), ("active", None)):
        token, _raw = ApiToken.issue(member, name=name, created_by=member)
        ApiToken.objects.filter(pk=token.pk).update(created_at=OLD, revoked_at=revoked)
    assert purge().revoked_tokens == 1
    assert sorted(ApiToken.objects.values_list("name", flat=True)) == ["active", "revoked-lately"]


def test_idle_rate_limit_slots_go(db):
    RateLimitSlot.objects.create(key="org:1:write", next_free=OLD.timestamp())
    RateLimitSlot.objects.create(key="org:1:get", next_free=FRESH.timestamp())
    assert purge().rate_limit_slots == 1
    assert list(RateLimitSlot.objects.values_list("key", flat=True)) == ["org:1:get"]


def test_the_purge_is_audited_with_every_count(workspace):
    WebhookEvent.objects.create(
        workspace=workspace, event_id="evt_old", event_type="parse_run.processed", received_at=OLD
    )
    result = purge()
    event = AuditEvent.objects.get(action="records.purged")
    assert event.detail == result.as_dict()
    assert event.detail["webhook_events"] == 1


def test_art_19_records_go_with_the_certificate_period(workspace, customer, member, settings):
    settings.RETENTION_CERTIFICATE_DAYS = 30
    recipient = Recipient.objects.create(customer=customer, name="Payroll Ltd", contact="p@x.io")
    old_req = submitted_request(workspace, customer, member, prefix="o_")
    new_req = submitted_request(workspace, customer, member, prefix="n_")
    for req, informed in ((old_req, OLD.date()), (new_req, FRESH.date())):
        RecipientNotice.objects.create(
            request=req,
            recipient=recipient,
            recipient_name=recipient.name,
            informed_on=informed,
            means="e-mail",
        )
    assert purge().recipient_notices == 1
    assert list(RecipientNotice.objects.values_list("request_id", flat=True)) == [new_req.pk]
    # The recipient stays on the customer's list.
    assert Recipient.objects.filter(pk=recipient.pk).exists()
