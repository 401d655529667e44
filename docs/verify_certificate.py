#!/usr/bin/env python3
"""Verify a certificate of erasure with nothing but the portal's published public keys.

    python verify_certificate.py CERTIFICATE.json KEYS.json

CERTIFICATE.json is the certificate's JSON (downloaded, or the file attached to its PDF);
KEYS.json is the portal's key list, from https://<portal>/.well-known/erasure-certificate-keys.json.
Prints "valid" (with the request, version and key) or "invalid: <why>"; exits 0 or 1.
Needs only Python 3 and the `cryptography` package.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

# Members the signature does not cover: the signature itself, the integrity code of certificates
# issued before signatures, and the portal's note that a later version superseded this one.
UNSIGNED = ("signature", "integrity", "superseded_by")
USAGE = "usage: python verify_certificate.py CERTIFICATE.json KEYS.json"


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def check(certificate: dict[str, Any], keys: dict[str, Any]) -> str:
    """Why *certificate* is not valid under *keys*, or "" if it is."""
    signature = certificate.get("signature")
    if not isinstance(signature, dict) or signature.get("algorithm") != "Ed25519":
        return "no Ed25519 signature (a certificate issued before signatures: ask the portal)"
    key = next((k for k in keys.get("keys", []) if k.get("kid") == signature.get("kid")), None)
    if key is None or key.get("alg") != "Ed25519":
        return f"signed with key {signature.get('kid')!r}, which the key list does not hold"
    if key.get("status") not in ("current", "retired"):
        return f"signed with key {key['kid']}, which is {key.get('status')}"
    public_raw = b64url_decode(key["public_key"])
    # The key id is derived from the key: a list that pairs them wrongly is not trusted.
    if hashlib.sha256(public_raw).hexdigest()[:16] != key["kid"]:
        return f"the key list's key {key['kid']} does not match its id"
    document = {k: v for k, v in certificate.items() if k not in UNSIGNED}
    message = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    try:
        Ed25519PublicKey.from_public_bytes(public_raw).verify(
            b64url_decode(signature["value"]), message.encode("utf-8")
        )
    except (InvalidSignature, ValueError):
        return "the signature does not match the content (tampered, or not issued by this key)"
    return ""


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(USAGE, file=sys.stderr)
        return 2
    certificate = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    keys = json.loads(Path(argv[2]).read_text(encoding="utf-8"))
    try:
        problem = check(certificate, keys)
    except (AttributeError, KeyError, TypeError, ValueError):
        problem = "not a certificate or not a key list: a member is missing or of the wrong type"
    if problem:
        print(f"invalid: {problem}")
        return 1
    request = certificate.get("request", {})
    print(
        f"valid: request #{request.get('id')}, version {certificate.get('version')}, "
        f"issued {certificate.get('issued_at')}, signed with key {certificate['signature']['kid']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
