"""The server under concurrent load, its lifecycle, the control state and the command line."""

from __future__ import annotations

import io
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.core.management import load_command_class

from deletions.extend_client import Credentials, ExtendClient
from extend_simulator import Simulator, cli

from .conftest import API_KEY, ORG_KEY
from .receiver import WebhookReceiver


def test_it_serves_many_threads_with_added_latency_quickly(simulator):
    simulator.set_faults({"latency": {"distribution": "uniform", "mean_ms": 100, "jitter_ms": 20}})
    run_ids = simulator.run_ids()

    def work(chunk):
        with ExtendClient(Credentials(simulator.url, API_KEY)) as client:
            for run_id in chunk:
                client.get_parse_run(run_id)
                client.delete_parse_run(run_id)

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=20) as pool:
        list(pool.map(work, [run_ids[n::20] for n in range(20)]))
    elapsed = time.monotonic() - started

    assert len(simulator.ledger(status=200)) == 120
    assert 120 / elapsed > 50  # 120 calls of ~100 ms each, well above 50 per second
    assert set(simulator.successful_deletes().values()) == {1}
    assert len(simulator.successful_deletes()) == 60


def test_keep_alive_connections_are_reused(simulator):
    with requests.Session() as session:
        headers = {"Authorization": f"Bearer {API_KEY}", "x-extend-api-version": "2026-02-09"}
        for _ in range(5):
            assert session.get(simulator.url + "/parse_runs", headers=headers, timeout=5).ok

    assert simulator.connections_accepted == 1


def test_stop_cuts_open_connections():
    sim = Simulator(api_key=API_KEY, runs=3).start()
    session = requests.Session()
    headers = {"Authorization": f"Bearer {API_KEY}", "x-extend-api-version": "2026-02-09"}
    assert session.get(sim.url + "/parse_runs", headers=headers, timeout=5).ok

    sim.stop()

    with pytest.raises(requests.ConnectionError):
        session.get(sim.url + "/parse_runs", headers=headers, timeout=5)
    session.close()


def test_state_shows_key_hints_only(simulator):
    state = requests.get(simulator.url + "/_sim/state", timeout=5).json()

    assert API_KEY not in str(state) and ORG_KEY not in str(state)
    (org,) = state["organisations"]
    assert org["api_keys"] == [ORG_KEY[-4:]]
    assert org["workspaces"][0]["api_keys"] == [API_KEY[-4:]]
    assert org["workspaces"][0]["live_runs"] == 60
    assert state["rate_limits"]["org:org_simulated/WRITE"]["rate"] == 10_000


def test_runs_can_be_added_through_the_control_endpoint(simulator):
    answer = requests.post(
        simulator.url + "/_sim/runs",
        json={"count": 2, "runs": [{"file_name": "Kündigung.pdf", "customer": "globex"}]},
        timeout=5,
    )

    assert answer.status_code == 201
    added = answer.json()["runs"]
    assert len(added) == 3
    assert added[0]["file"]["name"] == "Kündigung.pdf"
    assert added[0]["metadata"]["customer_ref"] == "globex"
    assert simulator.run_ids(limit=3) == [run["id"] for run in reversed(added)]
    bad = requests.post(simulator.url + "/_sim/runs", json={"runs": [{"status": "X"}]}, timeout=5)
    assert bad.status_code == 400


def test_rate_limits_change_through_the_control_endpoint(simulator):
    answer = requests.post(
        simulator.url + "/_sim/rate-limits",
        json={"write_rate": 5, "write_burst": 2, "reset": True},
        timeout=5,
    )

    assert answer.json()["rate_limits"]["org:org_simulated/WRITE"] == {"rate": 5, "burst": 2}


def test_the_command_line_builds_the_described_simulator():
    parser = cli.argparse.ArgumentParser()
    cli.add_arguments(parser)
    options = vars(
        parser.parse_args(
            [
                "--api-key", "sk_test_cli_key_1234", "--seed-runs", "1000000",
                "--customers", "a,b", "--rate-limit", "25", "--burst", "50",
                "--org-api-key", "sk_test_cli_org_5678", "--latency-ms", "100",
                "--error-rate-503", "0.1", "--webhook-secret", "wss_cli",
            ]
        )
    )  # fmt: skip

    config = cli.config_from_options(options)

    (org,) = config.organisations
    assert org.get_rate == org.write_rate == 25 and org.get_burst == 50
    assert org.api_keys == ("sk_test_cli_org_5678",)
    assert org.workspaces[0].runs == 1_000_000
    assert org.workspaces[0].customers == ("a", "b")
    assert config.webhook_secret == "wss_cli"
    assert config.faults[0].error_rates == {503: 0.1}
    assert config.port == 8765


def test_the_command_line_runs_until_stopped():
    lines: list[str] = []
    stop = threading.Event()
    options = {"api_key": "sk_test_cli_key_1234", "port": 0, "seed_runs": 5}
    thread = threading.Thread(target=cli.run, args=(options, lines.append, stop))
    thread.start()
    deadline = time.monotonic() + 5
    while not any("Press Ctrl-C" in line for line in lines) and time.monotonic() < deadline:
        time.sleep(0.01)
    url = lines[0].rsplit(" ", 1)[-1]
    health = requests.get(url + "/_sim/health", timeout=5).json()
    stop.set()
    thread.join(5)

    assert health == {"ok": True}
    assert lines[-1] == "Extend simulator stopped."
    assert "sk_test_cli_key_1234" not in "\n".join(lines)


def test_the_management_command_documents_every_option():
    command = load_command_class("deletions", "extend_simulator")
    parser = command.create_parser("manage.py", "extend_simulator")
    out = io.StringIO()
    parser.print_help(out)
    text = out.getvalue()

    for option in ("--port", "--seed-runs", "--api-key", "--webhook-secret", "--customers",
                   "--rate-limit", "--latency-ms", "--error-rate-500", "--storm-seconds",
                   "--revoked", "--payment-required", "--drop-rate", "--slow-ms",
                   "--delete-not-found", "--send-webhook"):  # fmt: skip
        assert option in text


def test_the_command_line_sends_webhooks_once_up():
    lines: list[str] = []
    stop = threading.Event()
    with WebhookReceiver() as receiver:
        options = {
            "api_key": "sk_test_cli_key_1234",
            "port": 0,
            "seed_runs": 20,
            "send_webhook": receiver.url,
            "webhook_events": ["parse_run.processed", "parse_run.failed"],
            "webhook_duplicates": 1,
        }
        thread = threading.Thread(target=cli.run, args=(options, lines.append, stop))
        thread.start()
        received = receiver.wait(4)
        stop.set()
        thread.join(5)

    types = [json.loads(body)["eventType"] for body, _ in received]
    assert types == ["parse_run.processed"] * 2 + ["parse_run.failed"] * 2
    assert sum("webhook parse_run" in line for line in lines) == 4
