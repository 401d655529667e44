"""Re-encrypt every stored secret under the newest key in FIELD_ENCRYPTION_KEYS.

Rotation: put the new key first in FIELD_ENCRYPTION_KEYS (keeping the old ones after it),
restart, run this command, then drop the old keys.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from deletions import audit, crypto
from deletions.models import Source, Workspace

SECRET_FIELDS = ("api_key_encrypted", "webhook_secret_encrypted")


class Command(BaseCommand):
    help = "Re-encrypt every stored secret under the newest encryption key."

    def handle(self, *args: Any, **options: Any) -> None:
        rotated = 0
        try:
            with transaction.atomic():
                for workspace in Workspace.objects.select_for_update().order_by("pk"):
                    changed = [f for f in SECRET_FIELDS if getattr(workspace, f)]
                    for field in changed:
                        setattr(workspace, field, crypto.rotate(getattr(workspace, field)))
                    if changed:
                        workspace.save(update_fields=changed)
                        audit.record(
                            "workspace.secrets_rotated",
                            obj=workspace,
                            actor=None,
                            source=Source.CLI,
                            detail={"fields": changed},
                        )
                        rotated += len(changed)
        except crypto.DecryptionError as exc:
            raise CommandError(
                f"{exc}. Nothing was changed: add the old key to FIELD_ENCRYPTION_KEYS "
                "(after the new one) and run again."
            ) from exc
        self.stdout.write(
            self.style.SUCCESS(f"Re-encrypted {rotated} secrets under the newest key.")
        )
