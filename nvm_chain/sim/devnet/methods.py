"""The devnet's JSON-RPC methods over one eth-tester (py-evm) chain: :class:`DevnetRpc`.

Differences from a real node (:attr:`DevnetRpc.methods` lists what is served):

- every transaction is mined at once in its own block: no mempool, ``pending`` reads as ``latest``;
- ``eth_call`` runs on py-evm directly (eth-tester's call would bill an unfunded sender such as the zero
  address): without fee fields the sender needs no balance, as on geth;
- eth-tester moves the clock only by mining, so ``evm_increaseTime`` and ``evm_setNextBlockTimestamp``
  mine one filler block (stamped one second before the requested time); snapshots stay usable after
  ``evm_revert``;
- no websockets/``eth_subscribe``, state overrides, blob transactions, or ``debug_``/``trace_`` methods;
  ``eth_sendTransaction`` works only for eth-tester's unlocked ``eth_accounts``.

eth-tester is not thread-safe: one lock serialises every request (it is the embedded chain's own provider
lock when there is one, so in-process ``chain.w3`` users and HTTP clients never interleave).
"""

from __future__ import annotations

import importlib.metadata
from typing import Any

from eth.exceptions import VMError
from eth_tester.exceptions import (
    BlockNotFound,
    SnapshotNotFound,
    TransactionFailed,
    TransactionNotFound,
)
from eth_tester.exceptions import ValidationError as TesterValidationError
from eth_utils.crypto import keccak
from eth_utils.exceptions import ValidationError as EvmValidationError

from nvm_chain.sim.devnet import codecs
from nvm_chain.sim.devnet.jsonrpc import (
    SERVER_ERROR,
    MethodTable,
    RpcError,
    invalid_params,
)
from nvm_chain.sim.devnet.logs import LogQuery
from nvm_chain.sim.devnet.node_errors import refusal_message
from nvm_chain.sim.devnet.pyevm_calls import estimate_error, execute_call

PRIORITY_FEE = 10**9  # suggested tip (wei/gas), as anvil suggests
DEFAULT_CHAIN_ID = 131277322940537  # eth-tester's


class DevnetRpc(MethodTable):
    """The JSON-RPC methods over one EthereumTester (no HTTP here; :class:`~nvm_chain.sim.devnet.http.DevnetServer`
    adds it)."""

    def __init__(self, chain: Any, lock: Any = None):
        """``chain`` is an :class:`~nvm_chain.sim.chain.EmbeddedChain` (anything with ``.tester``)."""
        self.chain = chain
        self.tester = chain.tester
        provider_lock = getattr(getattr(getattr(chain, "w3", None), "provider", None), "_lock", None)
        backend_chain = getattr(self.tester.backend, "chain", None)
        self.chain_id: int = getattr(backend_chain, "chain_id", None) or DEFAULT_CHAIN_ID
        self._time_offset = 0
        self._filters: dict[int, dict[str, Any]] = {}
        self._next_filter = 1
        super().__init__(lock or provider_lock)

    def translate(self, method: str, exc: Exception) -> RpcError:
        """eth-tester's and py-evm's exceptions as a node answers them."""
        if isinstance(exc, TesterValidationError):
            return invalid_params(str(exc))
        if isinstance(exc, EvmValidationError):  # py-evm refused the message (fees, gas limit, ...)
            return RpcError(SERVER_ERROR, str(exc))
        if isinstance(exc, BlockNotFound):
            return RpcError(SERVER_ERROR, "header not found")
        return super().translate(method, exc)

    # -------------------------------------------------------------------------------- helpers

    def _latest(self) -> dict[str, Any]:
        block: dict[str, Any] = self.tester.get_block_by_number("latest")
        return block

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
                    return int(self.tester.get_block_by_hash(codecs.hash32(value["blockHash"], "blockHash"))["number"])
                except BlockNotFound:
                    raise RpcError(SERVER_ERROR, "header not found") from None
            value = value.get("blockNumber")
            if value is None:
                raise invalid_params("a block object needs blockHash or blockNumber")
        if value in ("latest", "safe", "finalized"):
            return "latest"
        if value == "pending":
            return "pending" if pending else "latest"
        if value == "earliest":
            return 0
        number = codecs.quantity(value, "block number")
        if number > self._latest()["number"]:
            raise RpcError(SERVER_ERROR, "header not found")
        return number

    def _block_number(self, value: Any) -> int:
        block_id = self._block_id(value)
        return self._latest()["number"] if block_id == "latest" else int(block_id)

    def _tx_object(self, raw: Any) -> dict[str, Any]:
        """A call/transaction object → eth-tester's transaction dict."""
        if not isinstance(raw, dict):
            raise invalid_params("the transaction must be an object")
        for blob_field in ("blobVersionedHashes", "maxFeePerBlobGas", "blobs"):
            if raw.get(blob_field):
                raise invalid_params("blob transactions are not supported by the devnet")
        if raw.get("chainId") is not None and codecs.quantity(raw["chainId"], "chainId") != self.chain_id:
            raise invalid_params(f"chainId {raw['chainId']} is not this chain's ({hex(self.chain_id)})")
        tx: dict[str, Any] = {"from": codecs.address(raw["from"], "from") if raw.get("from") else codecs.ZERO_ADDRESS}
        if raw.get("to"):
            tx["to"] = codecs.address(raw["to"], "to")
        for key, name in (("gas", "gas"), ("gasPrice", "gas_price"), ("maxFeePerGas", "max_fee_per_gas"),
                          ("maxPriorityFeePerGas", "max_priority_fee_per_gas"), ("value", "value"),
                          ("nonce", "nonce")):
            if raw.get(key) is not None:
                tx[name] = codecs.quantity(raw[key], key)
        data, inp = raw.get("data"), raw.get("input")
        if data is not None and inp is not None and data != inp:
            raise invalid_params('both "data" and "input" are set and not equal')
        payload = inp if inp is not None else data
        if payload is not None:
            tx["data"] = "0x" + codecs.data(payload, "input").hex()
        if raw.get("accessList"):
            entries = raw["accessList"]
            if not isinstance(entries, list):
                raise invalid_params("accessList must be an array")
            tx["access_list"] = [
                {"address": codecs.address(e.get("address")), "storage_keys": [codecs.hash32(k, "storage key")
                                                                        for k in e.get("storageKeys") or []]}
                for e in entries if isinstance(e, dict)
            ]
        return tx

    def _logs(self, query: LogQuery) -> list[dict[str, Any]]:
        if query.block_hash is not None:
            try:
                number = self.tester.get_block_by_hash(query.block_hash)["number"]
            except BlockNotFound:
                raise RpcError(SERVER_ERROR, "unknown block") from None
            low = high = number
        else:
            low, high = self._block_number(query.from_block), self._block_number(query.to_block)
            if low > high:
                raise invalid_params(f"invalid block range: fromBlock {low} is after toBlock {high}")
        return self._logs_between(query, low, high)

    def _logs_between(self, query: LogQuery, low: int, high: int) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for number in range(low, high + 1):
            block = self.tester.get_block_by_number(number)
            if not query.may_be_in(block["logs_bloom"]):
                continue
            for tx_hash in block["transactions"]:
                receipt = self.tester.get_transaction_receipt(tx_hash)
                found += [codecs.fmt_log(e) for e in receipt["logs"] if query.matches(e)]
        return found

    def _set_next_timestamp(self, timestamp: int) -> None:
        pending = self.tester.get_block_by_number("pending")["timestamp"]
        if timestamp < pending:
            latest = self._latest()["timestamp"]
            raise RpcError(SERVER_ERROR, f"timestamp {timestamp} is not after the latest block's ({latest})")
        # eth-tester can only move the clock by mining: a filler block stamped timestamp-1 comes first
        self.tester.time_travel(timestamp)

    def _filter(self, params: Any) -> tuple[int, dict[str, Any]]:
        (fid,) = codecs.params(params, 1, 1)
        key = codecs.quantity(fid, "filter id")
        try:
            return key, self._filters[key]
        except KeyError:
            raise RpcError(SERVER_ERROR, "filter not found") from None

    # -------------------------------------------------------------------------------- web3 / net

    def rpc_web3_clientVersion(self, params: Any) -> str:
        codecs.params(params, 0, 0)
        return f"nvm-chain-devnet/v{_version('nvm-chain')}/eth-tester/v{_version('eth-tester')}/py-evm"

    def rpc_web3_sha3(self, params: Any) -> str:
        (data,) = codecs.params(params, 1, 1)
        return "0x" + keccak(codecs.data(data)).hex()

    def rpc_net_version(self, params: Any) -> str:
        codecs.params(params, 0, 0)
        return str(self.chain_id)

    def rpc_net_listening(self, params: Any) -> bool:
        codecs.params(params, 0, 0)
        return True

    # -------------------------------------------------------------------------------- chain state

    def rpc_eth_chainId(self, params: Any) -> str:
        codecs.params(params, 0, 0)
        return hex(self.chain_id)

    def rpc_eth_syncing(self, params: Any) -> bool:
        codecs.params(params, 0, 0)
        return False

    def rpc_eth_accounts(self, params: Any) -> list[str]:
        codecs.params(params, 0, 0)
        return list(self.tester.get_accounts())

    def rpc_eth_blockNumber(self, params: Any) -> str:
        codecs.params(params, 0, 0)
        return hex(self._latest()["number"])

    def rpc_eth_gasPrice(self, params: Any) -> str:
        codecs.params(params, 0, 0)
        return hex(self.tester.get_block_by_number("pending")["base_fee_per_gas"] + PRIORITY_FEE)

    def rpc_eth_maxPriorityFeePerGas(self, params: Any) -> str:
        codecs.params(params, 0, 0)
        return hex(PRIORITY_FEE)

    def rpc_eth_feeHistory(self, params: Any) -> dict[str, Any]:
        count_raw, newest_raw, percentiles = codecs.params(params, 2, 3)
        count = codecs.quantity(count_raw, "blockCount")
        newest = self._block_number(newest_raw)
        percentiles = percentiles or []
        if not isinstance(percentiles, list) or any(
                not isinstance(p, (int, float)) or isinstance(p, bool) or not 0 <= p <= 100 for p in percentiles) \
                or percentiles != sorted(percentiles):
            raise invalid_params("rewardPercentiles must be increasing numbers between 0 and 100")
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
        address, block = codecs.params(params, 1, 2)
        return hex(self.tester.get_balance(codecs.address(address), self._block_id(block)))

    def rpc_eth_getTransactionCount(self, params: Any) -> str:
        address, block = codecs.params(params, 1, 2)
        return hex(self.tester.get_nonce(codecs.address(address), self._block_id(block, pending=True)))

    def rpc_eth_getCode(self, params: Any) -> str:
        address, block = codecs.params(params, 1, 2)
        return str(codecs.out(self.tester.get_code(codecs.address(address), self._block_id(block))))

    def rpc_eth_getStorageAt(self, params: Any) -> str:
        address, slot, block = codecs.params(params, 2, 3)
        position = hex(codecs.quantity(slot, "storage slot"))
        return str(codecs.out(self.tester.get_storage_at(codecs.address(address), position, self._block_id(block))))

    # -------------------------------------------------------------------------------- execution

    def rpc_eth_call(self, params: Any) -> str:
        raw_tx, block, overrides = codecs.params(params, 1, 3)
        if overrides:
            raise invalid_params("state overrides are not supported by the devnet")
        tx, number = self._tx_object(raw_tx), self._block_number(block)
        return "0x" + execute_call(self.tester.backend.chain, self.chain_id, tx, number).hex()

    def rpc_eth_estimateGas(self, params: Any) -> str:
        raw_tx, block, overrides = codecs.params(params, 1, 3)
        if overrides:
            raise invalid_params("state overrides are not supported by the devnet")
        tx, block_id = self._tx_object(raw_tx), self._block_id(block)
        tx.pop("gas", None)  # eth-tester searches up to the block gas limit
        if not any(k in tx for k in ("gas_price", "max_fee_per_gas", "max_priority_fee_per_gas")):
            tx.update(max_fee_per_gas=0, max_priority_fee_per_gas=0)  # as geth: no fees, no balance needed
        try:
            return hex(self.tester.estimate_gas(tx, block_id))
        except (TransactionFailed, VMError) as exc:
            raise estimate_error(exc) from None

    def rpc_eth_sendRawTransaction(self, params: Any) -> str:
        (raw_hex,) = codecs.params(params, 1, 1)
        raw = codecs.data(raw_hex, "signed transaction")
        tx_chain_id = codecs.raw_chain_id(raw)
        if tx_chain_id is not None and tx_chain_id != self.chain_id:
            raise RpcError(SERVER_ERROR, f"invalid chain id for signer: have {tx_chain_id} want {self.chain_id}")
        try:
            return str(self.tester.send_raw_transaction("0x" + raw.hex()))
        except (TesterValidationError, EvmValidationError, ValueError) as exc:
            raise RpcError(SERVER_ERROR, refusal_message(str(exc))) from None
        except Exception as exc:  # noqa: BLE001 - undecodable or unsupported bytes
            raise RpcError(SERVER_ERROR, f"invalid transaction: {type(exc).__name__}: {exc}") from None

    def rpc_eth_sendTransaction(self, params: Any) -> str:
        """Send from one of eth-tester's unlocked genesis accounts (``eth_accounts``)."""
        (raw_tx,) = codecs.params(params, 1, 1)
        tx = self._tx_object(raw_tx)
        if not isinstance(raw_tx, dict) or not raw_tx.get("from"):
            raise invalid_params("from is required")
        if tx["from"] not in self.tester.get_accounts():
            raise RpcError(SERVER_ERROR, f"unknown account {tx['from']}: the devnet only unlocks eth_accounts")
        if "gas" not in tx:
            try:
                tx["gas"] = self.tester.estimate_gas({k: v for k, v in tx.items() if k != "nonce"})
            except (TransactionFailed, VMError):
                tx["gas"] = self._latest()["gas_limit"] // 2  # let it be mined and fail with status 0
        try:
            return str(self.tester.send_transaction(tx))
        except (TesterValidationError, EvmValidationError, ValueError) as exc:
            raise RpcError(SERVER_ERROR, refusal_message(str(exc))) from None

    # -------------------------------------------------------------------------------- blocks, txs, logs

    def rpc_eth_getTransactionByHash(self, params: Any) -> dict[str, Any] | None:
        (tx_hash,) = codecs.params(params, 1, 1)
        try:
            return codecs.fmt_tx(self.tester.get_transaction_by_hash(codecs.hash32(tx_hash)))
        except TransactionNotFound:
            return None

    def rpc_eth_getTransactionReceipt(self, params: Any) -> dict[str, Any] | None:
        (tx_hash,) = codecs.params(params, 1, 1)
        try:
            receipt = self.tester.get_transaction_receipt(codecs.hash32(tx_hash))
        except TransactionNotFound:
            return None
        return None if receipt.get("block_number") is None else codecs.fmt_receipt(receipt)

    def rpc_eth_getBlockByNumber(self, params: Any) -> dict[str, Any] | None:
        block, full = codecs.params(params, 1, 2)
        full = codecs.boolean(full, "full transactions flag") if full is not None else False
        try:
            return codecs.fmt_block(self.tester.get_block_by_number(self._block_id(block, pending=True), full), full)
        except (BlockNotFound, RpcError) as exc:
            if isinstance(exc, RpcError) and exc.code != SERVER_ERROR:
                raise
            return None

    def rpc_eth_getBlockByHash(self, params: Any) -> dict[str, Any] | None:
        block_hash, full = codecs.params(params, 1, 2)
        full = codecs.boolean(full, "full transactions flag") if full is not None else False
        try:
            return codecs.fmt_block(self.tester.get_block_by_hash(codecs.hash32(block_hash), full), full)
        except BlockNotFound:
            return None

    def rpc_eth_getBlockTransactionCountByNumber(self, params: Any) -> str | None:
        block = self.rpc_eth_getBlockByNumber([codecs.params(params, 1, 1)[0], False])
        return None if block is None else hex(len(block["transactions"]))

    def rpc_eth_getBlockTransactionCountByHash(self, params: Any) -> str | None:
        block = self.rpc_eth_getBlockByHash([codecs.params(params, 1, 1)[0], False])
        return None if block is None else hex(len(block["transactions"]))

    def rpc_eth_getLogs(self, params: Any) -> list[dict[str, Any]]:
        (raw,) = codecs.params(params, 1, 1)
        return self._logs(LogQuery.parse(raw))

    # -------------------------------------------------------------------------------- filters (polling)

    def rpc_eth_newFilter(self, params: Any) -> str:
        (raw,) = codecs.params(params, 1, 1)
        query = LogQuery.parse(raw)
        if query.block_hash is not None:
            raise invalid_params("blockHash is not supported in eth_newFilter")
        start = self._latest()["number"] + 1 if query.from_block in ("latest", "pending") \
            else self._block_number(query.from_block)
        return self._add_filter({"kind": "logs", "query": query, "next": start})

    def rpc_eth_newBlockFilter(self, params: Any) -> str:
        codecs.params(params, 0, 0)
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
        query: LogQuery = entry["query"]
        high = latest if query.to_block in ("latest", "pending") else min(latest, self._block_number(query.to_block))
        return self._logs_between(query, low, high) if low <= high else []

    def rpc_eth_getFilterLogs(self, params: Any) -> list[dict[str, Any]]:
        _, entry = self._filter(params)
        if entry["kind"] != "logs":
            raise invalid_params("not a log filter")
        return self._logs(entry["query"])

    def rpc_eth_uninstallFilter(self, params: Any) -> bool:
        (fid,) = codecs.params(params, 1, 1)
        return self._filters.pop(codecs.quantity(fid, "filter id"), None) is not None

    # -------------------------------------------------------------------------------- dev methods

    def rpc_evm_snapshot(self, params: Any) -> str:
        codecs.params(params, 0, 0)
        return hex(self.tester.take_snapshot())

    def rpc_evm_revert(self, params: Any) -> bool:
        """Return to a snapshot (which stays usable, as eth-tester keeps it); False when unknown."""
        (snapshot,) = codecs.params(params, 1, 1)
        try:
            self.tester.revert_to_snapshot(codecs.quantity(snapshot, "snapshot id"))
        except SnapshotNotFound:
            return False
        return True

    def rpc_evm_increaseTime(self, params: Any) -> str:
        """Push the next block's timestamp ``seconds`` later (mines one filler block; see module doc)."""
        (seconds_raw,) = codecs.params(params, 1, 1)
        seconds = codecs.quantity(seconds_raw, "seconds")
        if seconds:
            pending = self.tester.get_block_by_number("pending")["timestamp"]
            self._set_next_timestamp(pending + seconds)
            self._time_offset += seconds
        return hex(self._time_offset)

    def rpc_evm_setNextBlockTimestamp(self, params: Any) -> None:
        (timestamp,) = codecs.params(params, 1, 1)
        self._set_next_timestamp(codecs.quantity(timestamp, "timestamp"))
        return None

    def rpc_evm_mine(self, params: Any) -> str:
        """Mine one block, or ``{"blocks": n}``; an optional timestamp (number or ``{"timestamp"}``) first."""
        (option,) = codecs.params(params, 0, 1)
        blocks, timestamp = 1, None
        if isinstance(option, dict):
            blocks = codecs.quantity(option["blocks"], "blocks") if option.get("blocks") is not None else 1
            timestamp = option.get("timestamp")
        elif option is not None:
            timestamp = option
        if not 1 <= blocks <= 10_000:
            raise invalid_params("blocks must be between 1 and 10000")
        if timestamp is not None:
            self._set_next_timestamp(codecs.quantity(timestamp, "timestamp"))
        self.tester.mine_blocks(blocks)
        return "0x0"


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"
