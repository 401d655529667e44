"""Fault injection: set at start or at run time, scoped, and deterministic for a seed."""

from __future__ import annotations

import random
import statistics
import time

import pytest
import requests

from extend_simulator import Simulator
from extend_simulator.cli import fault_rules
from extend_simulator.faults import CallInfo, FaultInjector, FaultRule, Latency

from .conftest import API_KEY, OTHER_KEY, OTHER_WS

HEADERS = {"Authorization": f"Bearer {API_KEY}", "x-extend-api-version": "2026-02-09"}


def get(sim, path="/parse_runs", headers=HEADERS):
    return requests.get(sim.url + path, headers=headers, timeout=5)


def delete(sim, run_id, headers=HEADERS):
    return requests.delete(f"{sim.url}/parse_runs/{run_id}", headers=headers, timeout=5)


def test_error_rates_follow_their_share_and_the_seed():
    def statuses(seed):
        injector = FaultInjector(seed=seed)
        injector.set_rules([FaultRule.from_dict({"error_rates": {"500": 0.2, "503": 0.1}})])
        call = CallInfo("DELETE", "/parse_runs/x", "a1b2", "ws")
        return [injector.decide(call).error_status for _ in range(2000)]

    first = statuses(7)

    assert first == statuses(7)
    assert 320 <= first.count(500) <= 480
    assert 120 <= first.count(503) <= 240


def test_latency_distributions():
    rng = random.Random(1)
    uniform = [Latency("uniform", 100, 20).sample(rng) for _ in range(500)]
    normal = [Latency("normal", 100, 10).sample(rng) for _ in range(2000)]

    assert Latency("fixed", 50).sample(rng) == 0.05
    assert all(0.08 <= value <= 0.12 for value in uniform)
    assert statistics.mean(normal) == pytest.approx(0.1, abs=0.002)
    assert statistics.stdev(normal) == pytest.approx(0.01, abs=0.002)
    assert Latency("normal", 1, 100).sample(rng) >= 0


def test_added_latency_delays_answers(simulator):
    simulator.set_faults({"latency": {"distribution": "fixed", "mean_ms": 150}})

    started = time.monotonic()
    assert get(simulator).status_code == 200

    assert time.monotonic() - started >= 0.15


def test_storm_for_a_duration_then_recovery(simulator):
    simulator.set_faults({"storm_seconds": 0.3, "storm_retry_after": 2})

    during = get(simulator)
    time.sleep(0.35)
    after = get(simulator)

    assert during.status_code == 429
    assert during.headers["Retry-After"] == "2"
    assert during.json()["code"] == "RATE_LIMIT_EXCEEDED"
    assert after.status_code == 200
    assert simulator.ledger(status=429)[0].fault == "storm"


def test_storm_as_a_fraction_of_calls(simulator):
    simulator.set_faults({"storm_fraction": 1.0})

    assert get(simulator).status_code == 429


def test_revoked_key_is_401_for_that_key_only(simulator):
    simulator.set_faults({"revoked": True, "scope": {"key_last4": API_KEY[-4:]}})
    other = {**HEADERS, "Authorization": f"Bearer {OTHER_KEY}"}

    revoked = get(simulator)

    assert revoked.status_code == 401
    assert revoked.json()["code"] == "UNAUTHORIZED"
    assert get(simulator, headers=other).status_code == 200


def test_payment_required_is_402_usage_blocked(simulator):
    simulator.set_faults({"payment_required": True, "scope": {"methods": ["DELETE"]}})

    blocked = delete(simulator, simulator.run_ids()[0])

    assert blocked.status_code == 402
    assert blocked.json()["code"] == "USAGE_BLOCKED"
    assert get(simulator).status_code == 200
    assert simulator.successful_deletes() == {}


def test_every_delete_answers_404_when_the_workspace_is_misconfigured(simulator):
    simulator.set_faults({"delete_not_found": True})
    run_ids = simulator.run_ids()[:3]

    codes = [delete(simulator, run_id).status_code for run_id in run_ids]

    assert codes == [404, 404, 404]
    assert not any(simulator.is_deleted(run_id) for run_id in run_ids)
    assert {entry.fault for entry in simulator.ledger(method="DELETE")} == {"delete_not_found"}
    assert get(simulator, f"/parse_runs/{run_ids[0]}").status_code == 200


def test_faults_can_be_scoped_to_a_workspace(simulator):
    simulator.set_faults({"error_rates": {"503": 1.0}, "scope": {"workspace_id": OTHER_WS}})
    other = {**HEADERS, "Authorization": f"Bearer {OTHER_KEY}"}

    assert get(simulator, headers=other).status_code == 503
    assert get(simulator).status_code == 200


def test_injected_errors_never_apply_the_call(simulator):
    simulator.set_faults({"error_rates": {"500": 1.0}})
    run_id = simulator.run_ids()[0]

    answer = delete(simulator, run_id)

    assert answer.status_code == 500
    assert answer.json()["code"] == "INTERNAL_ERROR"
    assert answer.json()["retryable"] is True
    assert not simulator.is_deleted(run_id)


def test_gateway_errors_have_html_bodies_by_default(simulator):
    simulator.set_faults({"error_rates": {"502": 1.0}})

    answer = get(simulator)

    assert answer.status_code == 502
    assert answer.headers["Content-Type"].startswith("text/html")
    assert "x-extend-request-id" not in answer.headers


def test_dropped_answer_cuts_the_connection_after_the_delete(simulator):
    simulator.set_faults({"drop_rate": 1.0, "scope": {"methods": ["DELETE"]}})
    run_id = simulator.run_ids()[0]

    with pytest.raises(requests.ConnectionError):
        delete(simulator, run_id)

    assert simulator.is_deleted(run_id)
    (entry,) = simulator.ledger(method="DELETE")
    assert entry.status is None and entry.applied and entry.fault == "drop"


def test_faults_change_at_run_time_through_the_control_endpoint(simulator):
    url = simulator.url + "/_sim/faults"

    set_answer = requests.post(url, json={"error_rates": {"500": 1.0}}, timeout=5)
    assert set_answer.status_code == 200
    assert get(simulator).status_code == 500
    requests.post(url + "?mode=add", json={"latency_ms": 10}, timeout=5)
    assert len(requests.get(url, timeout=5).json()["rules"]) == 2
    requests.delete(url, timeout=5)

    assert requests.get(url, timeout=5).json()["rules"] == []
    assert get(simulator).status_code == 200
    bad = requests.post(url, json={"error_rates": {"500": 3}}, timeout=5)
    assert bad.status_code == 400
    unknown = requests.post(url, json={"explode": True}, timeout=5)
    assert unknown.status_code == 400


def test_faults_from_command_line_options():
    rules = fault_rules(
        {
            "latency_ms": 100,
            "latency_jitter_ms": 20,
            "latency_distribution": "normal",
            "error_rate_500": 0.1,
            "error_rate": ["422=0.05"],
            "drop_rate": 0.01,
            "fault_methods": ("DELETE",),
        }
    )

    (rule,) = rules
    assert rule.latency == Latency("normal", 100, 20)
    assert rule.error_rates == {500: 0.1, 422: 0.05}
    assert rule.drop_rate == 0.01
    assert rule.scope.methods == ("DELETE",)
    assert fault_rules({}) == []


def test_a_simulator_starts_with_faults_from_its_config():
    rule = FaultRule.from_dict({"revoked": True})
    with Simulator(api_key=API_KEY, runs=3, faults=[rule]) as sim:
        assert get(sim).status_code == 401
