"""Benchmark: sync 100,000 parse runs from the simulator into a dedicated database.

    python -m bench.sync [--runs 100000] [--rate 50] [--page-size 100]

The sync should be paced by Extend's GET limit (pages/s close to, never above, the limit) and
run in bounded memory (one page at a time). It never touches real data: with a PostgreSQL
``DATABASE_URL`` it drops and recreates a database named ``bench_sync`` on the same server;
otherwise it uses a throw-away SQLite file. Results go to ``bench/results/sync-<date>.txt``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bench.common import allow_local_simulator

BENCH_DB = "bench_sync"
API_KEY = "sk_bench_sync_key_0001"
RESULTS = Path(__file__).resolve().parent / "results"


def _use_dedicated_database() -> str:
    """Point DATABASE_URL at a fresh benchmark database; return a description of it."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        import psycopg

        parts = urlsplit(url)
        admin = urlunsplit(parts._replace(path="/postgres"))
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}"')
            connection.execute(f'CREATE DATABASE "{BENCH_DB}"')
        os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{BENCH_DB}"))
        return f"PostgreSQL {parts.hostname}:{parts.port or 5432}/{BENCH_DB}"
    directory = tempfile.mkdtemp(prefix="bench-sync-")
    os.environ["PORTAL_VAR_DIR"] = directory
    os.environ["DATABASE_URL"] = f"sqlite:///{directory}/{BENCH_DB}.sqlite3"
    return f"SQLite {directory}/{BENCH_DB}.sqlite3"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=50.0, help="GET limit, requests/s")
    parser.add_argument("--page-size", type=int, default=100)
    args = parser.parse_args(argv)

    database = _use_dedicated_database()
    allow_local_simulator()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from django.conf import settings

    # With DEBUG on (the embedded default), Django keeps every SQL statement in memory: that
    # is a development aid, not the sync's memory use, so measure as in production.
    settings.DEBUG = False
    from django.core.management import call_command

    from deletions.inventory import sync
    from deletions.models import Customer, ParseRun, Workspace
    from extend_simulator import Simulator

    call_command("migrate", verbosity=0)
    customers = ("acme-corp", "globex", "initech", "umbrella-health", "stark-logistics")
    for ref in customers[:4]:
        Customer.objects.create(name=ref.title(), external_ref=ref, slug=ref)

    simulator = Simulator(
        api_key=API_KEY,
        runs=args.runs,
        rate_limit=args.rate,
        customers=customers,
        customer_metadata_key="customer_id",
    ).start()
    try:
        workspace = Workspace.objects.create(
            name="Benchmark", base_url=simulator.url, get_rate_limit=int(args.rate)
        )
        workspace.set_api_key(API_KEY)
        workspace.save()

        pages_seen = [0]

        def progress(state: object) -> None:
            pages_seen[0] += 1
            if pages_seen[0] % 50 == 0:
                print(f"\r{pages_seen[0]:,} pages", end="", file=sys.stderr, flush=True)

        rss_before_mb = _max_rss_mb()
        started = time.monotonic()
        outcome = sync.sync_workspace(
            workspace, page_size=args.page_size, time_budget=None, progress=progress
        )
        elapsed = time.monotonic() - started
        print(file=sys.stderr)
        summary = simulator.ledger_summary()
        stored = ParseRun.objects.filter(workspace=workspace).count()
        unassigned = ParseRun.objects.filter(workspace=workspace, customer__isnull=True).count()
    finally:
        simulator.stop()

    rate_limited = sum(1 for entry in simulator.ledger(method="GET") if entry.status == 429)
    pages_per_second = outcome.pages / elapsed if elapsed else 0.0
    max_rss_mb = _max_rss_mb()
    floor = (outcome.pages - 1) / args.rate
    lines = [
        f"bench.sync {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S} UTC",
        f"database: {database}",
        f"runs at the simulator: {args.runs:,}; page size {args.page_size}; "
        f"GET limit {args.rate:g}/s",
        f"outcome: {outcome.status}, error: {outcome.error or 'none'}",
        f"pages: {outcome.pages:,}; runs seen: {outcome.runs:,}; stored: {stored:,} "
        f"({unassigned:,} unassigned)",
        f"elapsed: {elapsed:.1f} s (floor set by the limit: {floor:.1f} s)",
        f"pages/s: {pages_per_second:.1f} vs limit {args.rate:g} "
        f"({100 * pages_per_second / args.rate:.0f}% of the limit)",
        f"429 answers: {rate_limited}",
        f"peak GET calls in one second seen by the simulator: {_peak_get_rate(summary)}",
        f"peak RSS: {rss_before_mb:.0f} MB before the sync, {max_rss_mb:.0f} MB after "
        "(the process includes the simulator; growth should not scale with the run count)",
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"sync-{dt.date.today():%Y-%m-%d}.txt"
    path.write_text(report)
    print(f"written to {path}")


def _max_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _peak_get_rate(summary: dict[str, Any]) -> str:
    peaks = summary.get("peak_calls_per_second") or {}
    return ", ".join(f"{name} {value:g}" for name, value in peaks.items()) or "n/a"


if __name__ == "__main__":
    main()
