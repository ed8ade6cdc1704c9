"""The embedded chain on revm: :class:`RevmChain`, a drop-in for :class:`~nvm_chain.sim.chain.EmbeddedChain`.

Same controls (``snapshot``/``revert``, ``now``, ``travel``) and a ``w3`` whose provider hands JSON-RPC
requests to an in-process :class:`~nvm_chain.sim.revm_node.RevmNode` (no HTTP, no serialisation). The genesis
account of ``nvm_chain.sim.accounts.GENESIS_KEY`` starts with 1,000,000 ETH, as on eth-tester, so
:func:`~nvm_chain.sim.deploy.deploy_protocol` funds accounts the same way on both engines.

Needs the optional ``pyrevm`` package (``pip install 'nvm-chain[revm]'``).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from web3 import Web3
from web3.providers.base import BaseProvider
from web3.types import RPCEndpoint, RPCResponse

from nvm_chain.chain.tx.signer import LocalSigner
from nvm_chain.sim.accounts import GENESIS_KEY
from nvm_chain.sim.chain import without_idle_middleware
from nvm_chain.sim.revm_node import DEFAULT_CHAIN_ID, RevmNode

GENESIS_BALANCE = 1_000_000 * 10**18

class RevmProvider(BaseProvider):
    """A web3 provider answering from an in-process :class:`RevmNode` (thread-safe: the node locks)."""

    supports_send_if_succeeds = True  # nvm_sendRawTransactionIfSucceeds (nvm_chain.chain.rpc.SEND_IF_SUCCEEDS)
    supports_send_if_all_succeed = True  # nvm_sendRawTransactionsIfAllSucceed (rpc.SEND_IF_ALL_SUCCEED)
    refuses_nonce_gaps = True  # a nonce ahead of the account's is refused, never queued (see Sender)
    answers_json = True  # plain JSON-RPC answers (hex quantities), as a node sends them

    def __init__(self, node: RevmNode):
        super().__init__()
        self.node = node
        self._ids = itertools.count()

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        return self.node.request(method, params, next(self._ids))  # type: ignore[return-value]

    def is_connected(self, show_traceback: bool = False) -> bool:
        return True


class RevmChain:
    """A fresh in-process Prague chain on revm, with the same interface as ``EmbeddedChain``."""

    kind = "embedded"
    engine = "revm"

    def __init__(self, *, chain_id: int = DEFAULT_CHAIN_ID, alloc: Mapping[str, int] | None = None):
        """Start at block 0 with the genesis account funded (plus ``alloc``: address → wei).

        Raises:
            ConfigurationError: pyrevm is not installed.
        """
        genesis = LocalSigner(GENESIS_KEY).address
        self.node = RevmNode(chain_id=chain_id, alloc={genesis: GENESIS_BALANCE, **(alloc or {})})
        self.w3 = self.connect()

    def connect(self) -> Web3:
        """A new connection to this chain, with a provider of its own (as another process would have)."""
        return without_idle_middleware(Web3(RevmProvider(self.node)))

    def __repr__(self) -> str:
        return f"RevmChain(chain_id={self.node.chain_id}, block={self.node.latest})"

    def snapshot(self) -> int:
        """Record the chain state; returns an id for :meth:`revert`."""
        return int(self.node.call("evm_snapshot", []), 16)

    def revert(self, snapshot_id: int) -> None:
        """Return to a state recorded by :meth:`snapshot` (the id stays usable; later ids are dropped).

        Raises:
            ValueError: unknown snapshot id.
        """
        if not self.node.call("evm_revert", [hex(snapshot_id)]):
            raise ValueError(f"unknown snapshot id {snapshot_id}")

    def now(self) -> int:
        """Timestamp of the latest block (what eth_call sees)."""
        return self.node.timestamp()

    def travel(self, seconds: int) -> int:
        """Advance time: mines a block ``seconds`` after the latest one; returns its timestamp."""
        with self.node.lock:
            return self.node.mine(self.node.timestamp() + seconds)

    def fund(self, address: str, wei: int) -> str:
        """Send ``wei`` from the genesis account to ``address`` in a signed transaction; returns its hash.

        Raises:
            BroadcastError: the node refused the transfer (e.g. the genesis account ran dry).
        """
        from nvm_chain.chain.tx.sender import Sender
        from nvm_chain.chain.tx.types import TxRequest

        sender = Sender(self.w3, LocalSigner(GENESIS_KEY), chain_id=self.node.chain_id)
        receipt = sender.send(TxRequest(Web3.to_checksum_address(address), b"", 21_000, value=wei,
                                        action="fund account"), simulate=False)
        return receipt.tx_hash  # type: ignore[union-attr]
