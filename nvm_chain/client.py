"""The facade: ``NvmChain.connect(...)`` wires a network, an account and an address book together.

    >>> chain = NvmChain.connect(network="base-sepolia", private_key=os.environ["NVM_PRIVATE_KEY"])
    >>> chain.plans.get_plan_balance(plan_id)

Networks: ``base-sepolia`` and ``base`` (bundled v1.5.0 address books, public RPC by default), ``local``
(any ``rpc_url`` plus an ``address_book`` file) and ``embedded`` (a fresh in-process simulation, or the
one passed as ``simulation``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from web3 import Web3

from nvm_chain.chain.contracts import Contracts
from nvm_chain.chain.facts import genesis_hash
from nvm_chain.chain.networks import (
    BUNDLED,
    NETWORKS,
    AddressBook,
    bundled_address_book,
)
from nvm_chain.chain.rpc import FailoverProvider
from nvm_chain.chain.tx.journal import Journal, default_state_dir
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


def http_web3(urls: str | Sequence[str]) -> Web3:
    """A Web3 over one or more JSON-RPC URLs (tried in order, with bounded retries: :mod:`nvm_chain.chain.rpc`),
    without web3's per-request ``eth_chainId`` validation (the client checks the chain id itself, once).

    Raises:
        ConfigurationError: no URL, or one that is not http(s) (its value is never shown).
    """
    w3 = Web3(FailoverProvider([urls] if isinstance(urls, str) else list(urls)))
    w3.middleware_onion.remove("validation")
    return w3


def journal_root(w3: Web3, network: str, state_dir: str | Path | None = None) -> Path:
    """Where the journals of a connection live: the state directory (``$NVM_STATE_DIR``…), and for ``local``
    chains, whose chain id repeats across fresh dev chains, a folder named after the genesis block hash."""
    root = Path(state_dir) if state_dir is not None else default_state_dir()
    if network == "local":
        root = root / "local" / genesis_hash(w3)[2:18]
    return root


def journal_opener(w3: Web3, network: str, address: str,
                   state_dir: str | Path | None = None) -> Callable[[int], Journal]:
    """How the account's on-disk journal is opened once the chain id is known (see :func:`journal_root`)."""
    return lambda chain_id: Journal.open(chain_id, address, journal_root(w3, network, state_dir))


class NvmChain:
    """A connection to one deployment of the protocol, acting as one account."""

    def __init__(self, w3: Web3, book: AddressBook, signer: LocalSigner | None, *, network: str,
                 simulation: Simulation | None = None, dry_run: bool = False, rest: RestClient | None = None,
                 state_dir: str | Path | None = None, refuse_duplicates: bool = False,
                 receipt_timeout: float = 120.0):
        """See :meth:`connect`; ``state_dir`` holds the transaction journal (embedded chains keep it in memory)."""
        self.signer = signer
        self.simulation = simulation
        self.dry_run = dry_run
        self.state_dir = state_dir
        self._options = {"state_dir": state_dir, "refuse_duplicates": refuse_duplicates,
                         "receipt_timeout": receipt_timeout}
        contracts = Contracts(book)
        sender = None
        if signer is not None:
            journal = None if network == "embedded" else journal_opener(w3, network, signer.address, state_dir)
            sender = Sender(w3, signer, chain_id=book.chain_id, contracts=contracts.names_by_address(),
                            dry_run=dry_run, journal=journal, refuse_duplicates=refuse_duplicates,
                            receipt_timeout=receipt_timeout)
        #: what the services get: connection, deployment, sender, REST fallback (never the facade itself)
        self.ctx = ServiceContext(w3, book, contracts, network, sender, rest, state_dir=state_dir)

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

    def journals(self) -> list[Journal]:
        """The on-disk journals of every account on this connection's chain (none for embedded chains)."""
        if self.network == "embedded":
            return []
        chain_id = self.book.chain_id
        folder = journal_root(self.w3, self.network, self.state_dir) / "journal" / str(chain_id)
        return [Journal(path, chain_id, path.stem) for path in sorted(folder.glob("0x*.sqlite"))]

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
                        dry_run=self.dry_run, rest=self.rest, **self._options)  # type: ignore[arg-type]

    @classmethod
    def connect(
        cls,
        network: str = "base-sepolia",
        *,
        private_key: str | bytes | None = None,
        account: LocalSigner | None = None,
        rpc_url: str | Sequence[str] | None = None,
        address_book: AddressBook | str | Path | None = None,
        simulation: Simulation | None = None,
        dry_run: bool = False,
        rest: RestClient | None = None,
        engine: str = "pyevm",
        state_dir: str | Path | None = None,
        refuse_duplicates: bool = False,
        receipt_timeout: float = 120.0,
    ) -> NvmChain:
        """Connect to ``network`` as the account of ``private_key`` or ``account`` (none: read-only).

        ``rpc_url`` may list several endpoints: reads fail over between them with bounded retries, and signed
        bytes go to the next one when one fails. With ``dry_run`` every write stops after its simulation with
        ``DryRun`` (nothing is signed). ``rest`` (a :class:`nvm_chain.rest.RestClient`) adds the REST fallback
        for metadata and x402 tokens. Writes are recorded in the account's journal under ``state_dir`` (default
        ``$NVM_STATE_DIR``, else ``~/.local/state/nvm-chain``); with ``refuse_duplicates`` a write whose
        identical intent is still pending from an earlier run is refused (``DuplicateIntentError``).
        ``receipt_timeout`` bounds each wait for a receipt, retries included.

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
                       dry_run=dry_run, rest=rest, refuse_duplicates=refuse_duplicates,
                       receipt_timeout=receipt_timeout)
        if isinstance(address_book, (str, Path)):
            address_book = AddressBook.from_file(address_book)
        if network in BUNDLED:
            book = address_book or bundled_address_book(network)
            if book.chain_id != BUNDLED[network]:
                raise ConfigurationError(f"address book is for chain {book.chain_id}, not {network}")
            url = rpc_url or DEFAULT_RPC[network]
        else:
            if not rpc_url or address_book is None:
                raise ConfigurationError("network 'local' needs rpc_url= and address_book=")
            book, url = address_book, rpc_url
        return cls(http_web3(url), book, signer, network=network, dry_run=dry_run, rest=rest, state_dir=state_dir,
                   refuse_duplicates=refuse_duplicates, receipt_timeout=receipt_timeout)
