"""Check a certificate of erasure (its JSON or its PDF, whose attached JSON is checked) against
its signature (or, issued before signatures, its integrity code): exit 0 if valid, 1 if not. A
valid one is reported with its version and, if a later version superseded it, which one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from deletions.gdpr import certificate_checks, certificate_pdf


class Command(BaseCommand):
    help = "Verify a certificate of erasure (its JSON or PDF file) against its signature."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="Path of the certificate's JSON or PDF file.")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}") from exc
        if certificate_pdf.is_pdf(data):
            try:
                # Any size: the command is for certificates too large for the verify page.
                data = certificate_pdf.embedded_certificate(data, max_bytes=len(data) * 200)
            except certificate_pdf.NotReadable as exc:
                raise CommandError(str(exc), returncode=1) from exc
        result = certificate_checks.verify(data)
        if not result.valid:
            raise CommandError(result.summary, returncode=1)
        if result.superseded_by is not None:
            self.stdout.write(self.style.WARNING(result.summary))
        else:
            self.stdout.write(self.style.SUCCESS(result.summary))
