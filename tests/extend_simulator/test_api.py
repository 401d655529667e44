"""The simulator answers the parse-run endpoints as EXTEND_API.md describes."""

from __future__ import annotations

import requests

from .conftest import API_KEY, MAIN_WS, ORG_KEY, OTHER_KEY, OTHER_WS

VERSION = "2026-02-09"


def call(sim, method, path, key=API_KEY, version=VERSION, workspace=None, **params):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    if version:
        headers["x-extend-api-version"] = version
    if workspace:
        headers["x-extend-workspace-id"] = workspace
    return requests.request(method, sim.url + path, headers=headers, params=params, timeout=5)


def list_ids(sim, **params):
    ids, token = [], None
    while True:
        query = dict(params, **({"nextPageToken": token} if token else {}))
        body = call(sim, "GET", "/parse_runs", **query).json()
        ids += [run["id"] for run in body["data"]]
        token = body["nextPageToken"]
        if not token:
            return ids


def test_every_answer_carries_a_request_id(simulator):
    ok = call(simulator, "GET", "/parse_runs")
    missing = call(simulator, "GET", "/parse_runs/pr_nope")

    assert ok.headers["x-extend-request-id"].startswith("req_")
    assert missing.json()["requestId"] == missing.headers["x-extend-request-id"]
    assert ok.headers["x-extend-request-id"] != missing.headers["x-extend-request-id"]


def test_missing_version_header_is_400(simulator):
    response = call(simulator, "GET", "/parse_runs", version=None)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "INVALID_REQUEST"
    assert body["retryable"] is False
    assert "x-extend-api-version" in body["message"]


def test_unknown_version_is_400(simulator):
    assert call(simulator, "GET", "/parse_runs", version="2019-01-01").status_code == 400


def test_missing_malformed_or_unknown_keys_are_401(simulator):
    assert call(simulator, "GET", "/parse_runs", key=None).status_code == 401
    assert call(simulator, "GET", "/parse_runs", key="sk_test_unknown_key_0000").status_code == 401
    basic = requests.get(
        simulator.url + "/parse_runs",
        headers={"Authorization": f"Basic {API_KEY}", "x-extend-api-version": VERSION},
        timeout=5,
    )
    assert basic.status_code == 401
    assert basic.json()["code"] == "UNAUTHORIZED"


def test_organisation_key_without_workspace_header_is_400(simulator):
    response = call(simulator, "GET", "/parse_runs", key=ORG_KEY)

    assert response.status_code == 400
    assert "x-extend-workspace-id" in response.json()["message"]


def test_organisation_key_with_workspace_header_reaches_that_workspace(simulator):
    main = call(simulator, "GET", "/parse_runs", key=ORG_KEY, workspace=MAIN_WS, limit=100)
    other = call(simulator, "GET", "/parse_runs", key=ORG_KEY, workspace=OTHER_WS, limit=100)

    assert len(main.json()["data"]) == 60
    assert len(other.json()["data"]) == 10


def test_organisation_key_with_unknown_workspace_is_403(simulator):
    response = call(simulator, "GET", "/parse_runs", key=ORG_KEY, workspace="ws_elsewhere")

    assert response.status_code == 403
    assert response.json()["code"] == "FORBIDDEN"


def test_workspace_key_may_send_its_own_workspace_but_no_other(simulator):
    assert call(simulator, "GET", "/parse_runs", workspace=MAIN_WS).status_code == 200
    assert call(simulator, "GET", "/parse_runs", workspace=OTHER_WS).status_code == 403


def test_another_workspaces_run_is_404(simulator):
    other_run = simulator.run_ids(OTHER_WS)[0]

    assert call(simulator, "GET", f"/parse_runs/{other_run}").status_code == 404
    assert call(simulator, "DELETE", f"/parse_runs/{other_run}").status_code == 404
    assert call(simulator, "GET", f"/parse_runs/{other_run}", key=OTHER_KEY).status_code == 200
    assert not simulator.is_deleted(other_run)


def test_delete_then_get_is_404_and_list_no_longer_shows_it(simulator):
    run_id = simulator.run_ids()[10]

    deleted = call(simulator, "DELETE", f"/parse_runs/{run_id}")
    again = call(simulator, "DELETE", f"/parse_runs/{run_id}")

    assert deleted.status_code == 200
    assert deleted.json() == {"id": run_id}
    assert again.status_code == 404
    assert again.json()["code"] == "NOT_FOUND"
    assert call(simulator, "GET", f"/parse_runs/{run_id}").status_code == 404
    remaining = list_ids(simulator, limit=100)
    assert run_id not in remaining
    assert len(remaining) == 59


def test_unknown_ids_and_routes_are_404(simulator):
    assert call(simulator, "GET", "/parse_runs/pr_xK9mLPqRtN3vS8wF5hB2cQ").status_code == 404
    assert call(simulator, "GET", "/parse_runs/" + "x" * 255).status_code == 404
    assert call(simulator, "GET", "/extract_runs").status_code == 404
    assert call(simulator, "POST", "/parse_runs/pr_x").status_code == 405


def test_page_size_defaults_to_25_and_is_capped_at_100(simulator):
    simulator.add_runs(count=60)

    def size(**params):
        return len(call(simulator, "GET", "/parse_runs", **params).json()["data"])

    assert size() == 25
    assert size(maxPageSize=7) == 7
    assert size(limit=9) == 9
    assert size(limit=5, maxPageSize=50) == 5
    assert size(limit=500) == 100
    assert call(simulator, "GET", "/parse_runs", limit=0).status_code == 400
    assert call(simulator, "GET", "/parse_runs", maxPageSize="many").status_code == 400


def test_page_tokens_are_opaque_stable_and_survive_deletions(simulator):
    first = call(simulator, "GET", "/parse_runs", limit=10).json()
    token = first["nextPageToken"]
    again = call(simulator, "GET", "/parse_runs", limit=10).json()
    assert again["nextPageToken"] == token
    assert "pr_" not in token and ":" in token

    # Deleting a run already listed must not shift the next page.
    call(simulator, "DELETE", f"/parse_runs/{first['data'][0]['id']}")
    second = call(simulator, "GET", "/parse_runs", limit=10, nextPageToken=token).json()

    assert second["data"][0]["id"] == simulator.run_ids()[9]
    assert not {run["id"] for run in second["data"]} & {run["id"] for run in first["data"]}


def test_forged_or_foreign_page_tokens_are_400(simulator):
    token = call(simulator, "GET", "/parse_runs", limit=10).json()["nextPageToken"]
    head, tail = token.split(":")

    forged = head[:-4] + ("AAAA" if head[-4:] != "AAAA" else "BBBB") + ":" + tail
    assert call(simulator, "GET", "/parse_runs", nextPageToken=forged).status_code == 400
    assert call(simulator, "GET", "/parse_runs", nextPageToken="garbage").status_code == 400
    # A token is bound to its filters and its workspace.
    refiltered = call(simulator, "GET", "/parse_runs", nextPageToken=token, status="FAILED")
    assert refiltered.status_code == 400
    other = call(simulator, "GET", "/parse_runs", key=OTHER_KEY, nextPageToken=token)
    assert other.status_code == 400


def test_filters_by_status_and_file_name(simulator):
    all_runs = simulator.runs()

    failed = list_ids(simulator, status="FAILED")
    pdfs = list_ids(simulator, fileNameContains="PDF")

    assert failed == [r["id"] for r in all_runs if r["status"] == "FAILED"]
    assert pdfs == [r["id"] for r in all_runs if r["file"] and "pdf" in r["file"]["name"].lower()]
    assert call(simulator, "GET", "/parse_runs", status="DONE").status_code == 400


def test_filters_by_batch_source_and_source_id(simulator):
    simulator.add_runs(
        runs=[
            {"batch_id": "bpar_custom1", "source": "BATCH_PARSER_RUN", "source_id": "bpar_custom1"},
            {"batch_id": "bpar_custom1", "source": "BATCH_PARSER_RUN", "source_id": "bpar_custom1"},
            {"source": "WORKFLOW_RUN", "source_id": "workflow_run_custom"},
            {"source": "STUDIO"},
        ]
    )
    added = simulator.run_ids(limit=4)

    assert list_ids(simulator, batchId="bpar_custom1") == added[2:]
    assert list_ids(simulator, sourceId="workflow_run_custom") == [added[1]]
    studio = list_ids(simulator, source="STUDIO")
    assert added[0] in studio
    assert all(run["_source"] == "STUDIO" for run in simulator.runs(source="STUDIO"))
    assert [run["id"] for run in simulator.runs(source="STUDIO")] == studio
    # batchId wins over source (Extend's documented precedence).
    assert list_ids(simulator, batchId="bpar_custom1", source="API") == added[2:]
    assert call(simulator, "GET", "/parse_runs", source="FAX").status_code == 400


def test_retrieve_with_response_type_url_serves_the_output(simulator):
    run_id = simulator.run_ids(status="PROCESSED")[0]

    body = call(simulator, "GET", f"/parse_runs/{run_id}", responseType="url").json()

    assert "output" not in body
    output = requests.get(body["outputUrl"], timeout=5).json()
    assert output["chunks"][0]["type"] == "page"
    assert call(simulator, "GET", f"/parse_runs/{run_id}", responseType="xml").status_code == 400
