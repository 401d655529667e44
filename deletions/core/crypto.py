"""Encryption of secrets at rest (Extend API keys, webhook signing secrets) and keyed hashing.

Secrets are encrypted with a MultiFernet built from ``settings.FIELD_ENCRYPTION_KEYS``: the first
key encrypts, every key decrypts, so keys can be rotated without downtime. A token that no key
opens raises :class:`DecryptionError`; callers never get ciphertext back as if it were the secret.
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class DecryptionError(Exception):
    """A stored secret could not be decrypted with any configured key."""


def _fernet() -> MultiFernet:
    keys = settings.FIELD_ENCRYPTION_KEYS
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty.")
    try:
        return MultiFernet([Fernet(k.encode()) for k in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS holds a malformed key (expected 32 url-safe base64 bytes)."
        ) from exc


def encrypt(plaintext: str) -> str:
    """Encrypt *plaintext* under the newest key."""
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    """Decrypt *token*; raise :class:`DecryptionError` if no configured key opens it."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError(
            "stored secret cannot be decrypted with the configured keys"
        ) from None


def rotate(token: str) -> str:
    """Re-encrypt *token* under the newest key (it must open with one of the configured keys)."""
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError(
            "stored secret cannot be decrypted with the configured keys"
        ) from None


def keyed_hash(value: str, *, purpose: str) -> str:
    """A stable, non-reversible pseudonym of *value* (HMAC-SHA256 under the pseudonymisation key).

    *purpose* separates domains, so the same value hashes differently for different uses.
    """
    key = f"{settings.PSEUDONYMISATION_KEY}:{purpose}".encode()
    return hmac.new(key, value.strip().encode(), hashlib.sha256).hexdigest()


def mask(value: str, *, visible: int = 4) -> str:
    """Show only the last *visible* characters: ``••••1a2b``."""
    if not value:
        return ""
    return "••••" + value[-visible:] if len(value) > visible else "••••"
