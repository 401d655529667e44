"""Benchmark: deletion throughput against Extend's rate limit, and against the official SDK.

    python -m bench.throughput [--runs 2000] [--limit 50] [--latency-ms 100] [--sdk-runs 100]

The portal deletes ``--runs`` runs end to end (approval committed, a real Celery worker process,
the shared rate limiter, verification GETs) against the simulator with ``--latency-ms`` added
latency and a WRITE limit of ``--limit`` per second. In the same run, a plain sequential loop over
Extend's official SDK deletes ``--sdk-runs`` runs against the same simulator settings. Both are
measured on the simulator's ledger, so the figures are what Extend would have seen. The last line
printed is ``throughput: X% of limit, Y x the sequential SDK loop``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import allow_local_simulator, use_dedicated_database, write_result

ROOT = Path(__file__).resolve().parent.parent
GOAL_PERCENT = 95.0
GOAL_429_PERCENT = 0.5
API_KEY = "sk_bench_throughput_key_0001"


def _rate(times: list[float]) -> float:
    """Deletes per second between the first and the last of *times*."""
    if len(times) < 2:
        return 0.0
    return (len(times) - 1) / (max(times) - min(times))


def _per_second(times: list[float]) -> str:
    """Successful DELETEs in each whole second of the run: where the time went."""
    if not times:
        return "none"
    start = min(times)
    buckets = [0] * (int(max(times) - start) + 1)
    for t in times:
        buckets[int(t - start)] += 1
    inner = sorted(buckets[1:-1]) or buckets
    gaps = sum(1 for a, b in zip(sorted(times), sorted(times)[1:], strict=False) if b - a > 0.25)
    return (
        f"min {inner[0]}, median {inner[len(inner) // 2]}, max {inner[-1]} per second "
        f"(whole seconds); {gaps} pauses over 250 ms"
    )


def _sdk_loop(url: str, run_ids: list[str]) -> float:
    """A plain sequential loop over Extend's official SDK; returns deletes per second."""
    from extend_ai import Extend

    sdk = Extend(token=API_KEY, base_url=url, timeout=30)
    started = time.monotonic()
    for run_id in run_ids:
        sdk.parse_runs.delete(run_id)
    return len(run_ids) / (time.monotonic() - started)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--limit", type=float, default=50.0, help="WRITE limit, requests/s")
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--sdk-runs", type=int, default=100)
    args = parser.parse_args(argv)

    database = use_dedicated_database("bench_throughput")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    allow_local_simulator()
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from deletions.models import Customer, DeletionRequest, ParseRun, Source, Workspace
    from deletions.requests import transitions
    from deletions.requests.submission import Selection, submit_request
    from extend_simulator import Simulator

    call_command("migrate", verbosity=0)
    sim = Simulator(
        api_key=API_KEY,
        runs=0,
        other_workspace_runs=0,
        rate_limit=4 * args.limit,  # GETs (verification) have their own, larger budget
        write_rate_limit=args.limit,
    ).start()
    sim.set_faults({"latency": {"distribution": "fixed", "mean_ms": args.latency_ms}})
    try:
        # The SDK baseline first, on runs of its own.
        sdk_ids = [r["id"] for r in sim.add_runs(count=args.sdk_runs)]
        sdk_rate = _sdk_loop(sim.url, sdk_ids)

        workspace = Workspace(
            name="Bench", base_url=sim.url, rate_limit=int(args.limit),
            get_rate_limit=int(4 * args.limit),
        )  # fmt: skip
        workspace.set_api_key(API_KEY)
        workspace.save()
        customer = Customer.objects.create(name="Bench", external_ref="bench", slug="bench")
        ids = [r["id"] for r in sim.add_runs(count=args.runs)]
        ParseRun.objects.bulk_create(
            ParseRun(workspace=workspace, customer=customer, run_id=i) for i in ids
        )
        req = submit_request(
            customer=customer,
            selection=Selection(scope=DeletionRequest.Scope.EXPLICIT, run_ids=ids),
            reason="benchmark",
            requested_by=None,
            source=Source.CLI,
        )
        sim.reset_ledger()

        with tempfile.TemporaryDirectory() as tmp, Path(tmp, "worker.log").open("wb") as log:
            env = {**os.environ, "RUNNER_SECONDS": "25", "BENCH_COUNTS_DIR": tmp}
            worker = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "bench.instrumented", "worker", "--pool",
                 "prefork",
                 "--concurrency", "2", "--loglevel", "WARNING", "--without-gossip",
                 "--without-mingle"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
            try:
                time.sleep(3)  # let the worker connect before the wake-up is sent
                started = time.monotonic()
                DeletionRequest.objects.filter(pk=req.pk).update(
                    status=DeletionRequest.Status.APPROVED
                )
                transitions.start_request(req, actor=None, source=Source.SYSTEM)
                while DeletionRequest.objects.get(pk=req.pk).status == "running":
                    if time.monotonic() - started > 30 + 3 * args.runs / args.limit:
                        raise SystemExit("the portal did not finish in time; see the worker log")
                    time.sleep(0.5)
                wall = time.monotonic() - started
            finally:
                os.killpg(worker.pid, signal.SIGTERM)
                worker.wait(timeout=30)
            counted = [json.loads(p.read_text()) for p in Path(tmp).glob("*.json")]

        sim_deletes = sim.ledger(method="DELETE")
        deletes = [e.time for e in sim_deletes if e.status and 200 <= e.status < 300]
        summary = sim.ledger_summary()
        rate_limited = sum(1 for e in sim_deletes if e.status == 429)
        req.refresh_from_db()
    finally:
        sim.stop()

    portal_rate = _rate(deletes)
    percent = 100 * portal_rate / args.limit
    ratio = portal_rate / sdk_rate if sdk_rate else float("inf")
    sent = max(len(deletes), 1)
    total = {key: sum(c.get(key, 0) for c in counted) for key in ("queries", "gate_queries")}
    cpu = {key: sum(c.get(key, 0.0) for c in counted) for key in ("cpu", "gate_cpu")}
    calls = len(sim_deletes)
    share_429 = 100 * rate_limited / max(calls, 1)
    peak = max(
        (v for k, v in summary["peak_calls_per_second"].items() if k.endswith("/WRITE")), default=0
    )
    met = percent >= GOAL_PERCENT and share_429 <= GOAL_429_PERCENT and peak <= args.limit
    lines = [
        f"database: {database}; broker: {settings.CELERY_BROKER_URL.split('@')[-1]}",
        f"simulator: {args.latency_ms:g} ms added latency, WRITE limit {args.limit:g}/s",
        f"portal: {req.deleted_count + req.already_gone_count} of {args.runs} runs gone, "
        f"request {req.status}, {wall:.1f} s from approval to completion (verification on)",
        f"portal rate: {portal_rate:.2f} deletes/s (first to last successful DELETE)",
        f"peak calls in any 1 s window: {summary['peak_calls_per_second']}",
        f"successful DELETEs per second: {_per_second(deletes)}",
        f"429s answered: {rate_limited} ({share_429:.2f}% of DELETEs)",
        f"worker CPU per DELETE: {1000 * cpu['cpu'] / sent:.1f} ms, of which the gate "
        f"{1000 * cpu['gate_cpu'] / sent:.1f} ms (verification, outcome and claim included)",
        f"SQL statements per DELETE: {total['queries'] / sent:.1f}, of which the gate "
        f"{total['gate_queries'] / sent:.1f}",
        f"goal: at least {GOAL_PERCENT:g}% of the limit, at most {GOAL_429_PERCENT:g}% 429s, "
        f"never above the limit in a 1 s window: {'met' if met else 'MISSED'}",
        f"sequential SDK loop: {sdk_rate:.2f} deletes/s over {args.sdk_runs} runs",
        f"throughput: {percent:.1f}% of limit, {ratio:.1f} x the sequential SDK loop",
    ]
    path = write_result(f"throughput-{args.limit:g}", lines)
    print("\n".join(lines[:-1]))
    print(f"results written to {path.relative_to(ROOT)}")
    print(lines[-1])
    return lines[-1]


if __name__ == "__main__":
    main()
