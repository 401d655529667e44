"""Benchmark: retention policies at production size.

    python -m bench.retention [--runs 1000000] [--expired 100000] [--policies 100] [--repeat 5]

Fills a dedicated database (``bench_retention``) with one customer of ``--runs`` present runs, of
which ``--expired`` are older than its policy's 30 days, then measures:

- evaluating that policy (cap raised to ``--expired``): the time to create its retention request
  and the peak Python memory while doing it again (tracemalloc);
- the policy's preview (what it would delete now), as its page serves it: median time of
  ``--repeat`` GETs and the query count, at ``--runs`` and again with a tenth of the runs (the
  query count must not change with the size);
- one beat tick over ``--policies`` small customers' due policies: the tick's total time and the
  longest single evaluation (each evaluation is its own short transaction; the tick holds no lock
  the engine needs between them).

Each figure is printed beside its goal; results go to ``bench/results/retention-<date>.txt``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import tracemalloc
from datetime import timedelta
from typing import Any

from bench.common import use_dedicated_database, write_result

BENCH_DB = "bench_retention"
BATCH = 10_000
GOAL_EVALUATION_SECONDS = 5.0
GOAL_PREVIEW_MS = 100.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--expired", type=int, default=100_000)
    parser.add_argument("--policies", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)

    database = use_dedicated_database(BENCH_DB)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    setup_test_environment()
    from deletions.models import RetentionPolicy

    print(f"Database: {database}", flush=True)
    call_command("migrate", verbosity=0)

    started = time.monotonic()
    big = _customer_with_runs("retention-big", args.runs, args.expired)
    generated = time.monotonic() - started
    lines = [
        f"database: {database}",
        f"data: one customer with {args.runs:,} present runs, {args.expired:,} of them older "
        f"than its policy's 30 days (generated in {generated:.0f} s)",
        "",
    ]
    misses: list[str] = []
    policy = _active_policy(big, older_than_days=30)

    seconds, peak, selected = _time_evaluation(policy, cap=args.expired)
    lines.append(
        f"evaluate a policy selecting {selected:,} of {args.runs:,} runs: {seconds:.2f} s "
        f"(goal < {GOAL_EVALUATION_SECONDS:.0f} s: {_verdict(seconds < GOAL_EVALUATION_SECONDS)})"
    )
    lines.append(f"  peak Python memory doing it again (tracemalloc): {peak / 1024:,.0f} KiB")
    if seconds >= GOAL_EVALUATION_SECONDS:
        misses.append("evaluation")
    print("\n".join(lines[-2:]), flush=True)

    page_ms, queries = _time_preview(big, policy, args.repeat)
    small = _customer_with_runs("retention-small", args.runs // 10, args.expired // 10)
    small_policy = _active_policy(small, older_than_days=30)
    small_ms, small_queries = _time_preview(small, small_policy, args.repeat)
    lines.append(
        f"policy page with its preview at {args.runs:,} runs: {page_ms:.1f} ms, {queries} queries "
        f"(goal < {GOAL_PREVIEW_MS:.0f} ms: {_verdict(page_ms < GOAL_PREVIEW_MS)}); at "
        f"{args.runs // 10:,} runs: {small_ms:.1f} ms, {small_queries} queries "
        f"(constant: {_verdict(queries == small_queries)})"
    )
    if page_ms >= GOAL_PREVIEW_MS or queries != small_queries:
        misses.append("preview")
    print(lines[-1], flush=True)

    # Only the tick's own policies are due in the tick.
    RetentionPolicy.objects.update(status=RetentionPolicy.Status.RETIRED)
    total, longest, evaluated = _time_tick(args.policies)
    lines.append(
        f"one beat tick evaluating {evaluated} due policies (1,000 runs each, 100 expired): "
        f"{total:.2f} s in all, longest single evaluation (one transaction) {longest * 1000:.0f} ms"
    )
    print(lines[-1], flush=True)
    if misses:
        lines.append(f"goals missed: {', '.join(misses)}")
    path = write_result("retention", lines)
    print(f"Written to {path}")
    return 1 if misses else 0


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def _customer_with_runs(slug: str, count: int, expired: int) -> Any:
    """A customer, a workspace and *count* present runs, the first *expired* of them 400 days
    old and the rest a day old."""
    from django.utils import timezone

    from deletions.models import Customer, ParseRun, Workspace

    customer = Customer.objects.create(name=slug, external_ref=slug, slug=slug)
    workspace = Workspace(name=f"{slug} workspace")
    workspace.set_api_key("bench-key-not-used")
    workspace.save()
    now = timezone.now()
    old, recent = now - timedelta(days=400), now - timedelta(days=1)
    for offset in range(0, count, BATCH):
        ParseRun.objects.bulk_create(
            ParseRun(
                workspace=workspace,
                customer=customer,
                run_id=f"{slug}_{i:08d}",
                file_name=f"document-{i:08d}.pdf",
                extend_status="PROCESSED",
                extend_created_at=(old if i < expired else recent) + timedelta(seconds=i),
            )
            for i in range(offset, min(offset + BATCH, count))
        )
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {ParseRun._meta.db_table}")
    return customer


def _approvers() -> tuple[Any, Any]:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from deletions.accounts import roles

    users = get_user_model().objects
    approvers = []
    for name in ("bench-approver-1", "bench-approver-2"):
        user, created = users.get_or_create(username=name, defaults={"is_staff": True})
        if created:
            # The role groups and their permissions come with the migrations.
            user.groups.add(Group.objects.get(name=roles.APPROVER))
        approvers.append(user)
    return approvers[0], approvers[1]


def _active_policy(customer: Any, *, older_than_days: int) -> Any:
    """A policy proposed and approved as the rules say, past its notice period."""
    from django.utils import timezone

    from deletions.models import Membership, RetentionPolicy, Source
    from deletions.policies import rules

    first, second = _approvers()
    admin, _ = type(first).objects.get_or_create(username=f"{customer.slug}-admin")
    Membership.objects.get_or_create(
        user=admin, defaults={"customer": customer, "role": Membership.Role.ADMIN}
    )
    policy = rules.propose_policy(
        customer,
        rules.PolicyValues(name="Thirty days", reason="Benchmark", older_than_days=older_than_days),
        actor=admin,
        source=Source.WEB,
    )
    for approver in (first, second)[: policy.required_approvals]:
        policy = rules.approve_policy(policy, actor=approver, source=Source.WEB)
    # The notice period is the rules' business, not the benchmark's.
    RetentionPolicy.objects.filter(pk=policy.pk).update(
        first_notice_sent_at=timezone.now() - timedelta(days=8),
        first_action_at=timezone.now() - timedelta(days=1),
        next_evaluation_at=timezone.now() - timedelta(minutes=1),
    )
    policy.refresh_from_db()
    return policy


def _time_evaluation(policy: Any, *, cap: int) -> tuple[float, int, int]:
    from django.conf import settings

    from deletions.models import Source
    from deletions.policies import evaluation
    from deletions.requests import transitions

    settings.RETENTION_POLICY_CAP = cap

    def run() -> Any:
        outcome = evaluation.evaluate(policy)
        assert outcome.evaluation is not None and outcome.evaluation.request is not None
        return outcome.evaluation.request

    start = time.perf_counter()
    req = run()
    seconds = time.perf_counter() - start
    selected = req.item_count
    transitions.cancel_request(req, actor=None, source=Source.SYSTEM)  # frees the runs again
    tracemalloc.start()
    again = run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    transitions.cancel_request(again, actor=None, source=Source.SYSTEM)
    return seconds, peak, selected


def _time_preview(customer: Any, policy: Any, repeat: int) -> tuple[float, int]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    client = Client()
    client.force_login(get_user_model().objects.get(username=f"{customer.slug}-admin"))
    url = reverse("customer:policy", args=[policy.pk])
    assert client.get(url).status_code == 200  # warm up
    durations = []
    queries = 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            response = client.get(url)
            durations.append(time.perf_counter() - start)
        assert response.status_code == 200
        queries = len(captured)
    return statistics.median(durations) * 1000, queries


def _time_tick(count: int) -> tuple[float, float, int]:
    from deletions.policies import evaluation

    for n in range(count):
        customer = _customer_with_runs(f"retention-tick-{n:03d}", 1000, 100)
        _active_policy(customer, older_than_days=30)
    durations: list[float] = []
    original = evaluation.evaluate

    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            durations.append(time.perf_counter() - start)

    evaluation.evaluate = timed
    try:
        start = time.perf_counter()
        outcomes = evaluation.evaluate_due()
        total = time.perf_counter() - start
    finally:
        evaluation.evaluate = original
    evaluated = sum(1 for o in outcomes if o.evaluation is not None)
    return total, max(durations, default=0.0), evaluated


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
