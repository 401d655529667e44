"""Opaque, stable, tamper-evident page tokens for ``GET /parse_runs``.

Shaped like Extend's documented example (``xK9mLPqRtN3vS8wF5hB2cQ==:zWvU...1dZ=``): two base64
parts joined by a colon, so a client that forgets to URL-encode ``+``, ``/`` or ``=`` breaks here
as it would at Extend. The same query at the same position always gives the same token, and a
token is bound to its workspace and filters (page size may change between pages).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct

from .runs import RunFilters


class PageTokens:
    """Encode and check page tokens with a key derived from the simulator's seed."""

    def __init__(self, seed: int) -> None:
        self._key = hashlib.sha256(f"page-tokens:{seed}".encode()).digest()
        self._stream = hashlib.blake2b(self._key, digest_size=16, person=b"tokstream").digest()

    def encode(self, workspace: int, before: int, filters: RunFilters) -> str:
        """The token of the page that starts below index ``before``."""
        plain = struct.pack(">HI", workspace, before) + self._mac(b"pad", filters)[:10]
        head = bytes(a ^ b for a, b in zip(plain, self._stream, strict=True))
        tail = self._mac(head, filters)
        return base64.b64encode(head).decode() + ":" + base64.b64encode(tail).decode()

    def decode(self, token: str, filters: RunFilters) -> tuple[int, int] | None:
        """``(workspace, before)`` of a valid token for these filters, else None."""
        head_text, _, tail_text = token.partition(":")
        try:
            head = base64.b64decode(head_text, validate=True)
            tail = base64.b64decode(tail_text, validate=True)
        except (binascii.Error, ValueError):
            return None
        if len(head) != 16 or not hmac.compare_digest(tail, self._mac(head, filters)):
            return None
        plain = bytes(a ^ b for a, b in zip(head, self._stream, strict=True))
        workspace, before = struct.unpack(">HI", plain[:6])
        return workspace, before

    def _mac(self, message: bytes, filters: RunFilters) -> bytes:
        query = "\x1f".join(
            value or ""
            for value in (
                filters.status,
                filters.batch_id,
                filters.source,
                filters.source_id,
                filters.file_name_contains,
            )
        )
        return hmac.new(self._key, message + b"\x1e" + query.encode(), hashlib.sha256).digest()
