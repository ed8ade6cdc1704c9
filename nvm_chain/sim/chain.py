"""Chains a simulation runs on: the embedded eth-tester/py-evm chain, or any JSON-RPC dev node.

Both expose the same controls: ``snapshot``/``revert``, ``travel`` (advance block time) and ``now``.
eth-tester is not thread-safe, so the embedded chain serialises every request with a lock.
"""

from __future__ import annotations

import threading
from typing import Any

from eth_tester import EthereumTester, PyEVMBackend
from web3 import Web3
from web3.providers.eth_tester import EthereumTesterProvider
from web3.types import RPCEndpoint


class _LockedTesterProvider(EthereumTesterProvider):
    """EthereumTesterProvider that lets one request at a time into py-evm."""

    def __init__(self, tester: EthereumTester):
        super().__init__(tester)
        self._lock = threading.RLock()

    def make_request(self, method: Any, params: Any) -> Any:
        with self._lock:
            return super().make_request(method, params)


class EmbeddedChain:
    """A fresh in-process Prague chain (eth-tester on py-evm)."""

    kind = "embedded"

    def __init__(self) -> None:
        self.tester = EthereumTester(PyEVMBackend())
        self.w3 = Web3(_LockedTesterProvider(self.tester))

    def snapshot(self) -> int:
        """Record the chain state; returns an id for :meth:`revert`."""
        return self.tester.take_snapshot()

    def revert(self, snapshot_id: int) -> None:
        """Return to a state recorded by :meth:`snapshot`."""
        self.tester.revert_to_snapshot(snapshot_id)

    def now(self) -> int:
        """Timestamp of the latest block (what eth_call sees)."""
        return self.w3.eth.get_block("latest")["timestamp"]

    def travel(self, seconds: int) -> int:
        """Advance time: mines a block ``seconds`` after the latest one; returns its timestamp."""
        target = self.now() + seconds
        self.tester.time_travel(target + 1)  # mines a block stamped target; the next one gets target+1
        return self.now()


class RpcChain:
    """A JSON-RPC development node such as anvil (``evm_*`` methods)."""

    kind = "rpc"

    def __init__(self, w3: Web3):
        self.w3 = w3

    def _rpc(self, method: str, params: list[Any]) -> Any:
        response = self.w3.provider.make_request(RPCEndpoint(method), params)
        if "error" in response:
            raise RuntimeError(f"{method} failed: {response['error']}")
        return response["result"]

    def snapshot(self) -> Any:
        return self._rpc("evm_snapshot", [])

    def revert(self, snapshot_id: Any) -> None:
        self._rpc("evm_revert", [snapshot_id])

    def now(self) -> int:
        return self.w3.eth.get_block("latest")["timestamp"]

    def travel(self, seconds: int) -> int:
        self._rpc("evm_increaseTime", [seconds])
        self._rpc("evm_mine", [])
        return self.now()
