"""What a service needs of a connection, and nothing more (services layer).

The facade (:class:`nvm_chain.client.NvmChain`) builds one :class:`ServiceContext` per account and hands it to
:class:`~nvm_chain.services.plans.PlansAPI`, :class:`~nvm_chain.services.agents.AgentsAPI` and the x402 check;
services never see the facade.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nvm_chain.errors import ConfigurationError

if TYPE_CHECKING:
    from web3 import Web3

    from nvm_chain.chain.contracts import Contracts
    from nvm_chain.chain.networks import AddressBook
    from nvm_chain.chain.tx.sender import Sender, TxReceipt, TxRequest
    from nvm_chain.rest import RestClient


@dataclass
class ServiceContext:
    """A node connection (``w3``), the deployment (``book`` and its bound ``contracts``), the account's
    transaction sender (None: read-only), the optional REST fallback, and a per-connection ``cache`` for what
    does not change during a client's life (plan records, contract wiring)."""

    w3: Web3
    book: AddressBook
    contracts: Contracts
    network: str
    signer_sender: Sender | None = None
    rest: RestClient | None = None
    cache: dict[Any, Any] = field(default_factory=dict, repr=False)

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
