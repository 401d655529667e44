"""Seeded data: deterministic, realistic, and lazy enough for a million runs."""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime

import requests

from extend_simulator import Simulator
from extend_simulator.ids import IdCodec
from extend_simulator.runs import STATUSES

KEY = "sk_test_data_key_0042"
HEADERS = {"Authorization": f"Bearer {KEY}", "x-extend-api-version": "2026-02-09"}
FILE_TYPES = {"PDF", "CSV", "IMG", "TXT", "DOCX", "EXCEL", "XML", "HTML"}


def first_page(sim, **params):
    params.setdefault("limit", 100)
    answer = requests.get(sim.url + "/parse_runs", headers=HEADERS, params=params, timeout=10)
    assert answer.status_code == 200
    return answer.json()


def test_the_same_seed_gives_the_same_runs():
    with (
        Simulator(api_key=KEY, runs=300, seed=5) as one,
        Simulator(api_key=KEY, runs=300, seed=5) as two,
    ):
        assert first_page(one) == first_page(two)
    with Simulator(api_key=KEY, runs=300, seed=6) as three:
        other = first_page(three)
    assert {run["id"] for run in other["data"]}.isdisjoint(run["id"] for run in first_page_of(5))


def first_page_of(seed):
    with Simulator(api_key=KEY, runs=300, seed=seed) as sim:
        return first_page(sim)["data"]


def test_runs_look_like_an_extend_account():
    customers = ("acme", "globex", "initech")
    with Simulator(api_key=KEY, runs=2000, customers=customers) as sim:
        runs = sim.runs()

    statuses = Counter(run["status"] for run in runs)
    assert set(statuses) <= set(STATUSES)
    assert statuses["PROCESSED"] > 0.8 * len(runs)
    assert 0.03 * len(runs) < statuses["FAILED"] < 0.12 * len(runs)
    assert all(
        run["failureReason"] and run["failureMessage"] for run in runs if run["status"] == "FAILED"
    )
    assert all("metrics" in run for run in runs if run["status"] == "PROCESSED")
    # Newest first; in-flight runs only among the newest.
    created = [datetime.fromisoformat(run["createdAt"].replace("Z", "+00:00")) for run in runs]
    assert created == sorted(created, reverse=True)
    assert (created[0] - created[-1]).days > 300
    in_flight = [i for i, run in enumerate(runs) if run["status"] in ("PENDING", "PROCESSING")]
    assert in_flight and max(in_flight) < 40
    files = [run["file"] for run in runs if run["file"]]
    assert {file["type"] for file in files} == FILE_TYPES
    assert any(not file["name"].isascii() for file in files)
    by_customer = Counter((run.get("metadata") or {}).get("customer_ref") for run in runs)
    assert set(by_customer) == {*customers, None}
    assert by_customer["acme"] > by_customer["globex"] > by_customer["initech"]
    assert by_customer[None] < 0.05 * len(runs)
    sources = Counter(run["_source"] for run in runs)
    assert {"API", "STUDIO", "WORKFLOW_RUN", "BATCH_PARSER_RUN"} <= set(sources)


def test_seeded_batches_share_a_customer_and_are_filterable():
    with Simulator(api_key=KEY, runs=2000) as sim:
        runs = sim.runs()
        batch_id = next(run["batchId"] for run in runs if run.get("batchId"))
        in_batch = [run for run in runs if run.get("batchId") == batch_id]

        listed = first_page(sim, batchId=batch_id)
        by_source_id = first_page(sim, sourceId=batch_id)

    assert [run["id"] for run in listed["data"]] == [run["id"] for run in in_batch]
    assert by_source_id["data"] == listed["data"]
    assert len({(run.get("metadata") or {}).get("customer_ref") for run in in_batch} - {None}) == 1


def test_a_million_runs_list_their_first_and_last_pages_quickly():
    started = time.monotonic()
    with Simulator(api_key=KEY, runs=1_000_000) as sim:
        built = time.monotonic() - started

        started = time.monotonic()
        first = first_page(sim)
        first_time = time.monotonic() - started

        token = sim.page_token(before=100)
        started = time.monotonic()
        last = first_page(sim, nextPageToken=token)
        last_time = time.monotonic() - started

        oldest = last["data"][-1]["id"]
        assert requests.delete(f"{sim.url}/parse_runs/{oldest}", headers=HEADERS, timeout=5).ok
        assert sim.is_deleted(oldest)
        store = sim.app.store

    assert built < 1.0 and first_time < 2.0 and last_time < 2.0
    assert len(first["data"]) == 100 and first["nextPageToken"]
    assert len(last["data"]) == 100 and last["nextPageToken"] is None
    assert first["data"][0]["createdAt"] > last["data"][0]["createdAt"]
    # Nothing was materialised: only the one deletion is stored.
    assert len(store.deleted) == 1 and store.workspaces[0].added == []


def test_ids_decode_only_for_their_own_codec():
    codec = IdCodec(seed=1, prefix="pr_")
    run_id = codec.encode(3, 999_999)

    assert codec.decode(run_id) == (3, 999_999)
    assert len(run_id) == 25
    assert IdCodec(seed=2, prefix="pr_").decode(run_id) is None
    assert codec.decode(run_id[:-1] + ("A" if run_id[-1] != "A" else "B")) is None
    assert codec.decode("pr_xK9mLPqRtN3vS8wF5hB2cQ") is None
    assert codec.decode("pr_!!!") is None


def test_the_customer_metadata_key_is_configurable():
    with Simulator(api_key=KEY, runs=50, customer_metadata_key="tenant") as sim:
        runs = first_page(sim)["data"]

    assert all("tenant" in run["metadata"] for run in runs if "metadata" in run)
