"""Nonce allocation for locally signed transactions (thread-safe; the node is asked only to resync).

A nonce is reserved just before signing, and released again when signing or broadcasting fails, so a
failure never leaves a gap that would stall every later transaction of the account.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class NonceAllocator:
    """Hands out consecutive nonces per address; ``fetch(address)`` returns the node's pending count."""

    def __init__(self, fetch: Callable[[str], int]):
        self._fetch = fetch
        self._next: dict[str, int] = {}
        self._lock = threading.Lock()

    def reserve(self, address: str, count: int = 1) -> int:
        """Reserve ``count`` consecutive nonces for ``address``; returns the first."""
        with self._lock:
            local = self._next.get(address)
            first = self._fetch(address) if local is None else local
            self._next[address] = first + count
            return first

    def release(self, address: str, nonce: int) -> None:
        """Give back ``nonce``, which was never broadcast. Rolls back when it was the newest reservation,
        otherwise forgets the local count so the next reservation resyncs from the node."""
        with self._lock:
            if self._next.get(address) == nonce + 1:
                self._next[address] = nonce
            else:
                self._next.pop(address, None)

    def resync(self, address: str) -> None:
        """Forget the local count: the next reservation asks the node (after "nonce too low/high")."""
        with self._lock:
            self._next.pop(address, None)

    def peek(self, address: str) -> int | None:
        """The next nonce this allocator would hand out without asking the node, if it knows it."""
        with self._lock:
            return self._next.get(address)
