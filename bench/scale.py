"""Benchmark: the list pages and "delete all" at production size.

    python -m bench.scale [--items 1000000] [--runs 100000] [--requests 10000] [--repeat 5]

Fills a dedicated database (``bench_scale``: dropped and recreated on the PostgreSQL server of
``DATABASE_URL``, or a throw-away SQLite file) with ``manage.py generate_scale_data``, then
times every list page (median of ``--repeat`` GETs, in-process with Django's test client, with
its query count), and the time and peak Python memory of submitting "delete all" for the big
customer's runs (``submit_request`` with scope ALL). Results go to
``bench/results/scale-<date>.txt``.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from bench.common import use_dedicated_database, write_result

BENCH_DB = "bench_scale"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=100_000, help="runs of the big customer")
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)

    database = use_dedicated_database(BENCH_DB)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")  # not every sign-in of the test client
    import django

    django.setup()
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    setup_test_environment()  # the test client's host, and e-mails kept in memory
    print(f"Database: {database}", flush=True)
    call_command("migrate", verbosity=0)
    started = time.monotonic()
    call_command(
        "generate_scale_data",
        items=args.items,
        runs_per_customer=args.runs,
        requests=args.requests,
    )
    generated = time.monotonic() - started

    lines = [
        f"database: {database}",
        f"data: {args.items:,} items in {args.requests:,} requests, {args.runs:,} present runs "
        f"for one customer (generated in {generated:.0f} s)",
        "",
        f"page timings (median of {args.repeat} GETs, in-process test client):",
    ]
    for name, seconds, queries in time_pages(args.repeat):
        lines.append(f"  {name:<32} {seconds * 1000:8.1f} ms  {queries:3d} queries")
        print(lines[-1], flush=True)
    lines += ["", *time_delete_all()]
    path = write_result("scale", lines)
    print("\n".join(lines[-4:]))
    print(f"Written to {path}")


def _median_get(client: Any, url: str, repeat: int) -> tuple[float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm up
    durations = []
    queries = 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            response = client.get(url)
            durations.append(time.perf_counter() - start)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
        queries = len(captured)
    return statistics.median(durations), queries


def time_pages(repeat: int) -> list[tuple[str, float, int]]:
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    from deletions.management.commands import generate_scale_data as gen
    from deletions.models import DeletionRequest

    User = get_user_model()
    member = Client()
    member.force_login(User.objects.get(username=gen.MEMBER_USERNAME))
    viewer = Client()
    viewer.force_login(User.objects.get(username=gen.VIEWER_USERNAME))
    big_request = (
        DeletionRequest.objects.filter(customer__slug=gen.BIG_CUSTOMER_SLUG).order_by("pk").first()
    )
    assert big_request is not None
    any_request = DeletionRequest.objects.order_by("-pk").first()
    assert any_request is not None

    pages: list[tuple[str, Client, Callable[[], str]]] = [
        ("customer: runs", member, lambda: reverse("customer:runs")),
        ("customer: runs, filtered", member, lambda: reverse("customer:runs") + "?q=0999"),
        ("customer: requests", member, lambda: reverse("customer:requests")),
        ("customer: request", member, lambda: reverse("customer:request", args=[big_request.pk])),
        (
            "customer: request items",
            member,
            lambda: reverse("customer:items", args=[big_request.pk]),
        ),
        ("console: dashboard", viewer, lambda: reverse("console:dashboard")),
        ("console: queue", viewer, lambda: reverse("console:queue")),
        (
            "console: request detail",
            viewer,
            lambda: reverse("console:request_detail", args=[any_request.pk]),
        ),
        ("console: audit log", viewer, lambda: reverse("console:audit_log")),
        ("console: unassigned runs", viewer, lambda: reverse("console:inventory_unassigned")),
        ("console: workspaces", viewer, lambda: reverse("console:workspace_list")),
        ("console: customers", viewer, lambda: reverse("console:customer_list")),
    ]
    results = []
    for name, client, url in pages:
        seconds, queries = _median_get(client, url(), repeat)
        results.append((name, seconds, queries))
    return results


def time_delete_all() -> list[str]:
    """Submit "delete all" for the big customer twice: once timed, once under tracemalloc."""
    from django.contrib.auth import get_user_model

    from deletions.management.commands import generate_scale_data as gen
    from deletions.models import Customer, DeletionRequest, Source
    from deletions.requests import transitions
    from deletions.requests.submission import Selection, submit_request

    customer = Customer.objects.get(slug=gen.BIG_CUSTOMER_SLUG)
    member = get_user_model().objects.get(username=gen.MEMBER_USERNAME)

    def submit() -> DeletionRequest:
        return submit_request(
            customer=customer,
            selection=Selection(scope=DeletionRequest.Scope.ALL),
            reason="Delete everything (benchmark)",
            requested_by=member,
            source=Source.WEB,
        )

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    req = submit()
    elapsed = time.perf_counter() - start
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    count = req.item_count
    transitions.cancel_request(req, actor=member, source=Source.WEB)  # frees the runs again

    tracemalloc.start()
    again = submit()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    transitions.cancel_request(again, actor=member, source=Source.WEB)
    return [
        f'submit "delete all" ({count:,} runs, scope ALL): {elapsed:.2f} s',
        f"  peak Python memory while submitting {again.item_count:,} runs again (tracemalloc): "
        f"{peak / 1024:,.0f} KiB (the selection is frozen by INSERT ... SELECT in the database)",
        f"  process peak RSS before / after: {rss_before / 1024:.0f} / {rss_after / 1024:.0f} MiB",
    ]


if __name__ == "__main__":
    main(sys.argv[1:])
