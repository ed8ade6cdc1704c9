"""What a service needs of a connection, and nothing more (services layer).

The facade (:class:`nvm_chain.client.NvmChain`) builds one :class:`ServiceContext` per account and hands it to
:class:`~nvm_chain.services.plans.PlansAPI`, :class:`~nvm_chain.services.agents.AgentsAPI` and the x402 check;
services never see the facade.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from nvm_chain.errors import ConfigurationError

T = TypeVar("T")

if TYPE_CHECKING:
    from web3 import Web3

    from nvm_chain.chain.contracts import Contracts
    from nvm_chain.chain.networks import AddressBook
    from nvm_chain.chain.tx.sender import Sender
    from nvm_chain.chain.tx.types import TxReceipt, TxRequest
    from nvm_chain.rest import RestClient


@dataclass
class ServiceContext:
    """A node connection (``w3``), the deployment (``book`` and its bound ``contracts``), the account's
    transaction sender (None: read-only), the optional REST fallback, a per-connection ``cache`` for what
    does not change during a client's life (plan records, contract wiring), and where event scans keep their
    index of scanned ranges: under ``state_dir`` (None: the user's state directory) unless ``scan_index`` is
    False (the in-process embedded chain never uses one)."""

    w3: Web3
    book: AddressBook
    contracts: Contracts
    network: str
    signer_sender: Sender | None = None
    rest: RestClient | None = None
    cache: dict[Any, Any] = field(default_factory=dict, repr=False)
    state_dir: str | Path | None = None
    scan_index: bool = True

    def remember(self, key: Hashable, load: Callable[[], T], ttl: float | None = None) -> T:
        """``load()``'s value, kept in :attr:`cache` under ``key`` for the client's life (``ttl`` None) or for
        ``ttl`` seconds. Exceptions are not cached: a failed ``load`` is tried again next time."""
        hit = self.cache.get(key)
        now = time.monotonic()
        if hit is not None and (hit[0] is None or now < hit[0]):
            return hit[1]
        value = load()
        self.cache[key] = (None if ttl is None else now + ttl, value)
        return value

    def recall(self, key: Hashable) -> Any:
        """The live value kept under ``key``, None when there is none (never loads anything)."""
        hit = self.cache.get(key)
        if hit is None or (hit[0] is not None and time.monotonic() >= hit[0]):
            return None
        return hit[1]

    def forget(self, key: Hashable) -> None:
        """Drop ``key`` from :attr:`cache` (the next :meth:`remember` loads it again)."""
        self.cache.pop(key, None)

    @property
    def sender(self) -> Sender:
        """The account's transaction sender.

        Raises:
            ConfigurationError: the client was connected without an account (read-only).
        """
        if self.signer_sender is None:
            raise ConfigurationError("this client has no account: connect with private_key= or account=")
        return self.signer_sender

    @property
    def address(self) -> str:
        """The account's address.

        Raises:
            ConfigurationError: read-only client.
        """
        return self.sender.signer.address

    def send(self, request: TxRequest, *, simulate: bool = True) -> TxReceipt:
        """Send ``request`` with the account's sender and wait for its receipt (see ``Sender.send``).

        Raises:
            ConfigurationError: read-only client; otherwise what ``Sender.send`` raises.
        """
        return send_and_wait(self.sender, request, simulate=simulate)


def send_and_wait(sender: Sender, request: TxRequest, *, simulate: bool = True) -> TxReceipt:
    """``sender.send(request)`` waiting for the receipt: typed as the receipt, since only ``wait=False`` makes
    ``Sender.send`` return a bare hash."""
    receipt = sender.send(request, simulate=simulate, wait=True)
    if isinstance(receipt, str):
        raise TypeError(f"Sender.send returned the hash {receipt} although asked to wait for the receipt")
    return receipt
