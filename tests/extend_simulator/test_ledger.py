"""The ledger: every call as Extend would have seen it, and never a whole key."""

from __future__ import annotations

import time

import requests

from extend_simulator.ledger import max_in_window

from .conftest import API_KEY, MAIN_WS, ORG_KEY

HEADERS = {"Authorization": f"Bearer {API_KEY}", "x-extend-api-version": "2026-02-09"}


def test_it_records_each_call_without_the_key(simulator):
    run_id = simulator.run_ids()[0]
    before = time.time()
    answer = requests.delete(f"{simulator.url}/parse_runs/{run_id}", headers=HEADERS, timeout=5)

    (entry,) = simulator.ledger()

    assert entry.method == "DELETE"
    assert entry.path == f"/parse_runs/{run_id}"
    assert entry.run_id == run_id
    assert entry.status == 200
    assert entry.applied is True
    assert entry.key_last4 == API_KEY[-4:]
    assert entry.version_header == "2026-02-09"
    assert entry.workspace_header is None
    assert entry.workspace_id == MAIN_WS
    assert entry.org_id == "org_simulated"
    assert entry.category == "WRITE"
    assert entry.request_id == answer.headers["x-extend-request-id"]
    assert before <= entry.time <= time.time()
    assert API_KEY not in repr(entry.to_dict())


def test_it_records_the_workspace_header_and_refusals(simulator):
    headers = {**HEADERS, "Authorization": f"Bearer {ORG_KEY}"}
    requests.get(simulator.url + "/parse_runs", headers=headers, timeout=5)
    headers["x-extend-workspace-id"] = MAIN_WS
    requests.get(simulator.url + "/parse_runs", headers=headers, timeout=5)
    requests.get(simulator.url + "/parse_runs", timeout=5)

    entries = simulator.ledger()

    assert [(e.status, e.workspace_header, e.key_last4) for e in entries] == [
        (400, None, ORG_KEY[-4:]),
        (200, MAIN_WS, ORG_KEY[-4:]),
        (401, None, None),
    ]


def test_control_calls_are_not_recorded(simulator):
    requests.get(simulator.url + "/_sim/state", timeout=5)
    requests.get(simulator.url + "/_sim/ledger", timeout=5)

    assert simulator.ledger() == []


def test_the_control_endpoint_filters_by_time_method_and_status(simulator):
    run_ids = simulator.run_ids()[:2]
    requests.get(simulator.url + "/parse_runs", headers=HEADERS, timeout=5)
    middle = time.time()
    for run_id in run_ids * 2:
        requests.delete(f"{simulator.url}/parse_runs/{run_id}", headers=HEADERS, timeout=5)

    def ledger(**params):
        return requests.get(simulator.url + "/_sim/ledger", params=params, timeout=5).json()

    assert ledger()["count"] == 5
    assert ledger(since=middle)["count"] == 4
    assert ledger(method="delete", status=404)["count"] == 2
    assert ledger(run_id=run_ids[0])["count"] == 2
    assert ledger(limit=1)["entries"][0]["status"] == 404
    deletes = requests.get(simulator.url + "/_sim/deletes", timeout=5).json()
    assert deletes == {
        "successful_deletes": {run_ids[0]: 1, run_ids[1]: 1},
        "successful_file_deletes": {},
    }
    summary = requests.get(simulator.url + "/_sim/ledger/summary", timeout=5).json()
    assert summary["runs_deleted_more_than_once"] == []
    assert summary["by_method_status"] == {"GET 200": 1, "DELETE 200": 2, "DELETE 404": 2}

    assert requests.post(simulator.url + "/_sim/reset-ledger", timeout=5).status_code == 200
    assert ledger()["count"] == 0
    assert simulator.successful_deletes() == {}


def test_it_counts_deletes_of_runs_added_with_custom_ids(simulator):
    (added,) = simulator.add_runs(runs=[{"id": "pr_twice"}])
    requests.delete(f"{simulator.url}/parse_runs/pr_twice", headers=HEADERS, timeout=5)

    assert simulator.successful_deletes() == {added["id"]: 1}


def test_peak_rate_uses_a_sliding_window():
    assert max_in_window([0.0, 0.5, 0.99, 1.0, 1.2, 1.98], 1.0) == 4
    assert max_in_window([], 1.0) == 0
    assert max_in_window([0.0, 1.0, 2.0], 1.0) == 1
