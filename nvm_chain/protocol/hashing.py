"""Keccak-256 for the hot paths (ids, signing, the journal's hash check, the embedded revm node).

With ``safe-pysha3`` installed (the ``revm`` extra brings it) a digest costs about 1.4 µs; without it
``eth_utils.keccak`` serves, about 8 µs with its argument checks.
"""

from __future__ import annotations

try:
    from sha3 import keccak_256 as _keccak_256  # type: ignore[import-untyped,import-not-found,unused-ignore]

    def keccak(data: bytes) -> bytes:
        """Keccak-256 digest of ``data``."""
        return bytes(_keccak_256(data).digest())
except ImportError:  # pragma: no cover - depends on the installed extras
    from eth_utils import keccak as _eth_keccak

    def keccak(data: bytes) -> bytes:
        """Keccak-256 digest of ``data``."""
        return _eth_keccak(data)
