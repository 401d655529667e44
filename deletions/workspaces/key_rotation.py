"""Re-encrypting every stored secret under the newest key in ``FIELD_ENCRYPTION_KEYS``.

The secrets are found by walking the models for :class:`~deletions.core.fields.EncryptedTextField`,
so a new encrypted column is rotated without anyone remembering to add it here; once this has
run, the old key can be dropped without losing anything.
"""

from __future__ import annotations

from django.apps import apps
from django.db import models, transaction

from deletions import audit
from deletions.core import crypto
from deletions.core.fields import EncryptedTextField
from deletions.models import Source

BATCH = 500


def encrypted_fields() -> dict[type[models.Model], list[str]]:
    """Every model with encrypted columns, and the names of those columns."""
    found: dict[type[models.Model], list[str]] = {}
    for model in apps.get_models():
        names = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if names:
            found[model] = names
    return found


def _customer_of(row: models.Model) -> int | None:
    customer_id = getattr(row, "customer_id", None)
    return customer_id if isinstance(customer_id, int) else None


def rotate_all() -> dict[str, int]:
    """Re-encrypt every encrypted column of every row under the newest key, in one transaction;
    return how many values were re-encrypted per model. Each row whose secrets were rotated gets
    an audit record (source CLI: only the server's operator runs this).

    Raises :class:`crypto.DecryptionError`, with nothing changed, if a value opens with none of
    the configured keys.
    """
    counts: dict[str, int] = {}
    with transaction.atomic():
        for model, names in encrypted_fields().items():
            stored = models.Q()
            for name in names:
                stored |= ~models.Q(**{name: ""})
            rows = (
                model._default_manager.select_for_update()
                .filter(stored)
                .only("pk", *names, *(["customer_id"] if _has_customer(model) else []))
                .order_by("pk")
            )
            rotated = 0
            for row in rows.iterator(chunk_size=BATCH):
                changed = [name for name in names if getattr(row, name)]
                for name in changed:
                    setattr(row, name, crypto.rotate(getattr(row, name)))
                # A plain UPDATE: the secret itself is unchanged, so nothing that reacts to a
                # saved model (credential versions, the dispatch fence) should fire.
                model._default_manager.filter(pk=row.pk).update(
                    **{name: getattr(row, name) for name in changed}
                )
                audit.record(
                    f"{model._meta.model_name}.secrets_rotated",
                    obj=row,
                    actor=None,
                    source=Source.CLI,
                    customer=_customer_of(row),
                    detail={"fields": changed},
                )
                rotated += len(changed)
            counts[model._meta.label] = rotated
    return counts


def _has_customer(model: type[models.Model]) -> bool:
    return any(f.attname == "customer_id" for f in model._meta.concrete_fields)
