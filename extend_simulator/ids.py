"""Opaque-looking but decodable ids, so a million seeded runs need no lookup table.

An id such as ``pr_3kT9qLm2Z8vXa1bC4dE5fG`` is a keyed permutation of ``(workspace number, index)``
followed by a keyed check, both written in base 62. Decoding inverts the permutation and checks
the tail, so an id the simulator never issued (or one from another seed) decodes to nothing.
"""

from __future__ import annotations

import hashlib
from typing import Final

ALPHABET: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_INDEX = {char: position for position, char in enumerate(ALPHABET)}
MASK64: Final = (1 << 64) - 1
_HALF_BITS: Final = 24
_HALF_MASK: Final = (1 << _HALF_BITS) - 1
_ID_CHARS: Final = 22
_VALUE_BITS: Final = 48
# The check fills the rest of the id's number space, so every character looks random.
_CHECK_RANGE: Final = 62**_ID_CHARS >> _VALUE_BITS
MAX_INDEX: Final = (1 << 32) - 1
MAX_WORKSPACES: Final = 1 << 16


def mix64(value: int) -> int:
    """SplitMix64's finaliser: a fast, well-spread 64-bit hash of an integer."""
    value = (value + 0x9E3779B97F4A7C15) & MASK64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & MASK64
    return value ^ (value >> 31)


def derive_key(seed: int, label: str) -> int:
    """A 64-bit key for ``label`` under ``seed`` (stable across runs and Python versions)."""
    digest = hashlib.blake2b(f"{seed}:{label}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def to_base62(value: int, width: int) -> str:
    """Write ``value`` in base 62, left-padded with zeros to ``width`` characters."""
    chars = []
    while value:
        value, digit = divmod(value, 62)
        chars.append(ALPHABET[digit])
    return "".join(reversed(chars)).rjust(width, "0")


def from_base62(text: str) -> int | None:
    """Read a base-62 number, or None if ``text`` has a character outside the alphabet."""
    value = 0
    for char in text:
        digit = _INDEX.get(char)
        if digit is None:
            return None
        value = value * 62 + digit
    return value


class IdCodec:
    """Encode and decode ``(workspace number, index)`` pairs as ids with a fixed prefix."""

    def __init__(self, seed: int, prefix: str) -> None:
        self.prefix = prefix
        self._round_keys = [derive_key(seed, f"{prefix}round{n}") for n in range(4)]
        self._check_key = derive_key(seed, f"{prefix}check")

    def _round(self, n: int, half: int) -> int:
        return mix64(self._round_keys[n] ^ half) & _HALF_MASK

    def _permute(self, value: int) -> int:
        left, right = value >> _HALF_BITS, value & _HALF_MASK
        for n in range(4):
            left, right = right, left ^ self._round(n, right)
        return (left << _HALF_BITS) | right

    def _unpermute(self, value: int) -> int:
        left, right = value >> _HALF_BITS, value & _HALF_MASK
        for n in reversed(range(4)):
            left, right = right ^ self._round(n, left), left
        return (left << _HALF_BITS) | right

    def _check(self, value: int) -> int:
        high = mix64(self._check_key ^ value)
        low = mix64(high ^ self._check_key)
        return ((high << 64) | low) % _CHECK_RANGE

    def encode(self, workspace: int, index: int) -> str:
        """The id of item ``index`` of workspace number ``workspace``."""
        if not (0 <= workspace < MAX_WORKSPACES and 0 <= index <= MAX_INDEX):
            raise ValueError("workspace or index out of range")
        value = (workspace << 32) | index
        number = (self._check(value) << _VALUE_BITS) | self._permute(value)
        return self.prefix + to_base62(number, _ID_CHARS)

    def decode(self, text: str) -> tuple[int, int] | None:
        """``(workspace, index)`` for an id this codec issued, else None."""
        if not text.startswith(self.prefix):
            return None
        body = text[len(self.prefix) :]
        if len(body) != _ID_CHARS:
            return None
        number = from_base62(body)
        if number is None:
            return None
        value = self._unpermute(number & ((1 << _VALUE_BITS) - 1))
        if self._check(value) != number >> _VALUE_BITS:
            return None
        return value >> 32, value & MAX_INDEX
