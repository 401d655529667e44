"""Files erased with their runs, through the same engine: deleted after the last run of the
request that uses them, kept while anything else needs them (a present run outside the request,
a hold), never marked gone on a 404 nothing proves, and each deleted once.

Against the simulator over real HTTP, with the runner in this process (the live worker's test
is in test_live_worker.py)."""

from __future__ import annotations

import pytest
from django.db.models import F

from deletions.engine import claim, gate
from deletions.models import (
    DeletionItem,
    DeletionRequest,
    FileAttempt,
    FileErasure,
    LegalHold,
    ParseRun,
    Source,
    Workspace,
)
from deletions.requests import files, holds
from deletions.workspaces import fence
from deletions.workspaces.extend_connection import client_for
from tests.engine.conftest import approve_and_start, run_until_settled
from tests.helpers import request_for

FS = FileErasure.Status
IS = DeletionItem.Status
RS = DeletionRequest.Status

pytestmark = [pytest.mark.django_db(transaction=True)]


def _runs(sim, workspace, customer, files: list[str | None], *, owner=None) -> list[str]:
    """One run per entry of *files* at the simulator (sharing the file when ids repeat; None:
    a file of its own) and in the inventory, with the file id a sync would record."""
    specs = [{} if file_id is None else {"file_id": file_id} for file_id in files]
    added = sim.add_runs(runs=specs)
    ParseRun.objects.bulk_create(
        ParseRun(
            workspace=workspace,
            customer=owner or customer,
            run_id=run["id"],
            file_id=(run.get("file") or {}).get("id", ""),
        )
        for run in added
    )
    return [run["id"] for run in added]


def _file_of(run_id: str) -> str:
    return ParseRun.objects.get(run_id=run_id).file_id


def _request(customer, requester, run_ids, *, erase_files=True, start=True) -> DeletionRequest:
    req = request_for(customer, requester, run_ids)
    DeletionRequest.objects.filter(pk=req.pk).update(erase_files=erase_files)
    req.refresh_from_db()
    return approve_and_start(req) if start else req


def _runs_already_deleted(req: DeletionRequest, workspace: Workspace) -> None:
    """Delete *req*'s runs at Extend and record them deleted, as the engine's run stage would
    have, leaving the files their turn (released, due now)."""
    items = DeletionItem.objects.filter(request=req).select_related("parse_run")
    with client_for(workspace) as client:
        for item in items:
            client.delete_parse_run(item.parse_run.run_id)
    ParseRun.objects.filter(items__request=req).update(state=ParseRun.State.DELETED)
    count = items.update(status=IS.DELETED, next_attempt_at=None)
    DeletionRequest.objects.filter(pk=req.pk).update(deleted_count=count)
    assert files.release_if_runs_done(req.pk) == FileErasure.objects.filter(request=req).count()


def _erasures(req: DeletionRequest) -> dict[str, FileErasure]:
    return {e.file_id: e for e in FileErasure.objects.filter(request=req)}


def test_a_request_erases_files_only_its_runs_use_after_them_and_keeps_a_shared_one(
    sim, sim_workspace, engine_customer, requester, engine_cfg
):
    run_ids = _runs(
        sim, sim_workspace, engine_customer, ["file_two_runs", "file_two_runs", None, "file_shared"]
    )
    (outside,) = _runs(sim, sim_workspace, engine_customer, ["file_shared"])
    own_file = _file_of(run_ids[2])
    req = _request(engine_customer, requester, run_ids)

    run_until_settled(sim_workspace, engine_cfg)

    req.refresh_from_db()
    assert req.status == RS.COMPLETED
    assert req.deleted_count == 4
    assert all(sim.is_deleted(run_id) for run_id in run_ids)
    assert not sim.is_deleted(outside)
    erasures = _erasures(req)
    assert set(erasures) == {"file_two_runs", own_file, "file_shared"}
    assert erasures["file_two_runs"].run_count == 2
    for file_id in ("file_two_runs", own_file):
        erasure = erasures[file_id]
        assert erasure.status == FS.DELETED
        assert erasure.last_request_id.startswith("req_")
        assert erasure.confirmed_at is not None
        assert sim.is_file_deleted(file_id)
        # ... and a GET (its own budget) then found it gone: verified, as a run is.
        assert erasure.verified_at is not None
        verify = FileAttempt.objects.get(item=erasure, kind=FileAttempt.Kind.VERIFY)
        assert (verify.http_status, verify.outcome) == (404, "confirmed_gone")
    shared = erasures["file_shared"]
    assert (shared.status, shared.kept_reason, shared.used_outside) == (
        FS.KEPT,
        FileErasure.KeptReason.SHARED,
        1,
    )
    assert shared.kept_why == "Still used by 1 run not in this request"
    assert sim.get_file("file_shared") is not None
    # Each erased file: one DELETE, after the DELETEs of every run of the request using it, and
    # its record written before it left; the kept one was never sent.
    assert sim.successful_file_deletes() == {"file_two_runs": 1, own_file: 1}
    file_calls = [e for e in sim.ledger(method="DELETE") if e.resource == "files"]
    assert {e.file_id for e in file_calls} == {"file_two_runs", own_file}
    last_run_delete = max(e.time for e in sim.ledger(method="DELETE") if e.resource == "parse_runs")
    assert min(e.time for e in file_calls) > last_run_delete
    recorded = FileAttempt.objects.filter(item__request=req, kind=FileAttempt.Kind.DELETE)
    assert sorted(recorded.values_list("item__file_id", flat=True)) == sorted(
        e.file_id for e in file_calls
    )


def test_a_request_without_files_never_calls_the_files_endpoint(
    sim, sim_workspace, engine_customer, requester, engine_cfg
):
    run_ids = _runs(sim, sim_workspace, engine_customer, [None, None])
    req = _request(engine_customer, requester, run_ids, erase_files=False)

    run_until_settled(sim_workspace, engine_cfg)

    req.refresh_from_db()
    assert req.status == RS.COMPLETED
    assert not FileErasure.objects.filter(request=req).exists()
    assert [e for e in sim.ledger() if e.resource == "files"] == []
    assert all(sim.get_file(_file_of(run_id)) is not None for run_id in run_ids)


def test_a_hold_on_one_run_keeps_its_file_and_the_rest_go(
    sim, sim_workspace, engine_customer, requester, engine_cfg, staff_admin
):
    run_ids = _runs(sim, sim_workspace, engine_customer, ["file_held", "file_held", None])
    free_file = _file_of(run_ids[2])
    req = _request(engine_customer, requester, run_ids, start=False)
    holds.place_hold(
        scope=LegalHold.Scope.RUNS,
        customer=engine_customer,
        runs=ParseRun.objects.filter(run_id=run_ids[0]),
        reason="Litigation",
        reference="LIT-7",
        actor=staff_admin,
        source=Source.WEB,
    )
    req = approve_and_start(req)

    run_until_settled(sim_workspace, engine_cfg)

    req.refresh_from_db()
    assert req.status == RS.COMPLETED
    assert (req.deleted_count, req.held_count) == (2, 1)
    erasures = _erasures(req)
    held = erasures["file_held"]
    assert (held.status, held.kept_reason) == (FS.KEPT, FileErasure.KeptReason.RUN_HELD)
    assert sim.get_file("file_held") is not None
    assert erasures[free_file].status == FS.DELETED
    assert sim.successful_file_deletes() == {free_file: 1}


def test_a_hold_placed_after_the_runs_went_still_keeps_their_file(
    sim, sim_workspace, engine_customer, requester, engine_cfg, staff_admin
):
    """The gate asks again right before the file's DELETE: a customer hold placed once the
    runs are deleted binds the file at once."""
    run_ids = _runs(sim, sim_workspace, engine_customer, [None])
    file_id = _file_of(run_ids[0])
    req = _request(engine_customer, requester, run_ids)
    _runs_already_deleted(req, sim_workspace)
    (claimed,) = claim.claim_items(
        sim_workspace.pk, sim_workspace.credentials_version, engine_cfg, limit=5, model=FileErasure
    )
    holds.place_hold(
        scope=LegalHold.Scope.CUSTOMER,
        customer=engine_customer,
        reason="Regulator inquiry",
        reference="REG-2",
        actor=staff_admin,
        source=Source.WEB,
    )

    verdict = gate.check(claimed)

    assert verdict == gate.Refused(gate.HELD)
    erasure = FileErasure.objects.get(pk=claimed.pk)
    assert (erasure.status, erasure.kept_reason) == (FS.KEPT, FileErasure.KeptReason.RUN_HELD)
    assert not FileAttempt.objects.filter(item=erasure).exists()
    assert sim.get_file(file_id) is not None


def test_a_file_delete_answered_by_a_wrong_base_url_marks_nothing(
    sim, sim_workspace, engine_customer, requester, engine_cfg
):
    """The runs are deleted through the right URL; then the URL goes wrong before the files'
    turn. Every file DELETE answers 404: evidence, not proof. The probe finds a run the
    inventory knows present answering 404 too, the workspace stops, nothing is marked gone."""
    run_ids = _runs(sim, sim_workspace, engine_customer, [None, None, None])
    _runs(sim, sim_workspace, engine_customer, [None])  # a present run the probe may ask about
    req = _request(engine_customer, requester, run_ids)
    _runs_already_deleted(req, sim_workspace)
    assert all(sim.is_deleted(run_id) for run_id in run_ids)
    with fence.closed([sim_workspace.pk]):
        Workspace.objects.filter(pk=sim_workspace.pk).update(
            base_url=sim_workspace.base_url + "/wrong-path",
            credentials_version=F("credentials_version") + 1,
        )

    summary = run_until_settled(sim_workspace, engine_cfg)

    workspace = Workspace.objects.get(pk=sim_workspace.pk)
    assert workspace.health == Workspace.Health.NOT_FOUND_BURST, summary
    erasures = FileErasure.objects.filter(request=req)
    assert erasures.count() == 3
    assert not erasures.filter(status__in=[FS.DELETED, FS.ALREADY_GONE]).exists()
    assert all(sim.get_file(e.file_id) is not None for e in erasures)
    req.refresh_from_db()
    assert req.status == RS.RUNNING
    assert sim.successful_file_deletes() == {}


def test_a_file_gone_behind_our_back_is_already_gone_once_the_workspace_is_proven_healthy(
    sim, sim_workspace, engine_customer, requester, engine_cfg
):
    run_ids = _runs(sim, sim_workspace, engine_customer, [None, None])
    _runs(sim, sim_workspace, engine_customer, [None])  # present: the probe's proof
    gone_file, kept_file = _file_of(run_ids[0]), _file_of(run_ids[1])
    req = _request(engine_customer, requester, run_ids)
    # Someone deletes the first file at Extend before the portal's turn.
    with client_for(sim_workspace) as client:
        client.delete_file(gone_file)
    sim.reset_ledger()

    run_until_settled(sim_workspace, engine_cfg)

    req.refresh_from_db()
    assert req.status == RS.COMPLETED
    erasures = _erasures(req)
    assert erasures[gone_file].status == FS.ALREADY_GONE
    assert erasures[kept_file].status == FS.DELETED
    assert sim.successful_file_deletes() == {kept_file: 1}


def test_a_failed_run_keeps_its_file(sim, sim_workspace, engine_customer, requester, engine_cfg):
    run_ids = _runs(sim, sim_workspace, engine_customer, [None, None])
    req = _request(engine_customer, requester, run_ids)
    bad_run, good_run = run_ids
    # The first run's item fails, as Extend's 400 would make it fail.
    DeletionItem.objects.filter(request=req, parse_run__run_id=bad_run).update(
        status=IS.FAILED, next_attempt_at=None
    )
    DeletionRequest.objects.filter(pk=req.pk).update(failed_count=F("failed_count") + 1)

    run_until_settled(sim_workspace, engine_cfg)

    req.refresh_from_db()
    assert req.status == RS.COMPLETED_WITH_FAILURES
    erasures = _erasures(req)
    kept = erasures[_file_of(bad_run)]
    assert (kept.status, kept.kept_reason) == (FS.KEPT, FileErasure.KeptReason.RUN_NOT_DELETED)
    assert erasures[_file_of(good_run)].status == FS.DELETED
    assert sim.get_file(_file_of(bad_run)) is not None


@pytest.mark.parametrize("body", ["html", "empty", "other_id"])
def test_a_file_delete_success_that_is_not_extends_answer_marks_nothing(
    sim, sim_workspace, engine_customer, requester, engine_cfg, body
):
    run_ids = _runs(sim, sim_workspace, engine_customer, [None, None])
    req = _request(engine_customer, requester, run_ids)
    _runs_already_deleted(req, sim_workspace)
    sim.set_faults({"delete_success_body": body, "scope": {"path_prefix": "/files"}})

    run_until_settled(sim_workspace, engine_cfg)

    sim_workspace.refresh_from_db()
    assert sim_workspace.health == Workspace.Health.UNEXPECTED_ANSWERS
    erasures = FileErasure.objects.filter(request=req)
    assert set(erasures.values_list("status", flat=True)) == {FS.PENDING}
    assert set(FileAttempt.objects.filter(item__request=req).values_list("outcome", flat=True)) == {
        "unexpected_answer"
    }


def test_transient_errors_and_a_rate_limit_on_files_are_retried_and_end_deleted_once(
    sim, sim_workspace, engine_customer, requester, fast_settings
):
    from deletions.engine.config import EngineSettings

    fast_settings.MAX_DELETE_ATTEMPTS = 20  # chance must not use up a file's attempts
    run_ids = _runs(sim, sim_workspace, engine_customer, [None, None, None])
    req = _request(engine_customer, requester, run_ids)
    _runs_already_deleted(req, sim_workspace)
    sim.set_faults(
        {
            "error_rates": {"500": 0.3, "429": 0.2},
            "drop_rate": 0.2,
            "scope": {"path_prefix": "/files", "methods": ["DELETE"]},
        }
    )

    run_until_settled(sim_workspace, EngineSettings.current(), rounds=80)

    req.refresh_from_db()
    assert req.status == RS.COMPLETED
    file_ids = {_file_of(run_id) for run_id in run_ids}
    assert sim.successful_file_deletes() == dict.fromkeys(file_ids, 1)
    assert set(FileErasure.objects.filter(request=req).values_list("status", flat=True)) == {
        FS.DELETED
    }


def test_a_paused_request_sends_no_file_delete(
    sim, sim_workspace, engine_customer, requester, engine_cfg, staff_admin
):
    from deletions.requests import transitions

    run_ids = _runs(sim, sim_workspace, engine_customer, [None])
    req = _request(engine_customer, requester, run_ids)
    _runs_already_deleted(req, sim_workspace)
    (claimed,) = claim.claim_items(
        sim_workspace.pk, sim_workspace.credentials_version, engine_cfg, limit=5, model=FileErasure
    )
    transitions.pause_request(req, actor=staff_admin, source=Source.WEB)

    assert gate.check(claimed) == gate.Refused(gate.REQUEST_NOT_RUNNING)
    erasure = FileErasure.objects.get(pk=claimed.pk)
    assert (erasure.status, erasure.attempts) == (FS.PENDING, 0)
    assert not FileAttempt.objects.filter(item=erasure).exists()
    run_until_settled(sim_workspace, engine_cfg)
    assert [e for e in sim.ledger() if e.resource == "files"] == []


def test_files_extend_removed_with_their_runs_are_already_gone_without_stopping_the_workspace(
    sim, sim_workspace, engine_customer, requester, engine_cfg
):
    """Extend may remove a run's file with the run (undocumented). Then every file DELETE of a
    request answers 404 on a healthy workspace: more of them than the burst threshold must not
    stop it; the probe proves it healthy and the files are already gone (not deleted by us)."""
    count = engine_cfg.not_found_burst * 2
    run_ids = _runs(sim, sim_workspace, engine_customer, [None] * count)
    _runs(sim, sim_workspace, engine_customer, [None])  # present: the probe's proof
    req = _request(engine_customer, requester, run_ids)
    _runs_already_deleted(req, sim_workspace)
    with client_for(sim_workspace) as client:
        for run_id in run_ids:
            client.delete_file(_file_of(run_id))

    run_until_settled(sim_workspace, engine_cfg)

    sim_workspace.refresh_from_db()
    assert sim_workspace.health == Workspace.Health.ACTIVE
    req.refresh_from_db()
    assert req.status == RS.COMPLETED
    assert set(FileErasure.objects.filter(request=req).values_list("status", flat=True)) == {
        FS.ALREADY_GONE
    }
