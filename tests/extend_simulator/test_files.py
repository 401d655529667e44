"""The simulator answers the file endpoints as EXTEND_API.md ("Files") describes, over HTTP."""

from __future__ import annotations

from collections import Counter

import pytest
import requests

from extend_simulator import Simulator, SimulatorConfig
from extend_simulator.cli import config_from_options

from .conftest import API_KEY, MAIN_WS, ORG_KEY, OTHER_KEY, OTHER_WS

VERSION = "2026-02-09"


def call(sim, method, path, key=API_KEY, workspace=None, **params):
    headers = {"Authorization": f"Bearer {key}", "x-extend-api-version": VERSION}
    if workspace:
        headers["x-extend-workspace-id"] = workspace
    return requests.request(method, sim.url + path, headers=headers, params=params, timeout=5)


def list_files(sim, **params):
    files, token, pages = [], None, 0
    while True:
        query = dict(params, **({"nextPageToken": token} if token else {}))
        answer = call(sim, "GET", "/files", **query)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["object"] == "list"
        files += body["data"]
        pages += 1
        token = body["nextPageToken"]
        if not token:
            return files, pages


def run_with_file(sim, **filters):
    return next(run for run in sim.runs(**filters) if run["file"])


# -- reading a file ----------------------------------------------------------------------------


def test_a_runs_file_can_be_fetched_by_its_id(simulator):
    run = run_with_file(simulator)

    answer = call(simulator, "GET", f"/files/{run['file']['id']}")

    assert answer.status_code == 200
    assert answer.headers["x-extend-request-id"].startswith("req_")
    body = answer.json()
    url = body.pop("presignedUrl")
    assert body == run["file"]
    assert set(body) >= {"object", "id", "name", "metadata", "createdAt", "updatedAt"}
    assert body["object"] == "file" and body["id"].startswith("file_")
    assert requests.get(url, timeout=5).json()["id"] == body["id"]


def test_an_unknown_file_is_404_in_extends_error_shape(simulator):
    answer = call(simulator, "GET", "/files/file_nope")

    assert answer.status_code == 404
    body = answer.json()
    assert set(body) == {"code", "message", "retryable", "requestId"}
    assert body["code"] == "NOT_FOUND"
    assert body["retryable"] is False
    assert body["requestId"] == answer.headers["x-extend-request-id"]
    assert "file_nope" in body["message"]


def test_a_file_of_another_workspace_is_404(simulator):
    file_id = simulator.file_ids()[0]

    assert call(simulator, "GET", f"/files/{file_id}", key=OTHER_KEY).status_code == 404
    assert call(simulator, "DELETE", f"/files/{file_id}", key=OTHER_KEY).status_code == 404
    elsewhere = call(simulator, "GET", f"/files/{file_id}", key=ORG_KEY, workspace=OTHER_WS)
    assert elsewhere.json()["code"] == "NOT_FOUND"
    assert call(simulator, "GET", f"/files/{file_id}", key=ORG_KEY, workspace=MAIN_WS).ok
    assert simulator.get_file(file_id) is not None


def test_an_organisation_key_needs_the_workspace_header_for_files(simulator):
    assert call(simulator, "GET", "/files", key=ORG_KEY).status_code == 400
    other = call(simulator, "GET", "/files", key=ORG_KEY, workspace=OTHER_WS, maxPageSize=100)

    assert {file["id"] for file in other.json()["data"]} == set(simulator.file_ids(OTHER_WS))


def test_only_get_and_delete_are_routed(simulator):
    file_id = simulator.file_ids()[0]

    assert call(simulator, "POST", f"/files/{file_id}").status_code == 405
    assert call(simulator, "DELETE", "/files").status_code == 405
    assert call(simulator, "GET", f"/files/{file_id}/content").status_code == 404


# -- deleting a file ---------------------------------------------------------------------------


def test_delete_answers_the_id_then_the_file_is_gone(simulator):
    file_id = simulator.file_ids()[4]

    answer = call(simulator, "DELETE", f"/files/{file_id}")

    assert answer.status_code == 200
    assert answer.json() == {"id": file_id}
    assert answer.headers["x-extend-request-id"].startswith("req_")
    assert call(simulator, "GET", f"/files/{file_id}").status_code == 404
    again = call(simulator, "DELETE", f"/files/{file_id}")
    assert again.status_code == 404
    assert again.json()["code"] == "NOT_FOUND"
    assert file_id not in {file["id"] for file in list_files(simulator)[0]}
    assert simulator.is_file_deleted(file_id)
    assert simulator.successful_file_deletes() == {file_id: 1}
    assert simulator.successful_deletes() == {}


def test_deleting_a_file_leaves_the_runs_that_processed_it(simulator):
    run = run_with_file(simulator, status="PROCESSED")
    file_id = run["file"]["id"]

    assert call(simulator, "DELETE", f"/files/{file_id}").status_code == 200

    after = call(simulator, "GET", f"/parse_runs/{run['id']}")
    assert after.status_code == 200
    # The run keeps its output and still names the file it processed.
    assert after.json()["output"]["chunks"]
    assert after.json()["file"] == run["file"]
    listed = call(simulator, "GET", "/parse_runs", maxPageSize=100).json()["data"]
    assert next(r for r in listed if r["id"] == run["id"])["file"]["id"] == file_id
    assert not simulator.is_deleted(run["id"])


def test_deleting_a_run_leaves_its_file(simulator):
    run = run_with_file(simulator)
    file_id = run["file"]["id"]

    assert call(simulator, "DELETE", f"/parse_runs/{run['id']}").status_code == 200

    assert call(simulator, "GET", f"/files/{file_id}").status_code == 200
    assert file_id in {file["id"] for file in list_files(simulator)[0]}
    assert simulator.successful_file_deletes() == {}


def test_a_presigned_url_stops_answering_once_its_file_is_deleted(simulator):
    file_id = simulator.file_ids()[0]
    url = call(simulator, "GET", f"/files/{file_id}").json()["presignedUrl"]
    assert requests.get(url, timeout=5).status_code == 200

    call(simulator, "DELETE", f"/files/{file_id}")

    assert requests.get(url, timeout=5).status_code == 403


# -- listing files -----------------------------------------------------------------------------


def test_the_list_pages_through_every_file_newest_first(simulator):
    files, pages = list_files(simulator, maxPageSize=7)
    run_files = {run["file"]["id"]: run["file"] for run in simulator.runs() if run["file"]}

    assert pages == -(-len(run_files) // 7)
    assert [file["id"] for file in files] == simulator.file_ids()
    assert {file["id"]: file for file in files} == run_files
    assert files == sorted(files, key=lambda file: file["createdAt"], reverse=True)


def test_the_list_sorts_ascending_and_filters_by_name(simulator):
    newest_first, _ = list_files(simulator)
    oldest_first, _ = list_files(simulator, sortDir="asc", maxPageSize=9)
    needle = newest_first[0]["name"][:4].swapcase()
    named, _ = list_files(simulator, nameContains=needle, limit=3)

    assert oldest_first == list(reversed(newest_first))
    assert named == [f for f in newest_first if needle.casefold() in f["name"].casefold()]
    assert named


def test_the_list_default_and_maximum_page_sizes(simulator):
    simulator.add_runs(count=60)

    assert len(call(simulator, "GET", "/files").json()["data"]) == 25
    assert len(call(simulator, "GET", "/files", maxPageSize=500).json()["data"]) == 100
    assert call(simulator, "GET", "/files", maxPageSize=0).status_code == 400


def test_the_list_refuses_bad_sort_directions_and_foreign_tokens(simulator):
    run_token = call(simulator, "GET", "/parse_runs", limit=5).json()["nextPageToken"]
    file_token = call(simulator, "GET", "/files", limit=5).json()["nextPageToken"]

    assert call(simulator, "GET", "/files", sortDir="sideways").status_code == 400
    assert call(simulator, "GET", "/files", nextPageToken=run_token).status_code == 400
    assert call(simulator, "GET", "/parse_runs", nextPageToken=file_token).status_code == 400
    ascending = call(simulator, "GET", "/files", nextPageToken=file_token, sortDir="asc")
    assert ascending.status_code == 400
    elsewhere = call(simulator, "GET", "/files", nextPageToken=file_token, key=OTHER_KEY)
    assert elsewhere.json()["code"] == "INVALID_REQUEST"


def test_a_deleted_file_leaves_the_list_and_paging_stays_whole(simulator):
    before = simulator.file_ids()
    gone = before[3:6]
    for file_id in gone:
        assert call(simulator, "DELETE", f"/files/{file_id}").ok

    files, _ = list_files(simulator, maxPageSize=4)

    assert [file["id"] for file in files] == [f for f in before if f not in gone]


# -- files shared by several runs --------------------------------------------------------------


def test_without_sharing_every_run_has_a_file_of_its_own(simulator):
    users = simulator.runs_by_file()

    assert simulator.shared_files() == {}
    assert sorted(users) == sorted(simulator.file_ids())


def test_seeding_can_share_files_between_runs():
    with Simulator(api_key=API_KEY, runs=2000, shared_file_every=10, shared_file_runs=3) as sim:
        runs = {run["id"]: run for run in sim.runs()}
        shared = sim.shared_files()
        file_ids = sim.file_ids()
        users = sim.runs_by_file()

    sizes = Counter(len(ids) for ids in shared.values())
    assert set(sizes) <= {2, 3} and sizes[3] > 150
    assert len(file_ids) == len(users) == len(set(file_ids))
    for file_id, run_ids in shared.items():
        # Every run of a shared file shows the same file, pages included.
        shown = [runs[run_id]["file"] for run_id in run_ids]
        assert all(file == shown[0] for file in shown) and shown[0]["id"] == file_id
        pages = {runs[r]["metrics"]["pageCount"] for r in run_ids if "metrics" in runs[r]}
        assert pages <= {shown[0]["metadata"]["pageCount"]}
        assert all(runs[r]["createdAt"] >= shown[0]["createdAt"] for r in run_ids)
    customers = [
        {(runs[r].get("metadata") or {}).get("customer_ref") for r in ids}
        for ids in shared.values()
    ]
    assert any(len(group) == 1 for group in customers)
    assert any(len(group) > 1 for group in customers)


def test_a_shared_file_deleted_once_leaves_every_run_that_used_it():
    with Simulator(api_key=API_KEY, runs=40, shared_file_every=4) as sim:
        file_id, run_ids = next(iter(sim.shared_files().items()))

        assert call(sim, "DELETE", f"/files/{file_id}").json() == {"id": file_id}

        assert all(call(sim, "GET", f"/parse_runs/{r}").json()["file"]["id"] for r in run_ids)
        assert sim.runs_by_file()[file_id] == run_ids
        assert sim.successful_file_deletes() == {file_id: 1}


def test_an_id_the_sharing_run_would_have_had_is_not_a_file():
    with Simulator(api_key=API_KEY, runs=40, shared_file_every=4, seed=2) as sim:
        _, run_ids = next(iter(sim.shared_files().items()))
        workspace, index = sim.app.store.resolve(run_ids[0])
        never_issued = sim.app.store.seeded_runs.file_ids.encode(workspace, index)

        assert call(sim, "GET", f"/files/{never_issued}").status_code == 404


def test_sharing_is_a_command_line_option_and_is_validated():
    config = config_from_options(
        {"api_key": API_KEY, "shared_file_every": 5, "shared_file_runs": 3}
    )

    assert (config.shared_file_every, config.shared_file_runs) == (5, 3)
    for every, size in ((1, 2), (4, 5), (4, 1), (-2, 2)):
        with pytest.raises(ValueError, match="shared_file"):
            SimulatorConfig.single(
                api_key=API_KEY, shared_file_every=every, shared_file_runs=size
            ).validate()


def test_added_runs_can_share_a_file_or_bring_their_own(simulator):
    seeded_file = simulator.file_ids()[0]

    shared, custom, again, null = simulator.add_runs(
        runs=[
            {"file_id": seeded_file},
            {"file_id": "file_custom_scan", "file_name": "Scan.PNG", "page_count": 2},
            {"file_id": "file_custom_scan"},
            {"file_id": None},
        ]
    )

    assert shared["file"] == simulator.get_file(seeded_file)
    assert custom["file"]["id"] == again["file"]["id"] == "file_custom_scan"
    assert custom["file"]["type"] == "IMG" and custom["file"]["metadata"]["pageCount"] == 2
    assert null["file"] is None
    assert simulator.runs_by_file()["file_custom_scan"] == [again["id"], custom["id"]]
    assert call(simulator, "GET", "/files/file_custom_scan").json()["name"] == "Scan.PNG"
    assert call(simulator, "DELETE", "/files/file_custom_scan").json() == {"id": "file_custom_scan"}
    assert call(simulator, "GET", "/files/file_custom_scan").status_code == 404
    assert simulator.successful_file_deletes() == {"file_custom_scan": 1}


def test_adding_runs_refuses_files_that_cannot_be_used(simulator):
    deleted = simulator.file_ids()[0]
    call(simulator, "DELETE", f"/files/{deleted}")
    other = simulator.file_ids(OTHER_WS)[0]
    live = simulator.file_ids()[0]

    def add(spec):
        return requests.post(simulator.url + "/_sim/runs", json={"runs": [spec]}, timeout=5)

    assert "deleted" in add({"file_id": deleted}).json()["error"]
    assert "another workspace" in add({"file_id": other}).json()["error"]
    assert add({"file_id": live, "file_name": "x.pdf"}).status_code == 400
    made_up = simulator.app.store.seeded_runs.file_ids.encode(0, 10_000)
    assert "unknown file" in add({"file_id": made_up}).json()["error"]
    added = add({"fileId": live})
    assert added.status_code == 201
    assert added.json()["runs"][0]["file"]["id"] == live


def test_the_control_surface_lists_runs_by_file_and_counts_deleted_files(simulator):
    file_id = simulator.file_ids()[0]
    call(simulator, "DELETE", f"/files/{file_id}")

    users = requests.get(simulator.url + "/_sim/files", timeout=5).json()["files"]
    state = requests.get(simulator.url + "/_sim/state", timeout=5).json()

    assert users == simulator.runs_by_file()
    assert file_id in users
    assert state["organisations"][0]["workspaces"][0]["deleted_files"] == 1


# -- faults, limits and the ledger -------------------------------------------------------------


def test_faults_can_aim_at_file_calls_only(simulator):
    simulator.set_faults({"error_rates": {"503": 1.0}, "scope": {"path_prefix": "/files"}})

    assert call(simulator, "GET", "/files").status_code == 503
    assert call(simulator, "GET", f"/files/{simulator.file_ids()[0]}").status_code == 503
    assert call(simulator, "GET", "/parse_runs").status_code == 200


def test_injected_errors_on_a_file_delete_delete_nothing(simulator):
    simulator.set_faults({"error_rates": {"500": 1.0}, "error_body": "json"})
    file_id = simulator.file_ids()[0]

    answer = call(simulator, "DELETE", f"/files/{file_id}")

    assert answer.status_code == 500
    assert answer.json()["retryable"] is True
    assert not simulator.is_file_deleted(file_id)
    assert simulator.successful_file_deletes() == {}


def test_a_misconfigured_workspace_answers_404_to_every_file_delete(simulator):
    simulator.set_faults({"delete_not_found": True})
    file_id = simulator.file_ids()[0]

    answer = call(simulator, "DELETE", f"/files/{file_id}")

    assert answer.status_code == 404
    assert answer.json()["code"] == "NOT_FOUND"
    assert not simulator.is_file_deleted(file_id)
    (entry,) = simulator.ledger(resource="files")
    assert entry.fault == "delete_not_found" and entry.applied is False


@pytest.mark.parametrize(
    ("kind", "status", "body"),
    [
        ("other_id", 200, '{"id": "<id>_other"}'),
        ("ignored", 200, '{"id": "<id>"}'),
        ("empty", 204, ""),
    ],
)
def test_foreign_successes_on_a_file_delete_delete_nothing(simulator, kind, status, body):
    simulator.set_faults({"delete_success_body": kind, "scope": {"path_prefix": "/files"}})
    file_id = simulator.file_ids()[0]

    answer = call(simulator, "DELETE", f"/files/{file_id}")

    assert (answer.status_code, answer.text) == (status, body.replace("<id>", file_id))
    assert call(simulator, "GET", f"/files/{file_id}").status_code == 200
    assert simulator.successful_file_deletes() == {}


def test_a_dropped_answer_still_deletes_the_file(simulator):
    simulator.set_faults({"drop_rate": 1.0, "scope": {"methods": ["DELETE"]}})
    file_id = simulator.file_ids()[0]

    with pytest.raises(requests.ConnectionError):
        call(simulator, "DELETE", f"/files/{file_id}")

    assert simulator.is_file_deleted(file_id)
    (entry,) = simulator.ledger(method="DELETE", resource="files")
    assert (entry.status, entry.applied, entry.fault) == (None, True, "drop")
    assert simulator.successful_file_deletes() == {file_id: 1}


def test_a_storm_refuses_file_calls_with_retry_after(simulator):
    simulator.set_faults({"storm_fraction": 1.0, "storm_retry_after": 3})

    refused = call(simulator, "DELETE", f"/files/{simulator.file_ids()[0]}")

    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "3"
    assert refused.json()["code"] == "RATE_LIMIT_EXCEEDED"


def test_a_file_delete_spends_the_organisations_write_budget():
    with Simulator(api_key=API_KEY, runs=10, rate_limit=1000, write_rate_limit=0.001) as sim:
        run_id = sim.run_ids()[0]
        file_id = sim.file_ids()[-1]

        first = call(sim, "DELETE", f"/parse_runs/{run_id}")
        refused = call(sim, "DELETE", f"/files/{file_id}")
        reads = [call(sim, "GET", "/files"), call(sim, "GET", f"/files/{file_id}")]

        entries = sim.ledger(resource="files")

    assert first.status_code == 200
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert [answer.status_code for answer in reads] == [200, 200]
    assert [(e.method, e.category) for e in entries] == [
        ("DELETE", "WRITE"),
        ("GET", "GET"),
        ("GET", "GET"),
    ]


def test_the_ledger_tells_file_calls_apart(simulator):
    run = run_with_file(simulator)
    file_id = run["file"]["id"]
    call(simulator, "GET", f"/files/{file_id}")
    call(simulator, "DELETE", f"/files/{file_id}")
    call(simulator, "DELETE", f"/files/{file_id}")
    call(simulator, "DELETE", f"/parse_runs/{run['id']}")

    deletes = simulator.ledger(method="DELETE", resource="files", file_id=file_id)

    assert [(e.status, e.applied) for e in deletes] == [(200, True), (404, False)]
    assert all(e.run_id is None and e.path == f"/files/{file_id}" for e in deletes)
    assert [e.resource for e in simulator.ledger()] == ["files"] * 3 + ["parse_runs"]
    assert simulator.ledger(resource="parse_runs")[0].file_id is None
    assert simulator.successful_file_deletes() == {file_id: 1}
    assert simulator.successful_deletes() == {run["id"]: 1}

    def control(path, **params):
        return requests.get(simulator.url + path, params=params, timeout=5).json()

    assert control("/_sim/ledger", resource="files", method="DELETE")["count"] == 2
    assert control("/_sim/ledger", file_id=file_id, status=200)["count"] == 2
    assert control("/_sim/deletes") == {
        "successful_deletes": {run["id"]: 1},
        "successful_file_deletes": {file_id: 1},
    }
    summary = control("/_sim/ledger/summary")
    assert summary["deleted_files"] == 1
    assert summary["files_deleted_more_than_once"] == []
