"""The Ed25519 keys of certificates of erasure: signing with the current key, verifying with any
key that ever signed, and the key list the portal publishes so that anyone can verify a
certificate without trusting the operator.

The current key is ``CERTIFICATE_ED25519_KEY``. Each key is recorded
(:class:`~deletions.models.CertificateKey`) the first time it signs, and its row is never
deleted, so rotating the key (a new value, a restart) needs nothing else: certificates signed
with the old key keep verifying and its public key stays published as *retired*. A key that
leaked is named in ``CERTIFICATE_REVOKED_KEY_IDS``: it is published as *revoked* and what it
signed no longer verifies.

A key's id (``kid``) is the first 16 hex characters of the SHA-256 of its raw public key.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from django.conf import settings
from django.db import IntegrityError, transaction

from deletions import audit
from deletions.models import CertificateKey, Source
from portal import ed25519_keys

logger = logging.getLogger(__name__)

ALG = "Ed25519"
CURRENT = "current"
RETIRED = "retired"
REVOKED = "revoked"


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey
    public_raw: bytes
    kid: str

    @property
    def public_key(self) -> str:
        return ed25519_keys.b64url(self.public_raw)


@lru_cache(maxsize=4)
def _load(value: str) -> SigningKey:
    private = ed25519_keys.load_private_key(value)
    public_raw = ed25519_keys.public_bytes(private)
    return SigningKey(private, public_raw, ed25519_keys.key_id(public_raw))


def signing_key() -> SigningKey:
    """The current key (the settings checked at start-up that it reads)."""
    return _load(settings.CERTIFICATE_ED25519_KEY)


def is_revoked(kid: str) -> bool:
    return kid in settings.CERTIFICATE_REVOKED_KEY_IDS


def record(key: SigningKey) -> None:
    """Make sure *key* is on record before it signs, so that it verifies (and stays published)
    after a rotation. Audited the first time; a concurrent first use records it once."""
    if CertificateKey.objects.filter(kid=key.kid).exists():
        return
    try:
        with transaction.atomic():
            row = CertificateKey.objects.create(kid=key.kid, public_key=key.public_key)
            audit.record(
                "certificate_key.recorded",
                obj=row,
                actor=None,
                source=Source.SYSTEM,
                detail={"kid": key.kid, "public_key": key.public_key},
            )
    except IntegrityError:
        if not CertificateKey.objects.filter(kid=key.kid).exists():
            raise


def sign(message: bytes) -> tuple[str, str]:
    """Sign *message* with the current key: (kid, unpadded base64url signature)."""
    key = signing_key()
    record(key)
    return key.kid, ed25519_keys.b64url(key.private.sign(message))


def public_key(kid: str) -> bytes | None:
    """The raw public key of the key *kid*, if it ever signed here (or is the current one)."""
    current = signing_key()
    if kid == current.kid:
        return current.public_raw
    row = CertificateKey.objects.filter(kid=kid).first()
    if row is None:
        return None
    return ed25519_keys.b64_decode(row.public_key)


def check(kid: str, signature: str, message: bytes) -> str | None:
    """Why *signature* (by key *kid*) over *message* is not valid, or None if it is."""
    if is_revoked(kid):
        return f"It was signed with key {kid}, which has been revoked: it cannot be trusted."
    raw = public_key(kid)
    if raw is None:
        return f"It was signed with key {kid}, which is not one of this portal's keys."
    try:
        signature_bytes = ed25519_keys.b64_decode(signature)
        Ed25519PublicKey.from_public_bytes(raw).verify(signature_bytes, message)
    except (ValueError, InvalidSignature):
        return "Tampered or not issued by this portal: the signature does not match the content."
    return None


def published() -> dict[str, Any]:
    """The key list the portal publishes: every key that signed here and the current one, with
    its status (current, retired, revoked)."""
    current = signing_key()
    rows = [(row.kid, row.public_key) for row in CertificateKey.objects.all()]
    if current.kid not in {kid for kid, _ in rows}:
        rows.append((current.kid, current.public_key))

    def status(kid: str) -> str:
        if is_revoked(kid):
            return REVOKED
        return CURRENT if kid == current.kid else RETIRED

    return {
        "keys": [
            {"kid": kid, "alg": ALG, "public_key": key, "status": status(kid)} for kid, key in rows
        ],
        "key_id": "the first 16 hex characters of SHA-256 of the raw 32-byte public key",
        "encoding": "public_key: the raw 32-byte Ed25519 public key, unpadded base64url",
    }
