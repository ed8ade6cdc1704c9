"""What a service needs of a connection, and nothing more (services layer).

The facade (:class:`nvm_chain.client.NvmChain`) builds one :class:`ServiceContext` per account and hands it to
:class:`~nvm_chain.services.plans.PlansAPI`, :class:`~nvm_chain.services.agents.AgentsAPI` and the x402 check;
services never see the facade.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nvm_chain.errors import ConfigurationError

if TYPE_CHECKING:
    from web3 import Web3

    from nvm_chain.chain.contracts import Contracts
    from nvm_chain.chain.networks import AddressBook
    from nvm_chain.chain.tx.sender import Sender
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
