"""Re-encrypt every stored secret under the newest key in FIELD_ENCRYPTION_KEYS.

Rotation: put the new key first in FIELD_ENCRYPTION_KEYS (keeping the old ones after it),
restart, run this command, then drop the old keys. Every encrypted column of every model is
rotated (``deletions.workspaces.key_rotation``): workspace keys and webhook secrets, notification
secrets, and the GDPR intakes' addresses and subject references.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from deletions.core import crypto
from deletions.workspaces import key_rotation


class Command(BaseCommand):
    help = "Re-encrypt every stored secret under the newest encryption key."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            counts = key_rotation.rotate_all()
        except crypto.DecryptionError as exc:
            raise CommandError(
                f"{exc}. Nothing was changed: add the old key to FIELD_ENCRYPTION_KEYS "
                "(after the new one) and run again."
            ) from exc
        for label, count in counts.items():
            self.stdout.write(f"{label}: {count}")
        self.stdout.write(
            self.style.SUCCESS(f"Re-encrypted {sum(counts.values())} secrets under the newest key.")
        )
