"""The facade: ``NvmChain.connect(...)`` wires a network, an account and an address book together.

    >>> chain = NvmChain.connect(network="base-sepolia", private_key=os.environ["NVM_PRIVATE_KEY"])
    >>> chain.plans.get_plan_balance(plan_id)

Networks: ``base-sepolia`` and ``base`` (bundled v1.5.0 address books, public RPC by default), ``local``
(any ``rpc_url`` plus an ``address_book`` file) and ``embedded`` (a fresh in-process simulation, or the
one passed as ``simulation``).
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from web3 import Web3

from nvm_chain.chain.contracts import Contracts
from nvm_chain.chain.networks import (
    BUNDLED,
    NETWORKS,
    AddressBook,
    bundled_address_book,
)
from nvm_chain.chain.tx.sender import Sender
from nvm_chain.chain.tx.signer import LocalSigner
from nvm_chain.errors import ConfigurationError, shown
from nvm_chain.services.context import ServiceContext

if TYPE_CHECKING:
    from nvm_chain.rest import RestClient
    from nvm_chain.services.agents import AgentsAPI
    from nvm_chain.services.plans import PlansAPI
    from nvm_chain.sim import Simulation

#: public RPC endpoints used when no ``rpc_url`` is given
DEFAULT_RPC = {"base-sepolia": "https://sepolia.base.org", "base": "https://mainnet.base.org"}


def http_web3(url: str) -> Web3:
    """A Web3 on ``url`` without web3's per-request ``eth_chainId`` validation (the client checks the
    chain id itself, once) and without automatic retries of ``eth_sendRawTransaction`` (the sender
    resends signed bytes itself, idempotently)."""
    w3 = Web3(Web3.HTTPProvider(url, exception_retry_configuration=None))
    w3.middleware_onion.remove("validation")
    return w3


class NvmChain:
    """A connection to one deployment of the protocol, acting as one account."""

    def __init__(self, w3: Web3, book: AddressBook, signer: LocalSigner | None, *, network: str,
                 simulation: Simulation | None = None, dry_run: bool = False, rest: RestClient | None = None):
        self.signer = signer
        self.simulation = simulation
        self.dry_run = dry_run
        contracts = Contracts(book)
        sender = Sender(w3, signer, chain_id=book.chain_id, contracts=contracts.names_by_address(),
                        dry_run=dry_run) if signer else None
        #: what the services get: connection, deployment, sender, REST fallback (never the facade itself)
        self.ctx = ServiceContext(w3, book, contracts, network, sender, rest)

    def __repr__(self) -> str:
        who = self.signer.address if self.signer else "read-only"
        return f"NvmChain(network={self.network}, chain_id={self.book.chain_id}, account={who})"

    @property
    def w3(self) -> Web3:
        return self.ctx.w3

    @property
    def book(self) -> AddressBook:
        return self.ctx.book

    @property
    def contracts(self) -> Contracts:
        return self.ctx.contracts

    @property
    def network(self) -> str:
        return self.ctx.network

    @property
    def rest(self) -> RestClient | None:
        """The REST fallback (metadata, x402), when an API key is configured."""
        return self.ctx.rest

    @rest.setter
    def rest(self, rest: RestClient | None) -> None:
        self.ctx.rest = rest

    @property
    def address(self) -> str:
        """The account's address.

        Raises:
            ConfigurationError: the client was connected without an account.
        """
        return self.ctx.address

    @property
    def sender(self) -> Sender:
        """The account's transaction sender.

        Raises:
            ConfigurationError: the client was connected without an account (read-only).
        """
        return self.ctx.sender

    @cached_property
    def plans(self) -> PlansAPI:
        from nvm_chain.services.plans import PlansAPI

        return PlansAPI(self.ctx)

    @cached_property
    def agents(self) -> AgentsAPI:
        from nvm_chain.services.agents import AgentsAPI

        return AgentsAPI(self.ctx)

    def as_account(self, account: LocalSigner | str) -> NvmChain:
        """The same connection acting as another account (a signer, or a private key)."""
        signer = account if isinstance(account, LocalSigner) else LocalSigner(account)
        return NvmChain(self.w3, self.book, signer, network=self.network, simulation=self.simulation,
                        dry_run=self.dry_run, rest=self.rest)

    @classmethod
    def connect(
        cls,
        network: str = "base-sepolia",
        *,
        private_key: str | bytes | None = None,
        account: LocalSigner | None = None,
        rpc_url: str | None = None,
        address_book: AddressBook | str | Path | None = None,
        simulation: Simulation | None = None,
        dry_run: bool = False,
        rest: RestClient | None = None,
        engine: str = "pyevm",
    ) -> NvmChain:
        """Connect to ``network`` as the account of ``private_key`` or ``account`` (none: read-only).

        With ``dry_run`` every write stops after its simulation with ``DryRun`` (nothing is signed). ``rest``
        (a :class:`nvm_chain.rest.RestClient`) adds the REST fallback for metadata and x402 tokens.

        Raises:
            ConfigurationError: unknown network, missing RPC URL or address book for ``local``.
            ValidationError: the private key is malformed (the message never contains it).
        """
        if network not in NETWORKS:
            raise ConfigurationError(f"unknown network {shown(network)}; choose one of {', '.join(NETWORKS)}")
        signer = account or (LocalSigner(private_key) if private_key is not None else None)
        if network == "embedded":
            if simulation is None:
                from nvm_chain.sim import Simulation

                simulation = Simulation.start(engine=engine)  # "pyevm" or "revm" (the embedded chain's EVM)
            return cls(simulation.w3, simulation.book, signer, network=network, simulation=simulation,
                       dry_run=dry_run, rest=rest)
        if isinstance(address_book, (str, Path)):
            address_book = AddressBook.from_file(address_book)
        if network in BUNDLED:
            book = address_book or bundled_address_book(network)
            if book.chain_id != BUNDLED[network]:
                raise ConfigurationError(f"address book is for chain {book.chain_id}, not {network}")
            url = rpc_url or DEFAULT_RPC[network]
        else:
            if rpc_url is None or address_book is None:
                raise ConfigurationError("network 'local' needs rpc_url= and address_book=")
            book, url = address_book, rpc_url
        return cls(http_web3(url), book, signer, network=network, dry_run=dry_run, rest=rest)
