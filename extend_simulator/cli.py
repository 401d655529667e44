"""Command-line options of ``python -m extend_simulator`` and ``manage.py extend_simulator``."""

from __future__ import annotations

import argparse
import json
import signal
import threading
from collections.abc import Callable, Mapping
from typing import Any

from .config import (
    DEFAULT_API_VERSION,
    DEFAULT_CUSTOMERS,
    DEFAULT_WEBHOOK_SECRET,
    SimulatorConfig,
)
from .faults import DISTRIBUTIONS, FaultRule
from .server import Simulator


def _csv(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare every option (documented in ``--help``)."""
    server = parser.add_argument_group("server")
    server.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    server.add_argument("--port", type=int, default=8765, help="port, 0 for any free (8765)")

    account = parser.add_argument_group("account and data")
    account.add_argument(
        "--api-key", required=True, help="workspace-scoped API key of the main workspace"
    )
    account.add_argument("--seed-runs", type=int, default=100, help="runs in the main workspace")
    account.add_argument("--seed", type=int, default=0, help="seed of the generated data (0)")
    account.add_argument(
        "--customers",
        type=_csv,
        default=DEFAULT_CUSTOMERS,
        help="comma-separated customer references spread over the runs' metadata",
    )
    account.add_argument(
        "--customer-key",
        default="customer_ref",
        help="metadata key holding the customer reference (customer_ref)",
    )
    account.add_argument(
        "--untagged-rate",
        type=float,
        default=0.02,
        help="share of runs created without metadata (0.02)",
    )
    account.add_argument("--workspace-id", default="ws_simulated_main", help="main workspace id")
    account.add_argument("--organisation-id", default="org_simulated", help="organisation id")
    account.add_argument(
        "--org-api-key",
        help="also accept this organisation-scoped key (needs the workspace header)",
    )
    account.add_argument(
        "--shared-file-every",
        type=int,
        default=0,
        metavar="N",
        help="in every N seeded runs, the last --shared-file-runs share one file (0: off)",
    )
    account.add_argument(
        "--shared-file-runs", type=int, default=2, help="runs sharing each shared file (2)"
    )
    account.add_argument(
        "--other-workspace-id", default="ws_simulated_other", help="a second workspace's id"
    )
    account.add_argument(
        "--other-workspace-runs", type=int, default=10, help="runs in the second workspace (10)"
    )
    account.add_argument("--other-workspace-api-key", help="workspace key of the second workspace")
    account.add_argument(
        "--api-version",
        action="append",
        dest="api_versions",
        help=f"accepted x-extend-api-version (repeatable; default {DEFAULT_API_VERSION})",
    )
    account.add_argument(
        "--webhook-secret",
        default=DEFAULT_WEBHOOK_SECRET,
        help="webhook signing secret (wss_...)",
    )

    limits = parser.add_argument_group("rate limits (per organisation, per category)")
    limits.add_argument(
        "--rate-limit", type=float, default=10.0, help="requests/s for GET and WRITE (10)"
    )
    limits.add_argument("--write-rate-limit", type=float, help="requests/s for WRITE (DELETE)")
    limits.add_argument("--burst", type=float, help="bucket size (default: one second's worth)")

    faults = parser.add_argument_group("faults (changeable at run time: POST /_sim/faults)")
    faults.add_argument("--latency-ms", type=float, default=0.0, help="added latency, mean (ms)")
    faults.add_argument("--latency-jitter-ms", type=float, default=0.0, help="jitter or sd (ms)")
    faults.add_argument(
        "--latency-distribution", choices=DISTRIBUTIONS, default="fixed", help="(fixed)"
    )
    for status in (500, 502, 503):
        faults.add_argument(
            f"--error-rate-{status}",
            type=float,
            default=0.0,
            help=f"share of calls answered {status}",
        )
    faults.add_argument(
        "--error-rate",
        action="append",
        default=[],
        metavar="STATUS=SHARE",
        help="share of calls answered with any status, e.g. 422=0.1 (repeatable)",
    )
    faults.add_argument(
        "--error-body",
        choices=("auto", "json", "html", "text", "empty"),
        default="auto",
        help="body of injected errors (auto: HTML for 502-504, else Extend's JSON)",
    )
    faults.add_argument("--storm-seconds", type=float, default=0.0, help="429 to all for N s")
    faults.add_argument("--storm-fraction", type=float, default=0.0, help="share of calls 429")
    faults.add_argument("--storm-retry-after", type=int, default=1, help="Retry-After of storms")
    faults.add_argument("--revoked", action="store_true", help="answer 401: the key is revoked")
    faults.add_argument("--payment-required", action="store_true", help="answer 402 USAGE_BLOCKED")
    faults.add_argument(
        "--delete-not-found",
        action="store_true",
        help="every DELETE answers 404 (a misconfigured workspace)",
    )
    faults.add_argument(
        "--drop-rate",
        type=float,
        default=0.0,
        help="share of calls carried out whose answer is lost (connection closed)",
    )
    faults.add_argument(
        "--slow-rate", type=float, default=0.0, help="share of calls answered after --slow-ms"
    )
    faults.add_argument("--slow-ms", type=float, default=0.0, help="delay of slow answers (ms)")
    faults.add_argument(
        "--fault-methods", type=_csv, default=(), help="limit these faults to methods, e.g. DELETE"
    )
    faults.add_argument("--fault-workspace", help="limit these faults to one workspace id")
    faults.add_argument("--fault-key-last4", help="limit these faults to keys ending like this")
    faults.add_argument(
        "--faults-json", help='full fault rules as JSON: {"rules": [...]} (added to the above)'
    )

    hooks = parser.add_argument_group("webhooks (sent once the server is up)")
    hooks.add_argument("--send-webhook", metavar="URL", help="send signed events to this URL")
    hooks.add_argument(
        "--webhook-event",
        action="append",
        dest="webhook_events",
        help="event type to send (repeatable; default parse_run.processed)",
    )
    hooks.add_argument("--webhook-run-id", help="run the events are about (default: newest fit)")
    hooks.add_argument("--webhook-duplicates", type=int, default=0, help="re-deliveries of each")
    hooks.add_argument(
        "--webhook-signed-url",
        action="store_true",
        help="send signed_data_url payloads served by the simulator",
    )


def fault_rules(options: Mapping[str, Any]) -> list[FaultRule]:
    """The fault rules the options ask for."""
    error_rates = {
        str(status): options[f"error_rate_{status}"]
        for status in (500, 502, 503)
        if options.get(f"error_rate_{status}")
    }
    for item in options.get("error_rate") or []:
        status, _, share = str(item).partition("=")
        error_rates[status.strip()] = float(share)
    data: dict[str, Any] = {
        "error_rates": error_rates,
        "error_body": options.get("error_body", "auto"),
        "storm_seconds": options.get("storm_seconds", 0.0),
        "storm_fraction": options.get("storm_fraction", 0.0),
        "storm_retry_after": options.get("storm_retry_after", 1),
        "revoked": options.get("revoked", False),
        "payment_required": options.get("payment_required", False),
        "delete_not_found": options.get("delete_not_found", False),
        "drop_rate": options.get("drop_rate", 0.0),
        "slow_rate": options.get("slow_rate", 0.0),
        "slow_ms": options.get("slow_ms", 0.0),
        "scope": {
            "methods": list(options.get("fault_methods") or ()),
            "workspace_id": options.get("fault_workspace"),
            "key_last4": options.get("fault_key_last4"),
        },
    }
    if options.get("latency_ms") or options.get("latency_jitter_ms"):
        data["latency"] = {
            "distribution": options.get("latency_distribution", "fixed"),
            "mean_ms": options.get("latency_ms", 0.0),
            "jitter_ms": options.get("latency_jitter_ms", 0.0),
        }
    faulty = any(
        data[name]
        for name in (
            "error_rates", "storm_seconds", "storm_fraction", "revoked", "payment_required",
            "delete_not_found", "drop_rate", "slow_rate",
        )
    )  # fmt: skip
    rules = [FaultRule.from_dict(data)] if faulty or "latency" in data else []
    if options.get("faults_json"):
        extra = json.loads(options["faults_json"])
        rules += [FaultRule.from_dict(rule) for rule in extra.get("rules", [extra])]
    return rules


def config_from_options(options: Mapping[str, Any]) -> SimulatorConfig:
    """A ``SimulatorConfig`` from parsed options (argparse or Django's ``**options``)."""
    extra: dict[str, Any] = {
        "seed": options.get("seed", 0),
        "host": options.get("host", "127.0.0.1"),
        "port": options.get("port", 8765),
        "webhook_secret": options.get("webhook_secret", DEFAULT_WEBHOOK_SECRET),
        "customer_metadata_key": options.get("customer_key", "customer_ref"),
        "untagged_rate": options.get("untagged_rate", 0.02),
        "shared_file_every": options.get("shared_file_every", 0),
        "shared_file_runs": options.get("shared_file_runs", 2),
        "faults": fault_rules(options),
    }
    if options.get("api_versions"):
        extra["api_versions"] = tuple(options["api_versions"])
    return SimulatorConfig.single(
        api_key=options["api_key"],
        runs=options.get("seed_runs", 100),
        customers=tuple(options.get("customers") or DEFAULT_CUSTOMERS),
        workspace_id=options.get("workspace_id", "ws_simulated_main"),
        organisation_id=options.get("organisation_id", "org_simulated"),
        org_api_key=options.get("org_api_key"),
        other_workspace_id=options.get("other_workspace_id", "ws_simulated_other"),
        other_workspace_runs=options.get("other_workspace_runs", 10),
        other_workspace_api_key=options.get("other_workspace_api_key"),
        rate_limit=options.get("rate_limit", 10.0),
        write_rate_limit=options.get("write_rate_limit"),
        burst=options.get("burst"),
        **extra,
    )


def run(
    options: Mapping[str, Any],
    write: Callable[[str], Any] = print,
    stop: threading.Event | None = None,
) -> None:
    """Start the simulator, send any requested webhooks and serve until Ctrl-C (or ``stop``)."""
    simulator = Simulator(config_from_options(options)).start()
    try:
        config = simulator.config
        main = config.organisations[0].workspaces[0]
        write(f"Extend simulator listening on {simulator.url}")
        write(
            f"  workspace {main.id}: {main.runs} runs; key …{str(options['api_key'])[-4:]}; "
            f"GET/WRITE {config.organisations[0].get_rate:g}/"
            f"{config.organisations[0].write_rate:g} per second"
        )
        write(f"  control: {simulator.url}/_sim/state, /_sim/faults, /_sim/ledger")
        if options.get("send_webhook"):
            for event_type in options.get("webhook_events") or ["parse_run.processed"]:
                deliveries = simulator.send_webhook(
                    options["send_webhook"],
                    event_type=event_type,
                    run_id=options.get("webhook_run_id"),
                    duplicates=options.get("webhook_duplicates", 0),
                    signed_url=options.get("webhook_signed_url", False),
                )
                for delivery in deliveries:
                    write(
                        f"  webhook {delivery.event_type} {delivery.event_id}: "
                        f"{delivery.status or delivery.error}"
                    )
        write("Press Ctrl-C to stop.")
        waiter = stop or threading.Event()
        if threading.current_thread() is threading.main_thread():
            # A process manager's SIGTERM stops as cleanly as Ctrl-C.
            signal.signal(signal.SIGTERM, lambda *_: waiter.set())
        while not waiter.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()
        write("Extend simulator stopped.")


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m extend_simulator``."""
    parser = argparse.ArgumentParser(
        prog="python -m extend_simulator", description="A local Extend parse-run API simulator."
    )
    add_arguments(parser)
    run(vars(parser.parse_args(argv)))
