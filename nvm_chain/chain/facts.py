"""Facts about the node behind a provider, shared by every client and sender of the process using that provider
object (chain access): the chain id and the genesis hash, which do not change for a provider's life, and the
latest base fee, which callers reuse only while it is younger than their own limit.

Two clients of one account and one node (a builder and a subscriber in one script, the workers of a pool) then
ask the node once for what they would each have asked: one ``eth_chainId`` and one ``eth_getBlockByNumber(0)``
per provider, and one base-fee read per quote lifetime.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from web3 import Web3

T = TypeVar("T")

_FACTS: weakref.WeakKeyDictionary[Any, dict[str, tuple[float, Any]]] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def provider_fact(w3: Web3, name: str, load: Callable[[], T], max_age: float = float("inf")) -> T:
    """The fact ``name`` of ``w3``'s provider as last loaded, when it is younger than ``max_age`` seconds;
    otherwise ``load()``'s value, kept for the next caller. A failing ``load`` keeps nothing."""
    facts = _FACTS.get(w3.provider)
    if facts is None:
        with _LOCK:
            facts = _FACTS.setdefault(w3.provider, {})
    hit = facts.get(name)
    now = time.monotonic()
    if hit is not None and now - hit[0] < max_age:
        return hit[1]  # type: ignore[no-any-return]
    value = load()
    facts[name] = (now, value)
    return value


def chain_id(w3: Web3) -> int:
    """The node's chain id (one ``eth_chainId`` per provider)."""
    return provider_fact(w3, "chain_id", lambda: int(w3.eth.chain_id))


def genesis_hash(w3: Web3) -> str:
    """0x-hex hash of block 0, what tells fresh dev chains with the same chain id apart (one read per provider)."""
    return provider_fact(w3, "genesis", lambda: "0x" + bytes(w3.eth.get_block(0)["hash"]).hex())


def base_fee(w3: Web3, max_age: float) -> int:
    """The latest block's base fee, as read at most ``max_age`` seconds ago by any user of this provider."""
    return provider_fact(w3, "base_fee", lambda: int(w3.eth.get_block("latest")["baseFeePerGas"]), max_age)
