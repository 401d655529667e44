"""Model fields of the domain.

:class:`EncryptedTextField` marks every column that holds a secret encrypted with
:mod:`deletions.core.crypto`, so key rotation finds them all by walking the models instead of
keeping a list that a new secret could be missing from (``deletions.workspaces.key_rotation``).
"""

from __future__ import annotations

from django.db import models


class EncryptedTextField(models.TextField):  # type: ignore[type-arg]
    """A Fernet token made by ``crypto.encrypt`` (or "" for none).

    The field only marks the column: the model encrypts on purpose (``set_api_key`` and the
    like) and decrypts only where the clear value is needed, so a clear secret is never loaded
    with a row by accident. The column is an ordinary text column.
    """
