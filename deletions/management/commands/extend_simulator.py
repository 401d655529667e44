"""``python manage.py extend_simulator --port PORT --seed-runs N --api-key KEY [...]``.

A thin wrapper: the options and the server live in the Django-free ``extend_simulator`` package
(``python -m extend_simulator`` takes the same options).
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from extend_simulator import cli


class Command(BaseCommand):
    help = (
        "Run a local Extend parse-run API simulator in the foreground until Ctrl-C: one "
        "organisation whose main workspace is reached with --api-key, seeded runs, rate limits, "
        "fault injection, a call ledger and signed webhooks (control endpoints under /_sim/)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        cli.add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        cli.run(options, write=self.stdout.write)
