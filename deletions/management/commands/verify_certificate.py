"""Check a certificate of erasure (JSON) against its integrity code: exit 0 if valid, 1 if not.
A valid one is reported with its version and, if a later version superseded it, which one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from deletions.gdpr import certificates


class Command(BaseCommand):
    help = "Verify a certificate of erasure (the JSON file) against its integrity code."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="Path of the certificate JSON file.")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}") from exc
        result = certificates.verify(data)
        if not result.valid:
            raise CommandError(result.summary, returncode=1)
        if result.superseded_by is not None:
            self.stdout.write(self.style.WARNING(result.summary))
        else:
            self.stdout.write(self.style.SUCCESS(result.summary))
