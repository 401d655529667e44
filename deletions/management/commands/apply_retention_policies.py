"""Evaluate retention policies now:
``manage.py apply_retention_policies [--dry-run] [--policy ID]``.

For operators and cron: every active policy is evaluated whatever the hour of day (never before
its first action, which its customer's admins were told of), one line per policy.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from deletions.models import RetentionPolicy
from deletions.notifications import retention_emails
from deletions.policies import evaluation
from deletions.policies.schedule import customer_zone


def _runs(n: int) -> str:
    return f"{n:,} run{'' if n == 1 else 's'}"


def describe(outcome: evaluation.Outcome, *, dry_run: bool) -> str:
    """One line: the policy, and what its evaluation did (or would do), or why it did not act."""
    policy = outcome.policy
    head = f"#{policy.pk} {policy.customer.name} “{policy.name}”:"
    ev = outcome.evaluation
    if ev is None:
        return f"{head} did not act: {outcome.refused}."
    cut_off = timezone.localtime(ev.cut_off, customer_zone(policy.customer))
    what = f"{'would select' if dry_run else 'selected'} {_runs(ev.selected)}"
    if ev.request_id:
        what += f" into request #{ev.request_id}"
    return (
        f"{head} {what} ({policy.rule_text}, before {cut_off:%Y-%m-%d %H:%M %Z}); "
        f"skipped {ev.skipped_held:,} held, {ev.skipped_exempt:,} exempted, "
        f"{ev.skipped_open:,} in other requests; {ev.deferred:,} deferred to the next evaluation"
        + (" (dry run: nothing changed)" if dry_run else "")
    )


class Command(BaseCommand):
    help = (
        "Evaluate due retention policies now, whatever the hour of day, and print one line per "
        "policy with the runs it selected (or, with --dry-run, would select)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Say what each policy would select; create no request and change nothing.",
        )
        parser.add_argument(
            "--policy", type=int, metavar="ID", help="Only the policy with this id."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run, policy_id = options["dry_run"], options["policy"]
        if policy_id is not None and not RetentionPolicy.objects.filter(pk=policy_id).exists():
            raise CommandError(f"No retention policy #{policy_id}.")
        outcomes = evaluation.evaluate_due(ignore_hour=True, dry_run=dry_run, policy_id=policy_id)
        if not outcomes:
            self.stdout.write("No active retention policy: nothing to evaluate.")
            return
        for outcome in outcomes:
            self.stdout.write(describe(outcome, dry_run=dry_run))
        if not dry_run:
            # As the beat tick does: a large evaluation's request waits for the notice.
            retention_emails.announce_large_evaluations(outcomes)
