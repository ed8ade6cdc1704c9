"""Chains a simulation runs on: the embedded eth-tester/py-evm chain, or any JSON-RPC dev node.

Both expose the same controls: ``snapshot``/``revert``, ``travel`` (advance block time) and ``now``.
eth-tester is not thread-safe, so the embedded chain serialises every request with a lock.

The embedded providers (py-evm here, revm in :mod:`nvm_chain.sim.revm_chain`) answer one method of their own,
``nvm_sendRawTransactionIfSucceeds`` (see :data:`SEND_IF_SUCCEEDS`): a write executed once instead of a
simulation followed by the same execution; and its bundle, ``nvm_sendRawTransactionsIfAllSucceed``
(:data:`SEND_IF_ALL_SUCCEED`): several writes kept only if all succeed.
"""

from __future__ import annotations

import threading
from typing import Any

from eth_tester import EthereumTester, PyEVMBackend
from web3 import Web3
from web3.middleware.base import Web3Middleware
from web3.providers.eth_tester import EthereumTesterProvider
from web3.providers.eth_tester.middleware import ethereum_tester_middleware
from web3.types import RPCEndpoint

from nvm_chain.chain.rpc import SEND_IF_ALL_SUCCEED, SEND_IF_SUCCEEDS

#: web3 middleware that only costs time on an in-process chain: "validation" re-reads eth_chainId around every
#: call (the client checks the chain id itself, once), there are no ENS names offline, and the gas price and
#: estimate helpers serve eth_sendTransaction, which the client never uses (it signs locally).
IDLE_MIDDLEWARE = ("validation", "ens_name_to_address", "gas_price_strategy", "gas_estimate")

_CALL_METHODS = frozenset({"eth_call", "eth_estimateGas", "eth_createAccessList"})
_REVERTED = 3


def without_idle_middleware(w3: Web3) -> Web3:
    """``w3`` with :data:`IDLE_MIDDLEWARE` removed (those present)."""
    for name in IDLE_MIDDLEWARE:
        if name in w3.middleware_onion:
            w3.middleware_onion.remove(name)
    return w3


class _LocalDefaultFrom(Web3Middleware):
    """Fills a missing ``from`` of a call with eth-tester's first (funded) account, known locally.

    eth-tester's own default-fields middleware asks ``eth_accounts`` twice per call for it; py-evm charges the
    gas of a call up front, so the zero address (which holds no ETH) would be refused.
    """

    def request_processor(self, method: Any, params: Any) -> Any:
        if method in _CALL_METHODS and params and isinstance(params[0], dict) and not params[0].get("from"):
            provider: Any = self._w3.provider
            params = [{**params[0], "from": provider.default_from}, *params[1:]]
        return method, params


class _LockedTesterProvider(EthereumTesterProvider):
    """EthereumTesterProvider that lets one request at a time into py-evm, fills ``from`` without a request,
    and answers :data:`SEND_IF_SUCCEEDS` and :data:`SEND_IF_ALL_SUCCEED`."""

    _middleware: Any = (_LocalDefaultFrom, ethereum_tester_middleware)
    supports_send_if_succeeds = True
    supports_send_if_all_succeed = True  # SEND_IF_ALL_SUCCEED
    refuses_nonce_gaps = True  # a nonce ahead of the account's is refused, never queued (see Sender)

    def __init__(self, tester: EthereumTester):
        super().__init__(tester)
        self._lock = threading.RLock()
        self.default_from: str = tester.get_accounts()[0]

    def make_request(self, method: Any, params: Any) -> Any:
        with self._lock:
            if method == SEND_IF_SUCCEEDS:
                return self._send_if_succeeds(params)
            if method == SEND_IF_ALL_SUCCEED:
                return self._send_if_all_succeed(params)
            return super().make_request(method, params)

    def _next_id(self) -> str:
        request_id = repr(self._current_request_id)
        self._current_request_id += 1
        return request_id

    def _send_if_succeeds(self, params: Any) -> Any:
        """:data:`SEND_IF_SUCCEEDS` on py-evm (see :meth:`_keep_if_succeeds`)."""
        request_id = self._next_id()
        if not isinstance(params, (list, tuple)) or len(params) != 1:
            return _error(request_id, -32602, "invalid argument: expected one signed transaction")
        return self._keep_if_succeeds(request_id, params[0])

    def _send_if_all_succeed(self, params: Any) -> Any:
        """:data:`SEND_IF_ALL_SUCCEED` on py-evm: each transaction as :meth:`_keep_if_succeeds` keeps one; at the
        first failure the chain returns to its latest block before them (eth-tester's snapshot, filters included)
        and the pending header as it was (its timestamp too). A refusal, which the single method raises, is
        answered here: -32000 with the exception's text, the single method's wording."""
        request_id = self._next_id()
        if not isinstance(params, (list, tuple)) or not params:
            return _error(request_id, -32602, "invalid argument: expected a non-empty list of signed transactions")
        tester: Any = self.ethereum_tester
        pending = tester.backend.chain.header
        snapshot = tester.take_snapshot()
        hashes: list[str] = []
        kept = False
        try:
            for raw in params:
                try:
                    answer = self._keep_if_succeeds(request_id, raw)
                except Exception as exc:  # noqa: BLE001 - a refusal (or a halt) as the single method raises it
                    answer = _error(request_id, -32000, str(exc))
                if "error" in answer:
                    break
                hashes.append(answer["result"])
            else:
                kept = True
                return {"jsonrpc": "2.0", "id": request_id, "result": hashes}
        finally:
            if not kept:
                if hashes:
                    tester.revert_to_snapshot(snapshot)
                tester.backend.chain.header = pending
            tester._snapshots.pop(snapshot, None)  # eth-tester keeps every snapshot id; this one is done with
        answer["error"]["index"] = len(hashes)
        return answer

    def _keep_if_succeeds(self, request_id: str, raw: Any) -> Any:
        """One signed transaction applied on the pending block, then kept and mined, or the pending header (the
        block under construction: state root, transactions) restored as it was and the failure answered (a
        revert) or raised (a refusal, as eth_sendRawTransaction's; a halt, as eth_call's)."""
        try:
            raw = bytes.fromhex(raw[2:]) if isinstance(raw, str) and raw[:2] == "0x" else bytes(raw)
        except (TypeError, ValueError):
            return _error(request_id, -32602, "invalid argument: the transaction must be 0x-hex bytes")
        if raw[:1] == b"\x03":
            return _error(request_id, -32602, "blob transactions are not supported by this method")
        tester: Any = self.ethereum_tester
        chain = tester.backend.chain
        pending = chain.header
        vm = chain.get_vm()
        tx = vm.get_transaction_builder().decode(raw)
        _block, _receipt, computation = chain.apply_transaction(tx)  # refusals raise as eth_sendRawTransaction's
        if computation.is_error:
            chain.header = pending  # nothing of it stays: the state root and transaction list are the old ones
            return self._failure(request_id, computation.error)
        tx_hash = tester.normalizer.normalize_outbound_transaction_hash(tx.hash)
        tester._handle_filtering_for_transaction(tx_hash)
        tester.mine_block()
        return {"jsonrpc": "2.0", "id": request_id, "result": tx_hash}

    @staticmethod
    def _failure(request_id: str, error: Exception) -> Any:
        """A revert as a code-3 error with its data; any other failure raised the way eth_call raises it."""
        from eth.exceptions import Revert
        from eth_tester.exceptions import TransactionFailed

        if isinstance(error, Revert):
            data = bytes(error.args[0]) if error.args and isinstance(error.args[0], bytes) else b""
            return _error(request_id, _REVERTED, _revert_message(data), "0x" + data.hex())
        raise TransactionFailed(f"execution reverted: {error}")


def _revert_message(data: bytes) -> str:
    """geth's wording: ``execution reverted``, plus the reason of an ``Error(string)``."""
    import eth_abi

    if data[:4] == bytes.fromhex("08c379a0"):
        try:
            return "execution reverted: " + str(eth_abi.decode(["string"], data[4:])[0])
        except Exception:  # noqa: BLE001 - a malformed reason keeps the bare message
            pass
    return "execution reverted"


def _error(request_id: str, code: int, message: str, data: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "id": request_id, "error": error}


class EmbeddedChain:
    """A fresh in-process Prague chain (eth-tester on py-evm)."""

    kind = "embedded"

    def __init__(self) -> None:
        self.tester = EthereumTester(PyEVMBackend())
        self.w3 = self.connect()

    def connect(self) -> Web3:
        """A new connection to this chain, with a provider of its own (as another process would have)."""
        return without_idle_middleware(Web3(_LockedTesterProvider(self.tester)))

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
