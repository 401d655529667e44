"""Check a certificate of erasure (JSON) against its integrity code: exit 0 if valid, 1 if not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from deletions import certificates


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
        where = f" (request #{result.request_number})" if result.request_number else ""
        if not result.valid:
            raise CommandError(f"{result.message}{where}", returncode=1)
        self.stdout.write(self.style.SUCCESS(f"{result.message}{where}"))
