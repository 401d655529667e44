"""Opaque, stable, tamper-evident page tokens for ``GET /parse_runs`` and ``GET /files``.

Shaped like Extend's documented example (``xK9mLPqRtN3vS8wF5hB2cQ==:zWvU...1dZ=``): two base64
parts joined by a colon, so a client that forgets to URL-encode ``+``, ``/`` or ``=`` breaks here
as it would at Extend. The same query at the same position always gives the same token, and a
token is bound to its workspace and query (page size may change between pages). Each list has its
own key (``purpose``), so a token of one list is refused by the other.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
from collections.abc import Sequence

from .runs import FileFilters, RunFilters


class PageTokens:
    """Encode and check page tokens with a key derived from the simulator's seed."""

    def __init__(self, seed: int, purpose: str = "parse_runs") -> None:
        # The parse-run key keeps its original derivation: same seed, same tokens as before.
        label = "page-tokens" if purpose == "parse_runs" else f"page-tokens/{purpose}"
        self._key = hashlib.sha256(f"{label}:{seed}".encode()).digest()
        self._stream = hashlib.blake2b(self._key, digest_size=16, person=b"tokstream").digest()

    def encode(self, workspace: int, before: int, filters: RunFilters) -> str:
        """The token of the parse-run page that starts below index ``before``."""
        return self.encode_query(workspace, before, _run_query(filters))

    def decode(self, token: str, filters: RunFilters) -> tuple[int, int] | None:
        """``(workspace, before)`` of a valid parse-run token for these filters, else None."""
        return self.decode_query(token, _run_query(filters))

    def encode_files(self, workspace: int, cursor: int, filters: FileFilters) -> str:
        """The token of the file page that starts at ``cursor``."""
        return self.encode_query(workspace, cursor, _file_query(filters))

    def decode_files(self, token: str, filters: FileFilters) -> tuple[int, int] | None:
        """``(workspace, cursor)`` of a valid file-page token for this query, else None."""
        return self.decode_query(token, _file_query(filters))

    def encode_query(self, workspace: int, position: int, query: Sequence[str | None]) -> str:
        """The token of ``position`` in ``workspace`` for a query given as its values."""
        plain = struct.pack(">HI", workspace, position) + self._mac(b"pad", query)[:10]
        head = bytes(a ^ b for a, b in zip(plain, self._stream, strict=True))
        tail = self._mac(head, query)
        return base64.b64encode(head).decode() + ":" + base64.b64encode(tail).decode()

    def decode_query(self, token: str, query: Sequence[str | None]) -> tuple[int, int] | None:
        """``(workspace, position)`` of a valid token for this query, else None."""
        head_text, _, tail_text = token.partition(":")
        try:
            head = base64.b64decode(head_text, validate=True)
            tail = base64.b64decode(tail_text, validate=True)
        except (binascii.Error, ValueError):
            return None
        if len(head) != 16 or not hmac.compare_digest(tail, self._mac(head, query)):
            return None
        plain = bytes(a ^ b for a, b in zip(head, self._stream, strict=True))
        workspace, position = struct.unpack(">HI", plain[:6])
        return workspace, position

    def _mac(self, message: bytes, query: Sequence[str | None]) -> bytes:
        joined = "\x1f".join(value or "" for value in query)
        return hmac.new(self._key, message + b"\x1e" + joined.encode(), hashlib.sha256).digest()


def _run_query(filters: RunFilters) -> tuple[str | None, ...]:
    return (
        filters.status,
        filters.batch_id,
        filters.source,
        filters.source_id,
        filters.file_name_contains,
    )


def _file_query(filters: FileFilters) -> tuple[str | None, ...]:
    return ("asc" if filters.ascending else "desc", filters.name_contains)
