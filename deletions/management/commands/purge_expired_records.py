"""Remove or anonymise the portal's own records past their retention period (also a daily task)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from deletions.gdpr import retention


class Command(BaseCommand):
    help = (
        "Purge finished requests' items and attempts, old intakes, audit events and certificates."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        result = retention.purge_expired_records()
        for name, count in result.as_dict().items():
            self.stdout.write(f"{name.replace('_', ' ')}: {count:,}")
