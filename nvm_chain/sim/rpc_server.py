"""Devnet JSON-RPC server: the embedded chain over HTTP on 127.0.0.1.

Layer: simulation: serves the embedded chain; never used against real networks. It binds to the loopback
address only, and every account it knows is a test account.

:class:`DevnetServer` puts one :class:`~nvm_chain.sim.chain.EmbeddedChain` (eth-tester on py-evm) behind a
standard Ethereum JSON-RPC 2.0 endpoint, so other processes and ordinary web3 tools can use it like a
local node: hex quantities, camelCase fields, ``null`` for unknown transactions, batches, JSON-RPC error
objects, and reverts shaped as geth/anvil shape them (``{"code": 3, "message": "execution reverted",
"data": "0x…"}``). Development methods ``evm_snapshot``, ``evm_revert``, ``evm_increaseTime``,
``evm_setNextBlockTimestamp`` and ``evm_mine`` map onto eth-tester's snapshots and time travel.

eth-tester is not thread-safe: one lock serialises every request (it is the embedded chain's own provider
lock when there is one, so in-process ``chain.w3`` users and HTTP clients never interleave).

Differences from a real node (``DevnetRpc.methods`` lists what is served):

- every transaction is mined at once in its own block: no mempool, ``pending`` reads as ``latest``;
- ``eth_call`` runs on py-evm directly (eth-tester's call would bill an unfunded sender such as the zero
  address): without fee fields the sender needs no balance, as on geth;
- eth-tester moves the clock only by mining, so ``evm_increaseTime`` and ``evm_setNextBlockTimestamp``
  mine one filler block (stamped one second before the requested time); snapshots stay usable after
  ``evm_revert``;
- no websockets/``eth_subscribe``, state overrides, blob transactions, or ``debug_``/``trace_`` methods;
  ``eth_sendTransaction`` works only for eth-tester's unlocked ``eth_accounts``;
- browsers may call it (CORS ``*``), like anvil; it is a test chain with public keys, on loopback only.

    >>> with DevnetServer(sim.chain, port=8545) as server:   # doctest: +SKIP
    ...     Web3(Web3.HTTPProvider(server.url)).eth.chain_id
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import logging
import re
import socket
import socketserver
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

import eth_abi
import rlp
from eth.exceptions import OutOfGas, Revert, VMError
from eth.vm.spoof import SpoofTransaction
from eth_tester.exceptions import (
    BlockNotFound,
    SnapshotNotFound,
    TransactionFailed,
    TransactionNotFound,
)
from eth_tester.exceptions import ValidationError as TesterValidationError
from eth_utils import ValidationError as EvmValidationError
from eth_utils import keccak, to_canonical_address, to_checksum_address

from nvm_chain.errors import ConfigurationError

__all__ = ["DevnetServer", "DevnetRpc", "RpcError", "LOOPBACK", "MAX_BODY_BYTES"]

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
MAX_BODY_BYTES = 8 * 1024 * 1024  # a contract deployment is tens of KiB; batches stay far below this
MAX_BATCH = 1000
PRIORITY_FEE = 10**9  # suggested tip (wei/gas), as anvil suggests
DEFAULT_CHAIN_ID = 131277322940537  # eth-tester's

# JSON-RPC 2.0 / EIP-1474 error codes
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
SERVER_ERROR = -32000  # what geth uses for refused transactions and execution errors
REVERTED = 3  # geth: execution reverted, revert data in "data"

_ERROR_STRING = bytes.fromhex("08c379a0")
_HEX = re.compile(r"0x[0-9a-fA-F]*")
_NONCE = re.compile(r"Expected (\d+), but got (\d+)")
_ZERO_ADDRESS = "0x" + "00" * 20


class RpcError(Exception):
    """A JSON-RPC error object: ``code``, ``message`` and optional ``data``."""

    def __init__(self, code: int, message: str, data: Any = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            body["data"] = self.data
        return body


def _bad(message: str) -> RpcError:
    return RpcError(INVALID_PARAMS, f"invalid params: {message}")


# ---------------------------------------------------------------------------------------------- inbound


def _quantity(value: Any, what: str = "quantity") -> int:
    """A hex quantity ("0x1a"); plain non-negative ints are accepted too, as most nodes do."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and _HEX.fullmatch(value) and len(value) > 2:
        return int(value, 16)
    raise _bad(f"{what} must be a hex quantity, got {value!r}")


def _data(value: Any, what: str = "data") -> bytes:
    if isinstance(value, str) and _HEX.fullmatch(value) and len(value) % 2 == 0:
        return bytes.fromhex(value[2:])
    raise _bad(f"{what} must be 0x-prefixed hex bytes, got {value!r}")


def _address(value: Any, what: str = "address") -> str:
    if isinstance(value, str) and _HEX.fullmatch(value) and len(value) == 42:
        return to_checksum_address(value)  # any letter case is accepted, as geth does
    raise _bad(f"{what} must be a 20-byte hex address, got {value!r}")


def _hash32(value: Any, what: str = "hash") -> str:
    if isinstance(value, str) and _HEX.fullmatch(value) and len(value) == 66:
        return value.lower()
    raise _bad(f"{what} must be a 32-byte hex hash, got {value!r}")


def _bool(value: Any, what: str) -> bool:
    if isinstance(value, bool):
        return value
    raise _bad(f"{what} must be true or false, got {value!r}")


def _params(params: Any, minimum: int, maximum: int) -> list[Any]:
    """Positional params padded with None up to ``maximum``."""
    if params is None:
        params = []
    if not isinstance(params, list):
        raise _bad("params must be an array")
    if not minimum <= len(params) <= maximum:
        expected = str(minimum) if minimum == maximum else f"{minimum} to {maximum}"
        raise _bad(f"expected {expected} params, got {len(params)}")
    return params + [None] * (maximum - len(params))


# ---------------------------------------------------------------------------------------------- outbound


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _out(value: Any) -> Any:
    """eth-tester value → JSON-RPC value: ints become hex quantities, bytes 0x data, keys camelCase."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, dict):
        return {_camel(k): _out(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_out(v) for v in value]
    return value


def _bloom_hex(bloom: int) -> str:
    return "0x" + bloom.to_bytes(256, "big").hex()


def _bloom_bits(item: bytes) -> int:
    digest = keccak(item)
    bits = 0
    for i in (0, 2, 4):
        bits |= 1 << (((digest[i] << 8) | digest[i + 1]) & 2047)
    return bits


def _bloom_of_logs(logs: list[dict[str, Any]]) -> int:
    bloom = 0
    for entry in logs:
        bloom |= _bloom_bits(bytes.fromhex(entry["address"][2:]))
        for topic in entry["topics"]:
            bloom |= _bloom_bits(bytes.fromhex(topic[2:]))
    return bloom


def _may_contain(bloom: int, item_hex: str) -> bool:
    bits = _bloom_bits(bytes.fromhex(item_hex[2:]))
    return bloom & bits == bits


def _fmt_tx(tx: dict[str, Any]) -> dict[str, Any]:
    out = _out({k: v for k, v in tx.items() if k != "data"})
    out["input"] = tx.get("data", "0x")
    if not out.get("to"):
        out["to"] = None
    if out.get("chainId") is None:
        out.pop("chainId", None)
    return out


def _fmt_log(entry: dict[str, Any]) -> dict[str, Any]:
    out = _out({k: v for k, v in entry.items() if k != "type"})
    out["removed"] = False
    return out


def _fmt_receipt(receipt: dict[str, Any]) -> dict[str, Any]:
    out = _out({k: v for k, v in receipt.items() if k not in ("logs", "state_root")})
    out["logs"] = [_fmt_log(e) for e in receipt["logs"]]
    out["logsBloom"] = _bloom_hex(_bloom_of_logs(receipt["logs"]))
    if not out.get("to"):
        out["to"] = None
    return out


def _fmt_block(block: dict[str, Any], full: bool) -> dict[str, Any]:
    rest = {k: v for k, v in block.items() if k not in ("transactions", "logs_bloom", "coinbase")}
    out = _out(rest)
    out["miner"] = block["coinbase"]
    out["logsBloom"] = _bloom_hex(block["logs_bloom"])
    txs = block["transactions"]
    out["transactions"] = [_fmt_tx(t) if isinstance(t, dict) else t for t in txs] if full else [
        t["hash"] if isinstance(t, dict) else t for t in txs]
    return out


# ---------------------------------------------------------------------------------------------- logs


@dataclass(frozen=True)
class _LogQuery:
    """An eth_getLogs / eth_newFilter filter object, validated."""

    from_block: Any  # tag or int
    to_block: Any
    block_hash: str | None
    addresses: frozenset[str] | None  # lower-case
    topics: tuple[frozenset[str] | None, ...]  # per position: None = any, else any of (lower-case)

    @classmethod
    def parse(cls, raw: Any) -> _LogQuery:
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise _bad("the filter must be an object")
        block_hash = raw.get("blockHash")
        if block_hash is not None:
            if raw.get("fromBlock") is not None or raw.get("toBlock") is not None:
                raise _bad("blockHash cannot be combined with fromBlock/toBlock")
            block_hash = _hash32(block_hash, "blockHash")
        address = raw.get("address")
        if address is None:
            addresses = None
        elif isinstance(address, list):
            addresses = frozenset(_address(a).lower() for a in address) or None
        else:
            addresses = frozenset({_address(address).lower()})
        topics_raw = raw.get("topics") or []
        if not isinstance(topics_raw, list) or len(topics_raw) > 4:
            raise _bad("topics must be an array of at most 4 entries")
        topics: list[frozenset[str] | None] = []
        for position in topics_raw:
            if position is None:
                topics.append(None)
            elif isinstance(position, list):
                options = frozenset(_hash32(t, "topic") for t in position if t is not None)
                # an empty OR-list, or one holding null, matches anything (geth semantics)
                topics.append(options if options and None not in position else None)
            else:
                topics.append(frozenset({_hash32(position, "topic")}))
        from_block = raw.get("fromBlock") if raw.get("fromBlock") is not None else "latest"
        to_block = raw.get("toBlock") if raw.get("toBlock") is not None else "latest"
        return cls(from_block, to_block, block_hash, addresses, tuple(topics))

    def matches(self, entry: dict[str, Any]) -> bool:
        if self.addresses is not None and entry["address"].lower() not in self.addresses:
            return False
        log_topics = entry["topics"]
        for i, wanted in enumerate(self.topics):
            if wanted is None:
                continue
            if i >= len(log_topics) or log_topics[i].lower() not in wanted:
                return False
        return True

    def may_be_in(self, bloom: int) -> bool:
        """False when the block's bloom proves no log of it can match."""
        if bloom == 0:
            return False
        if self.addresses is not None and not any(_may_contain(bloom, a) for a in self.addresses):
            return False
        return all(wanted is None or any(_may_contain(bloom, t) for t in wanted) for wanted in self.topics)


# ---------------------------------------------------------------------------------------------- RPC core


class DevnetRpc:
    """The JSON-RPC methods over one EthereumTester (no HTTP here; :class:`DevnetServer` adds it)."""

    def __init__(self, chain: Any, lock: Any = None):
        """``chain`` is an :class:`~nvm_chain.sim.chain.EmbeddedChain` (anything with ``.tester``)."""
        self.chain = chain
        self.tester = chain.tester
        provider_lock = getattr(getattr(getattr(chain, "w3", None), "provider", None), "_lock", None)
        self.lock = lock or provider_lock or threading.RLock()
        backend_chain = getattr(self.tester.backend, "chain", None)
        self.chain_id: int = getattr(backend_chain, "chain_id", None) or DEFAULT_CHAIN_ID
        self._time_offset = 0
        self._filters: dict[int, dict[str, Any]] = {}
        self._next_filter = 1
        self._methods: dict[str, Callable[[list[Any]], Any]] = {
            name[len("rpc_"):]: getattr(self, name) for name in dir(self) if name.startswith("rpc_")
        }

    @property
    def methods(self) -> list[str]:
        """Names of the supported JSON-RPC methods."""
        return sorted(self._methods)

    # -------------------------------------------------------------------------------- dispatch

    def handle_json(self, body: bytes) -> bytes | None:
        """Answer one HTTP body (a request or a batch); None when it held only notifications."""
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            return _dump(_error_response(None, RpcError(PARSE_ERROR, f"parse error: {exc}")))
        if isinstance(payload, list):
            if not payload:
                return _dump(_error_response(None, RpcError(INVALID_REQUEST, "invalid request: empty batch")))
            if len(payload) > MAX_BATCH:
                return _dump(_error_response(None, RpcError(INVALID_REQUEST,
                                                            f"invalid request: batch larger than {MAX_BATCH}")))
            answers = [a for a in (self.handle(item) for item in payload) if a is not None]
            return _dump(answers) if answers else None
        answer = self.handle(payload)
        return None if answer is None else _dump(answer)

    def handle(self, request: Any) -> dict[str, Any] | None:
        """Answer one decoded request object; None for a notification (no ``id``)."""
        if not isinstance(request, dict) or not isinstance(request.get("method"), str):
            return _error_response(None, RpcError(INVALID_REQUEST, "invalid request: expected an object with a method"))
        request_id = request.get("id")
        if request_id is not None and not isinstance(request_id, (str, int, float)):
            return _error_response(None, RpcError(INVALID_REQUEST, "invalid request: bad id"))
        try:
            result = self.call(request["method"], request.get("params"))
        except RpcError as exc:
            answer = _error_response(request_id, exc)
        else:
            answer = {"jsonrpc": "2.0", "id": request_id, "result": result}
        return answer if "id" in request else None

    def call(self, method: str, params: Any = None) -> Any:
        """Run one method under the chain lock and return its JSON result.

        Raises:
            RpcError: unknown method (-32601), bad params (-32602), a revert (3), a refused transaction or
                failed execution (-32000), or an unexpected failure (-32603).
        """
        fn = self._methods.get(method)
        if fn is None:
            raise RpcError(METHOD_NOT_FOUND, f"the method {method} does not exist/is not available")
        try:
            with self.lock:
                return fn(params)
        except RpcError:
            raise
        except TesterValidationError as exc:
            raise _bad(str(exc)) from None
        except EvmValidationError as exc:  # py-evm refused the message (fees, gas limit, ...)
            raise RpcError(SERVER_ERROR, str(exc)) from None
        except BlockNotFound:
            raise RpcError(SERVER_ERROR, "header not found") from None
        except Exception as exc:  # noqa: BLE001 - reported to the client, never kills the server
            log.debug("%s failed", method, exc_info=True)
            raise RpcError(INTERNAL_ERROR, f"internal error: {type(exc).__name__}: {exc}") from None

    # -------------------------------------------------------------------------------- helpers

    def _latest(self) -> dict[str, Any]:
        return self.tester.get_block_by_number("latest")

    def _block_id(self, value: Any, *, pending: bool = False) -> int | str:
        """A block parameter (tag, hex number or EIP-1898 object) → an eth-tester block id.

        Every block is final on this chain, so ``safe``/``finalized`` are ``latest``; ``pending`` is
        ``latest`` too unless the method can ask eth-tester for its pending block.
        """
        if value is None:
            return "latest"
        if isinstance(value, dict):
            if "blockHash" in value:
                try:
                    return self.tester.get_block_by_hash(_hash32(value["blockHash"], "blockHash"))["number"]
                except BlockNotFound:
                    raise RpcError(SERVER_ERROR, "header not found") from None
            value = value.get("blockNumber")
            if value is None:
                raise _bad("a block object needs blockHash or blockNumber")
        if value in ("latest", "safe", "finalized"):
            return "latest"
        if value == "pending":
            return "pending" if pending else "latest"
        if value == "earliest":
            return 0
        number = _quantity(value, "block number")
        if number > self._latest()["number"]:
            raise RpcError(SERVER_ERROR, "header not found")
        return number

    def _block_number(self, value: Any) -> int:
        block_id = self._block_id(value)
        return self._latest()["number"] if block_id == "latest" else int(block_id)

    def _tx_object(self, raw: Any) -> dict[str, Any]:
        """A call/transaction object → eth-tester's transaction dict."""
        if not isinstance(raw, dict):
            raise _bad("the transaction must be an object")
        for blob_field in ("blobVersionedHashes", "maxFeePerBlobGas", "blobs"):
            if raw.get(blob_field):
                raise _bad("blob transactions are not supported by the devnet")
        if raw.get("chainId") is not None and _quantity(raw["chainId"], "chainId") != self.chain_id:
            raise _bad(f"chainId {raw['chainId']} is not this chain's ({hex(self.chain_id)})")
        tx: dict[str, Any] = {"from": _address(raw["from"], "from") if raw.get("from") else _ZERO_ADDRESS}
        if raw.get("to"):
            tx["to"] = _address(raw["to"], "to")
        for key, name in (("gas", "gas"), ("gasPrice", "gas_price"), ("maxFeePerGas", "max_fee_per_gas"),
                          ("maxPriorityFeePerGas", "max_priority_fee_per_gas"), ("value", "value"),
                          ("nonce", "nonce")):
            if raw.get(key) is not None:
                tx[name] = _quantity(raw[key], key)
        data, inp = raw.get("data"), raw.get("input")
        if data is not None and inp is not None and data != inp:
            raise _bad('both "data" and "input" are set and not equal')
        payload = inp if inp is not None else data
        if payload is not None:
            tx["data"] = "0x" + _data(payload, "input").hex()
        if raw.get("accessList"):
            entries = raw["accessList"]
            if not isinstance(entries, list):
                raise _bad("accessList must be an array")
            tx["access_list"] = [
                {"address": _address(e.get("address")), "storage_keys": [_hash32(k, "storage key")
                                                                        for k in e.get("storageKeys") or []]}
                for e in entries if isinstance(e, dict)
            ]
        return tx

    def _estimate_error(self, exc: BaseException) -> RpcError:
        """Map eth-tester's failure of an estimate (it carries py-evm's exception object) to a node's answer."""
        inner: Any = exc.args[0] if exc.args else None
        if isinstance(exc, OutOfGas) or isinstance(inner, OutOfGas):
            return RpcError(SERVER_ERROR, "gas required exceeds allowance")
        if isinstance(inner, Revert):
            return _reverted(bytes(inner.args[0]) if inner.args else b"")
        text = str(inner if inner is not None else exc)
        if text.startswith(("b'", 'b"')):  # a revert rendered as a Python bytes repr
            try:
                return _reverted(bytes(ast.literal_eval(text)))
            except (ValueError, SyntaxError):
                pass
        return RpcError(SERVER_ERROR, _vm_message(text))

    def _execute(self, tx: dict[str, Any], number: int) -> bytes:
        """Run a call on py-evm at block ``number`` and return its output, as geth's eth_call does.

        eth-tester's own ``call`` makes the sender pay for gas at 1 gwei, so calls from the zero address (what
        web3 sends without ``from``) or from any unfunded account fail. Like geth, a call without fee fields
        runs at the block's base fee with the sender credited that gas money inside the throw-away state, so
        the contract still sees the sender's real balance.

        Raises:
            RpcError: a revert (3, with the revert bytes) or another execution failure (-32000).
        """
        chain = self.tester.backend.chain
        header = chain.get_canonical_block_header_by_number(number)
        vm = chain.get_vm(at_header=header)
        state = vm.state
        builder = vm.get_transaction_builder()
        sender = to_canonical_address(tx["from"])
        to = to_canonical_address(tx["to"]) if tx.get("to") else b""
        data = bytes.fromhex(tx.get("data", "0x")[2:])
        value, gas = tx.get("value", 0), tx.get("gas", header.gas_limit)
        access = [(to_canonical_address(e["address"]), [int(k, 16) for k in e["storage_keys"]])
                  for e in tx.get("access_list", [])]
        nonce = state.get_nonce(sender)
        free = not any(k in tx for k in ("gas_price", "max_fee_per_gas", "max_priority_fee_per_gas"))
        if "gas_price" in tx:
            price = tx["gas_price"]
            unsigned = (builder.new_unsigned_access_list_transaction(self.chain_id, nonce, price, gas, to, value, data,
                                                                     access) if access else
                        builder.create_unsigned_transaction(nonce=nonce, gas_price=price, gas=gas, to=to,
                                                            value=value, data=data))
        else:
            base_fee = header.base_fee_per_gas or 0
            tip = tx.get("max_priority_fee_per_gas", 0)
            if "max_fee_per_gas" in tx:
                price = tx["max_fee_per_gas"]
            else:  # no fees: exactly the base fee; a tip alone: eth-tester's default of tip + 2 x base fee
                price = base_fee if free else tip + 2 * base_fee
            unsigned = builder.new_unsigned_dynamic_fee_transaction(self.chain_id, nonce, tip, price, gas, to, value,
                                                                    data, access)
        snapshot = state.snapshot()
        try:
            if free:
                state.set_balance(sender, state.get_balance(sender) + gas * price)
            computation = state.apply_transaction(SpoofTransaction(unsigned, from_=sender))
        except EvmValidationError as exc:
            raise RpcError(SERVER_ERROR, _refusal(str(exc))) from None
        finally:
            state.revert(snapshot)
        if computation.is_error:
            error = computation.error
            if isinstance(error, Revert):
                raise _reverted(computation.output)
            raise RpcError(SERVER_ERROR, "out of gas" if isinstance(error, OutOfGas) else _vm_message(str(error)))
        return computation.output

    def _logs(self, query: _LogQuery) -> list[dict[str, Any]]:
        if query.block_hash is not None:
            try:
                number = self.tester.get_block_by_hash(query.block_hash)["number"]
            except BlockNotFound:
                raise RpcError(SERVER_ERROR, "unknown block") from None
            low = high = number
        else:
            low, high = self._block_number(query.from_block), self._block_number(query.to_block)
            if low > high:
                raise _bad(f"invalid block range: fromBlock {low} is after toBlock {high}")
        return self._logs_between(query, low, high)

    def _logs_between(self, query: _LogQuery, low: int, high: int) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for number in range(low, high + 1):
            block = self.tester.get_block_by_number(number)
            if not query.may_be_in(block["logs_bloom"]):
                continue
            for tx_hash in block["transactions"]:
                receipt = self.tester.get_transaction_receipt(tx_hash)
                found += [_fmt_log(e) for e in receipt["logs"] if query.matches(e)]
        return found

    def _set_next_timestamp(self, timestamp: int) -> None:
        pending = self.tester.get_block_by_number("pending")["timestamp"]
        if timestamp < pending:
            latest = self._latest()["timestamp"]
            raise RpcError(SERVER_ERROR, f"timestamp {timestamp} is not after the latest block's ({latest})")
        # eth-tester can only move the clock by mining: a filler block stamped timestamp-1 comes first
        self.tester.time_travel(timestamp)

    def _filter(self, params: Any) -> tuple[int, dict[str, Any]]:
        (fid,) = _params(params, 1, 1)
        key = _quantity(fid, "filter id")
        try:
            return key, self._filters[key]
        except KeyError:
            raise RpcError(SERVER_ERROR, "filter not found") from None

    # -------------------------------------------------------------------------------- web3 / net

    def rpc_web3_clientVersion(self, params: Any) -> str:
        _params(params, 0, 0)
        return f"nvm-chain-devnet/v{_version('nvm-chain')}/eth-tester/v{_version('eth-tester')}/py-evm"

    def rpc_web3_sha3(self, params: Any) -> str:
        (data,) = _params(params, 1, 1)
        return "0x" + keccak(_data(data)).hex()

    def rpc_net_version(self, params: Any) -> str:
        _params(params, 0, 0)
        return str(self.chain_id)

    def rpc_net_listening(self, params: Any) -> bool:
        _params(params, 0, 0)
        return True

    # -------------------------------------------------------------------------------- chain state

    def rpc_eth_chainId(self, params: Any) -> str:
        _params(params, 0, 0)
        return hex(self.chain_id)

    def rpc_eth_syncing(self, params: Any) -> bool:
        _params(params, 0, 0)
        return False

    def rpc_eth_accounts(self, params: Any) -> list[str]:
        _params(params, 0, 0)
        return list(self.tester.get_accounts())

    def rpc_eth_blockNumber(self, params: Any) -> str:
        _params(params, 0, 0)
        return hex(self._latest()["number"])

    def rpc_eth_gasPrice(self, params: Any) -> str:
        _params(params, 0, 0)
        return hex(self.tester.get_block_by_number("pending")["base_fee_per_gas"] + PRIORITY_FEE)

    def rpc_eth_maxPriorityFeePerGas(self, params: Any) -> str:
        _params(params, 0, 0)
        return hex(PRIORITY_FEE)

    def rpc_eth_feeHistory(self, params: Any) -> dict[str, Any]:
        count_raw, newest_raw, percentiles = _params(params, 2, 3)
        count = _quantity(count_raw, "blockCount")
        newest = self._block_number(newest_raw)
        percentiles = percentiles or []
        if not isinstance(percentiles, list) or any(
                not isinstance(p, (int, float)) or isinstance(p, bool) or not 0 <= p <= 100 for p in percentiles) \
                or percentiles != sorted(percentiles):
            raise _bad("rewardPercentiles must be increasing numbers between 0 and 100")
        count = max(0, min(count, 1024, newest + 1))
        oldest = newest - count + 1
        base_fees, ratios, rewards = [], [], []
        for number in range(oldest, newest + 1):
            block = self.tester.get_block_by_number(number, True)
            base_fee = block["base_fee_per_gas"]
            base_fees.append(hex(base_fee))
            ratios.append(block["gas_used"] / block["gas_limit"] if block["gas_limit"] else 0.0)
            if percentiles:
                rewards.append([hex(r) for r in self._rewards(block, base_fee, percentiles)])
        nxt = self.tester.get_block_by_number(newest + 1 if newest < self._latest()["number"] else "pending")
        base_fees.append(hex(nxt["base_fee_per_gas"]))
        out: dict[str, Any] = {"oldestBlock": hex(oldest), "baseFeePerGas": base_fees if count else [],
                               "gasUsedRatio": ratios}
        if percentiles:
            out["reward"] = rewards
        return out

    def _rewards(self, block: dict[str, Any], base_fee: int, percentiles: list[float]) -> list[int]:
        """Effective tips at the given gas-weighted percentiles of a block (geth's method)."""
        tips = []
        for tx in block["transactions"]:
            gas_used = self.tester.get_transaction_receipt(tx["hash"])["gas_used"]
            tips.append((max(tx["gas_price"] - base_fee, 0), gas_used))
        if not tips:
            return [0] * len(percentiles)
        tips.sort()
        total = sum(g for _, g in tips)
        out, index, cumulative = [], 0, tips[0][1]
        for p in percentiles:
            threshold = total * p / 100
            while cumulative < threshold and index < len(tips) - 1:
                index += 1
                cumulative += tips[index][1]
            out.append(tips[index][0])
        return out

    def rpc_eth_getBalance(self, params: Any) -> str:
        address, block = _params(params, 1, 2)
        return hex(self.tester.get_balance(_address(address), self._block_id(block)))

    def rpc_eth_getTransactionCount(self, params: Any) -> str:
        address, block = _params(params, 1, 2)
        return hex(self.tester.get_nonce(_address(address), self._block_id(block, pending=True)))

    def rpc_eth_getCode(self, params: Any) -> str:
        address, block = _params(params, 1, 2)
        return _out(self.tester.get_code(_address(address), self._block_id(block)))

    def rpc_eth_getStorageAt(self, params: Any) -> str:
        address, slot, block = _params(params, 2, 3)
        position = hex(_quantity(slot, "storage slot"))
        return _out(self.tester.get_storage_at(_address(address), position, self._block_id(block)))

    # -------------------------------------------------------------------------------- execution

    def rpc_eth_call(self, params: Any) -> str:
        raw_tx, block, overrides = _params(params, 1, 3)
        if overrides:
            raise _bad("state overrides are not supported by the devnet")
        return "0x" + self._execute(self._tx_object(raw_tx), self._block_number(block)).hex()

    def rpc_eth_estimateGas(self, params: Any) -> str:
        raw_tx, block, overrides = _params(params, 1, 3)
        if overrides:
            raise _bad("state overrides are not supported by the devnet")
        tx, block_id = self._tx_object(raw_tx), self._block_id(block)
        tx.pop("gas", None)  # eth-tester searches up to the block gas limit
        if not any(k in tx for k in ("gas_price", "max_fee_per_gas", "max_priority_fee_per_gas")):
            tx.update(max_fee_per_gas=0, max_priority_fee_per_gas=0)  # as geth: no fees, no balance needed
        try:
            return hex(self.tester.estimate_gas(tx, block_id))
        except (TransactionFailed, VMError) as exc:
            raise self._estimate_error(exc) from None

    def rpc_eth_sendRawTransaction(self, params: Any) -> str:
        (raw_hex,) = _params(params, 1, 1)
        raw = _data(raw_hex, "signed transaction")
        tx_chain_id = _raw_chain_id(raw)
        if tx_chain_id is not None and tx_chain_id != self.chain_id:
            raise RpcError(SERVER_ERROR, f"invalid chain id for signer: have {tx_chain_id} want {self.chain_id}")
        try:
            return self.tester.send_raw_transaction("0x" + raw.hex())
        except (TesterValidationError, EvmValidationError, ValueError) as exc:
            raise RpcError(SERVER_ERROR, _refusal(str(exc))) from None
        except Exception as exc:  # noqa: BLE001 - undecodable or unsupported bytes
            raise RpcError(SERVER_ERROR, f"invalid transaction: {type(exc).__name__}: {exc}") from None

    def rpc_eth_sendTransaction(self, params: Any) -> str:
        """Send from one of eth-tester's unlocked genesis accounts (``eth_accounts``)."""
        (raw_tx,) = _params(params, 1, 1)
        tx = self._tx_object(raw_tx)
        if not isinstance(raw_tx, dict) or not raw_tx.get("from"):
            raise _bad("from is required")
        if tx["from"] not in self.tester.get_accounts():
            raise RpcError(SERVER_ERROR, f"unknown account {tx['from']}: the devnet only unlocks eth_accounts")
        if "gas" not in tx:
            try:
                tx["gas"] = self.tester.estimate_gas({k: v for k, v in tx.items() if k != "nonce"})
            except (TransactionFailed, VMError):
                tx["gas"] = self._latest()["gas_limit"] // 2  # let it be mined and fail with status 0
        try:
            return self.tester.send_transaction(tx)
        except (TesterValidationError, EvmValidationError, ValueError) as exc:
            raise RpcError(SERVER_ERROR, _refusal(str(exc))) from None

    # -------------------------------------------------------------------------------- blocks, txs, logs

    def rpc_eth_getTransactionByHash(self, params: Any) -> dict[str, Any] | None:
        (tx_hash,) = _params(params, 1, 1)
        try:
            return _fmt_tx(self.tester.get_transaction_by_hash(_hash32(tx_hash)))
        except TransactionNotFound:
            return None

    def rpc_eth_getTransactionReceipt(self, params: Any) -> dict[str, Any] | None:
        (tx_hash,) = _params(params, 1, 1)
        try:
            receipt = self.tester.get_transaction_receipt(_hash32(tx_hash))
        except TransactionNotFound:
            return None
        return None if receipt.get("block_number") is None else _fmt_receipt(receipt)

    def rpc_eth_getBlockByNumber(self, params: Any) -> dict[str, Any] | None:
        block, full = _params(params, 1, 2)
        full = _bool(full, "full transactions flag") if full is not None else False
        try:
            return _fmt_block(self.tester.get_block_by_number(self._block_id(block, pending=True), full), full)
        except (BlockNotFound, RpcError) as exc:
            if isinstance(exc, RpcError) and exc.code != SERVER_ERROR:
                raise
            return None

    def rpc_eth_getBlockByHash(self, params: Any) -> dict[str, Any] | None:
        block_hash, full = _params(params, 1, 2)
        full = _bool(full, "full transactions flag") if full is not None else False
        try:
            return _fmt_block(self.tester.get_block_by_hash(_hash32(block_hash), full), full)
        except BlockNotFound:
            return None

    def rpc_eth_getBlockTransactionCountByNumber(self, params: Any) -> str | None:
        block = self.rpc_eth_getBlockByNumber([_params(params, 1, 1)[0], False])
        return None if block is None else hex(len(block["transactions"]))

    def rpc_eth_getBlockTransactionCountByHash(self, params: Any) -> str | None:
        block = self.rpc_eth_getBlockByHash([_params(params, 1, 1)[0], False])
        return None if block is None else hex(len(block["transactions"]))

    def rpc_eth_getLogs(self, params: Any) -> list[dict[str, Any]]:
        (raw,) = _params(params, 1, 1)
        return self._logs(_LogQuery.parse(raw))

    # -------------------------------------------------------------------------------- filters (polling)

    def rpc_eth_newFilter(self, params: Any) -> str:
        (raw,) = _params(params, 1, 1)
        query = _LogQuery.parse(raw)
        if query.block_hash is not None:
            raise _bad("blockHash is not supported in eth_newFilter")
        start = self._latest()["number"] + 1 if query.from_block in ("latest", "pending") \
            else self._block_number(query.from_block)
        return self._add_filter({"kind": "logs", "query": query, "next": start})

    def rpc_eth_newBlockFilter(self, params: Any) -> str:
        _params(params, 0, 0)
        return self._add_filter({"kind": "blocks", "next": self._latest()["number"] + 1})

    def _add_filter(self, entry: dict[str, Any]) -> str:
        key = self._next_filter
        self._next_filter += 1
        self._filters[key] = entry
        return hex(key)

    def rpc_eth_getFilterChanges(self, params: Any) -> list[Any]:
        _, entry = self._filter(params)
        latest = self._latest()["number"]
        low = min(entry["next"], latest + 1)  # after evm_revert the chain may be shorter
        entry["next"] = latest + 1
        if entry["kind"] == "blocks":
            return [self.tester.get_block_by_number(n)["hash"] for n in range(low, latest + 1)]
        query: _LogQuery = entry["query"]
        high = latest if query.to_block in ("latest", "pending") else min(latest, self._block_number(query.to_block))
        return self._logs_between(query, low, high) if low <= high else []

    def rpc_eth_getFilterLogs(self, params: Any) -> list[dict[str, Any]]:
        _, entry = self._filter(params)
        if entry["kind"] != "logs":
            raise _bad("not a log filter")
        return self._logs(entry["query"])

    def rpc_eth_uninstallFilter(self, params: Any) -> bool:
        (fid,) = _params(params, 1, 1)
        return self._filters.pop(_quantity(fid, "filter id"), None) is not None

    # -------------------------------------------------------------------------------- dev methods

    def rpc_evm_snapshot(self, params: Any) -> str:
        _params(params, 0, 0)
        return hex(self.tester.take_snapshot())

    def rpc_evm_revert(self, params: Any) -> bool:
        """Return to a snapshot (which stays usable, as eth-tester keeps it); False when unknown."""
        (snapshot,) = _params(params, 1, 1)
        try:
            self.tester.revert_to_snapshot(_quantity(snapshot, "snapshot id"))
        except SnapshotNotFound:
            return False
        return True

    def rpc_evm_increaseTime(self, params: Any) -> str:
        """Push the next block's timestamp ``seconds`` later (mines one filler block; see module doc)."""
        (seconds_raw,) = _params(params, 1, 1)
        seconds = _quantity(seconds_raw, "seconds")
        if seconds:
            pending = self.tester.get_block_by_number("pending")["timestamp"]
            self._set_next_timestamp(pending + seconds)
            self._time_offset += seconds
        return hex(self._time_offset)

    def rpc_evm_setNextBlockTimestamp(self, params: Any) -> None:
        (timestamp,) = _params(params, 1, 1)
        self._set_next_timestamp(_quantity(timestamp, "timestamp"))
        return None

    def rpc_evm_mine(self, params: Any) -> str:
        """Mine one block, or ``{"blocks": n}``; an optional timestamp (number or ``{"timestamp"}``) first."""
        (option,) = _params(params, 0, 1)
        blocks, timestamp = 1, None
        if isinstance(option, dict):
            blocks = _quantity(option["blocks"], "blocks") if option.get("blocks") is not None else 1
            timestamp = option.get("timestamp")
        elif option is not None:
            timestamp = option
        if not 1 <= blocks <= 10_000:
            raise _bad("blocks must be between 1 and 10000")
        if timestamp is not None:
            self._set_next_timestamp(_quantity(timestamp, "timestamp"))
        self.tester.mine_blocks(blocks)
        return "0x0"


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _json_default(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    return str(value)


def _dump(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), default=_json_default).encode()


def _error_response(request_id: Any, error: RpcError) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": error.to_json()}


def _reverted(data: bytes) -> RpcError:
    """A revert as geth answers it: code 3, revert bytes in ``data``, Error(string) reason in the message."""
    message = "execution reverted"
    if data[:4] == _ERROR_STRING:
        try:
            message += ": " + eth_abi.decode(["string"], data[4:])[0]
        except Exception:  # noqa: BLE001 - malformed reason: keep the bare message
            pass
    return RpcError(REVERTED, message, "0x" + data.hex())


def _vm_message(text: str) -> str:
    if text.lower().startswith("out of gas"):
        return "out of gas"
    return text[:1].lower() + text[1:] if text else "execution failed"


def _refusal(text: str) -> str:
    """eth-tester's refusal of a transaction, phrased as geth phrases it (the detail is kept)."""
    nonce = _NONCE.search(text)
    if nonce:
        expected, got = int(nonce.group(1)), int(nonce.group(2))
        which = "nonce too low" if got < expected else "nonce too high"
        return f"{which}: next nonce {expected}, tx nonce {got}"
    lowered = text.lower()
    for needles, phrase in (
        (("cannot afford", "not have enough balance"), "insufficient funds for gas * price + value"),
        (("lower than block's base fee",), "max fee per gas less than block base fee"),
        (("gas cannot be negative", "intrinsic gas"), "intrinsic gas too low"),
        (("exceeds gas limit",), "exceeds block gas limit"),
    ):
        if any(n in lowered for n in needles):
            return f"{phrase}: {text}"
    return text


def _raw_chain_id(raw: bytes) -> int | None:
    """The chain id a signed transaction commits to; None for a pre-EIP-155 legacy one.

    Raises:
        RpcError: the bytes are not a transaction (-32000, as geth answers undecodable input).
    """
    try:
        if not raw:
            raise ValueError("empty input")
        if raw[0] >= 0xC0:  # legacy: [nonce, gasPrice, gas, to, value, data, v, r, s]
            fields = rlp.decode(raw)
            v = int.from_bytes(fields[6], "big")
            return (v - 35) // 2 if v >= 35 else None
        fields = rlp.decode(raw[1:])
        if fields and isinstance(fields[0], list):  # blob network form: [tx, blobs, commitments, proofs]
            fields = fields[0]
        return int.from_bytes(fields[0], "big")
    except Exception as exc:  # noqa: BLE001
        raise RpcError(SERVER_ERROR, f"invalid transaction: {type(exc).__name__}: {exc}") from None


# ---------------------------------------------------------------------------------------------- HTTP


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: web3's requests session reuses the connection
    timeout = 60  # idle keep-alive connections are closed after this many seconds
    disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms delayed-ACK stalls
    server: _HttpServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        if self.server.log_requests:
            super().log_message(format, *args)

    def _send(self, status: int, body: bytes = b"", *, close: bool = False) -> None:
        self.send_response(status)
        self.send_header("Access-Control-Allow-Origin", "*")
        if body:
            self.send_header("Content-Type", "application/json")
        if status != HTTPStatus.NO_CONTENT:
            self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _refuse(self, status: HTTPStatus, code: int, message: str) -> None:
        self._send(status, _dump(_error_response(None, RpcError(code, message))), close=True)

    def do_OPTIONS(self) -> None:  # noqa: N802 - CORS preflight of browser tools
        self.send_response(HTTPStatus.NO_CONTENT)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")
        self.send_header("Access-Control-Allow-Headers", "Content-Type")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:  # noqa: N802
        self._refuse(HTTPStatus.METHOD_NOT_ALLOWED, INVALID_REQUEST, "invalid request: use POST with a JSON-RPC body")

    def do_POST(self) -> None:  # noqa: N802
        if self.server.stopping:
            self._refuse(HTTPStatus.SERVICE_UNAVAILABLE, SERVER_ERROR, "the devnet is shutting down")
            return
        length_header = self.headers.get("Content-Length")
        if length_header is None or not length_header.isdigit():
            self._refuse(HTTPStatus.LENGTH_REQUIRED, INVALID_REQUEST, "invalid request: Content-Length required")
            return
        length = int(length_header)
        if length > self.server.max_body:
            self._refuse(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, INVALID_REQUEST,
                         f"invalid request: body larger than {self.server.max_body} bytes")
            return
        body = self.rfile.read(length)
        answer = self.server.rpc.handle_json(body)
        if answer is None:
            self._send(HTTPStatus.NO_CONTENT)
        else:
            self._send(HTTPStatus.OK, answer)


class _JsonRpcHandler(Protocol):
    """Answers one JSON-RPC request body (None: a notification, nothing to answer): a :class:`DevnetRpc`, or an
    engine that answers JSON-RPC itself (the revm node)."""

    def handle_json(self, body: bytes) -> bytes | None: ...


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], rpc: _JsonRpcHandler, max_body: int, log_requests: bool):
        self.rpc = rpc
        self.max_body = max_body
        self.log_requests = log_requests
        self.stopping = False
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind also resolves the host's FQDN, a DNS round-trip a loopback server never needs
        socketserver.TCPServer.server_bind(self)
        host, self.server_port = self.server_address[:2]
        self.server_name = host if isinstance(host, str) else bytes(host).decode()

    def track(self, connection: socket.socket, is_open: bool) -> None:
        with self._connections_lock:
            if is_open:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections, self._connections = list(self._connections), set()
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection from %s failed", client_address, exc_info=True)


class DevnetServer:
    """JSON-RPC over HTTP in front of one embedded chain, on 127.0.0.1 only.

    The socket is bound on construction, so :attr:`url` is known before :meth:`start` (``port=0`` picks a
    free port). Use as a context manager, or call :meth:`start`/:meth:`serve_forever` and :meth:`stop`.
    """

    def __init__(self, chain: Any, host: str = LOOPBACK, port: int = 0, *, max_body: int = MAX_BODY_BYTES,
                 log_requests: bool = False):
        """Bind ``host``:``port`` for ``chain`` (an :class:`~nvm_chain.sim.chain.EmbeddedChain`).

        Raises:
            ConfigurationError: ``host`` is not 127.0.0.1, the port is out of range, or ``chain`` has no
                eth-tester (a remote :class:`~nvm_chain.sim.chain.RpcChain` is already a node).
            OSError: the port is taken.
        """
        if host != LOOPBACK:
            raise ConfigurationError(f"the devnet binds to {LOOPBACK} only (test accounts, no auth), not {host!r}")
        if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
            raise ConfigurationError(f"port must be an int between 0 and 65535, got {port!r}")
        node: Any = getattr(chain, "node", None)  # an engine that answers JSON-RPC itself (RevmChain's RevmNode)
        if getattr(chain, "tester", None) is None and not hasattr(node, "handle_json"):
            raise ConfigurationError("the devnet serves an embedded (eth-tester or revm) chain only")
        if not isinstance(max_body, int) or max_body <= 0:
            raise ConfigurationError(f"max_body must be a positive int, got {max_body!r}")
        self.rpc: _JsonRpcHandler = node if getattr(chain, "tester", None) is None else DevnetRpc(chain)
        self._httpd = _HttpServer((host, port), self.rpc, max_body, log_requests)
        self._thread: threading.Thread | None = None
        self._started = False
        self._serving_ident: int | None = None
        self._closed = False
        self._close_lock = threading.Lock()

    @property
    def host(self) -> str:
        return self._httpd.server_name

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """The endpoint, e.g. ``http://127.0.0.1:8545``."""
        return f"http://{self.host}:{self.port}"

    def __repr__(self) -> str:
        return f"DevnetServer({self.url}, {'stopped' if self._closed else 'open'})"

    def start(self) -> DevnetServer:
        """Serve in a background daemon thread; returns self.

        Raises:
            RuntimeError: already serving, or stopped.
        """
        self._claim()
        self._thread = threading.Thread(target=self._serve, name=f"nvm-devnet-{self.port}", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until :meth:`stop` or an exception such as KeyboardInterrupt; the
        socket is closed on the way out.

        Raises:
            RuntimeError: already serving, or stopped.
        """
        self._claim()
        self._serve()

    def stop(self) -> None:
        """Stop serving, close the socket and every open connection (idempotent; callable from any thread,
        including a signal handler interrupting :meth:`serve_forever`)."""
        if self._closed:
            return
        self._httpd.stopping = True
        if not self._started:
            self._close()
            return
        if self._serving_ident == threading.get_ident():
            # inside the serving thread (signal handler): shutdown() would wait for ourselves
            threading.Thread(target=self._httpd.shutdown, daemon=True).start()
            return
        self._httpd.shutdown()  # returns once the serve loop has exited (even if it had not begun yet)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._close()

    def _claim(self) -> None:
        if self._closed:
            raise RuntimeError("this DevnetServer was stopped; create a new one")
        if self._started:
            raise RuntimeError("this DevnetServer is already serving")
        self._started = True

    def _serve(self) -> None:
        self._serving_ident = threading.get_ident()
        try:
            self._httpd.serve_forever(poll_interval=0.1)
        finally:
            self._serving_ident = None
            self._close()

    def _close(self) -> None:
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        self._httpd.stopping = True
        self._httpd.server_close()
        self._httpd.close_connections()

    def __enter__(self) -> DevnetServer:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()
