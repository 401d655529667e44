"""Reading an Ed25519 private key from configuration, shared by the settings (which refuse to start
on a bad one) and the certificate signer. No Django imports: settings load it before Django."""

from __future__ import annotations

import base64
import binascii
import hashlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

PEM_HEADER = "-----BEGIN"


def b64url(data: bytes) -> str:
    """Unpadded base64url, the encoding the published keys and the signatures use."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64_decode(text: str) -> bytes:
    """Base64 in either alphabet, padded or not; ``ValueError`` for anything else."""
    cleaned = text.strip()
    if not cleaned.isascii():
        raise ValueError("not base64")
    cleaned = cleaned.replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
    except binascii.Error as exc:
        raise ValueError("not base64") from exc


def load_private_key(text: str) -> Ed25519PrivateKey:
    """The key in *text*: a PEM (PKCS#8) block, with real or escaped ``\\n`` line breaks so it
    fits on one line of an environment file, or the base64 of the raw 32-byte private key.
    ``ValueError`` says what is wrong, without echoing the secret."""
    value = text.strip()
    if value.startswith(PEM_HEADER):
        try:
            key = serialization.load_pem_private_key(
                value.replace("\\n", "\n").encode(), password=None
            )
        except (ValueError, TypeError) as exc:
            raise ValueError("the PEM block cannot be read as an unencrypted private key") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("the PEM block holds a key of another type than Ed25519")
        return key
    raw = b64_decode(value)
    if len(raw) != 32:
        raise ValueError(f"it decodes to {len(raw)} bytes, not the 32 of a raw Ed25519 key")
    return Ed25519PrivateKey.from_private_bytes(raw)


def public_bytes(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes_raw()


def key_id(public_raw: bytes) -> str:
    """A key's id: the first 16 hex characters of the SHA-256 of its raw 32-byte public key, so
    anyone holding the public key can compute it."""
    return hashlib.sha256(public_raw).hexdigest()[:16]
