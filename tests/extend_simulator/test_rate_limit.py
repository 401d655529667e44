"""Rate limits: per organisation and category, token buckets, 429 with Retry-After."""

from __future__ import annotations

import time

import requests

from extend_simulator import OrganisationSpec, Simulator, SimulatorConfig, WorkspaceSpec
from extend_simulator.ratelimit import RateLimiter, category_of

KEY_A = "sk_test_rate_workspace_a_1111"
KEY_B = "sk_test_rate_workspace_b_2222"
VERSION_HEADERS = {"x-extend-api-version": "2026-02-09"}


def two_workspace_org(rate=5.0, **org_options):
    return SimulatorConfig(
        organisations=[
            OrganisationSpec(
                id="org_rate",
                workspaces=[
                    WorkspaceSpec("ws_a", runs=30, api_keys=(KEY_A,)),
                    WorkspaceSpec("ws_b", runs=30, api_keys=(KEY_B,)),
                ],
                get_rate=rate,
                write_rate=rate,
                **org_options,
            )
        ]
    )


def get(sim, path, key=KEY_A, session=requests):
    headers = {"Authorization": f"Bearer {key}", **VERSION_HEADERS}
    return session.get(sim.url + path, headers=headers, timeout=5)


def delete(sim, run_id, key=KEY_A, session=requests):
    headers = {"Authorization": f"Bearer {key}", **VERSION_HEADERS}
    return session.delete(f"{sim.url}/parse_runs/{run_id}", headers=headers, timeout=5)


def test_a_burst_above_the_limit_gets_429_with_retry_after():
    with Simulator(two_workspace_org(rate=5)) as sim, requests.Session() as session:
        run_ids = sim.run_ids("ws_a")
        statuses = [delete(sim, run_id, session=session) for run_id in run_ids[:12]]

    codes = [response.status_code for response in statuses]
    assert codes[:5] == [200] * 5
    assert codes.count(429) >= 6
    refused = statuses[codes.index(429)]
    assert refused.headers["Retry-After"] == "1"
    body = refused.json()
    assert set(body) == {"code", "message", "retryable", "requestId"}
    assert body["code"] == "RATE_LIMIT_EXCEEDED"
    assert body["retryable"] is True
    assert body["requestId"] == refused.headers["x-extend-request-id"]
    assert sum(sim.successful_deletes().values()) == codes.count(200)


def test_sustained_load_at_the_limit_gets_no_429():
    with Simulator(two_workspace_org(rate=20)) as sim, requests.Session() as session:
        run_id = sim.run_ids("ws_a")[0]
        started = time.monotonic()
        codes = []
        for n in range(30):
            # Pace at exactly the limit, whatever each call took.
            time.sleep(max(0.0, started + n / 20 - time.monotonic()))
            codes.append(get(sim, f"/parse_runs/{run_id}", session=session).status_code)

    assert codes == [200] * 30


def test_get_and_write_have_separate_buckets():
    with Simulator(two_workspace_org(rate=2)) as sim:
        run_ids = sim.run_ids("ws_a")
        assert [delete(sim, r).status_code for r in run_ids[:3]] == [200, 200, 429]

        assert get(sim, f"/parse_runs/{run_ids[5]}").status_code == 200


def test_workspaces_of_one_organisation_share_its_limit():
    with Simulator(two_workspace_org(rate=3)) as sim:
        codes = [get(sim, "/parse_runs", key=key).status_code for key in (KEY_A, KEY_B) * 2]

    assert codes == [200, 200, 200, 429]


def test_a_workspace_limit_lower_than_the_organisations_applies():
    config = two_workspace_org(rate=50)
    config.organisations[0].workspaces[1].get_rate = 2
    with Simulator(config) as sim:
        b = [get(sim, "/parse_runs", key=KEY_B).status_code for _ in range(3)]
        a = [get(sim, "/parse_runs", key=KEY_A).status_code for _ in range(3)]

    assert b == [200, 200, 429]
    assert a == [200, 200, 200]


def test_limits_change_at_run_time():
    with Simulator(two_workspace_org(rate=100)) as sim:
        sim.set_rate_limit(get_rate=1, get_burst=1)
        codes = [get(sim, "/parse_runs").status_code for _ in range(2)]
        sim.set_rate_limit(get_rate=100)
        sim.reset_rate_limits()
        after = get(sim, "/parse_runs").status_code

    assert codes == [200, 429]
    assert after == 200


def test_retry_after_is_whole_seconds_until_a_token_and_at_least_one():
    now = [0.0]
    limiter = RateLimiter(clock=lambda: now[0])
    limiter.configure("org:x", "WRITE", rate=0.25, burst=1)

    assert limiter.acquire(["org:x"], "WRITE") is None
    assert limiter.acquire(["org:x"], "WRITE") == 4
    now[0] = 3.5
    assert limiter.acquire(["org:x"], "WRITE") == 1
    now[0] = 4.0
    assert limiter.acquire(["org:x"], "WRITE") is None


def test_a_refused_call_takes_no_token_from_any_bucket():
    now = [0.0]
    limiter = RateLimiter(clock=lambda: now[0])
    limiter.configure("org:x", "GET", rate=10, burst=10)
    limiter.configure("ws:y", "GET", rate=1, burst=1)

    assert limiter.acquire(["org:x", "ws:y"], "GET") is None
    assert all(limiter.acquire(["org:x", "ws:y"], "GET") == 1 for _ in range(20))
    assert all(limiter.acquire(["org:x"], "GET") is None for _ in range(9))


def test_delete_is_a_write_and_get_is_a_get():
    assert category_of("DELETE") == "WRITE"
    assert category_of("POST") == "WRITE"
    assert category_of("GET") == "GET"


def test_organisations_have_their_own_limits_and_workspaces():
    config = two_workspace_org(rate=1)
    config.organisations.append(
        OrganisationSpec(
            id="org_second",
            workspaces=[WorkspaceSpec("ws_c", runs=5, api_keys=("sk_test_rate_second_3333",))],
            api_keys=("sk_test_rate_second_org_4444",),
            get_rate=1,
            write_rate=1,
        )
    )
    with Simulator(config) as sim:
        first = [get(sim, "/parse_runs", key=KEY_A).status_code for _ in range(2)]
        second = get(sim, "/parse_runs", key="sk_test_rate_second_3333").status_code
        headers = {
            "Authorization": "Bearer sk_test_rate_second_org_4444",
            "x-extend-workspace-id": "ws_a",
            **VERSION_HEADERS,
        }
        foreign = requests.get(sim.url + "/parse_runs", headers=headers, timeout=5)

    assert first == [200, 429]
    assert second == 200
    assert foreign.status_code == 403
