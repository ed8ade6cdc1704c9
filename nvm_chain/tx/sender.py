"""The one module that broadcasts transactions.

Flow of :meth:`Sender.send_batch`: check the chain id, take consecutive nonces, sign locally, broadcast
the signed bytes, then wait for every receipt. A receipt that does not arrive in time raises
:class:`TransactionPending` with the hash (the transaction may still be mined: it is never reported as
failed), a mined status-0 transaction raises :class:`~nvm_chain.errors.ContractRevertError` with the
reason found by replaying it with ``eth_call``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from web3 import Web3
from web3.exceptions import TransactionNotFound

from nvm_chain.abi import registry
from nvm_chain.errors import ContractRevertError, NvmChainError
from nvm_chain.tx.fees import eip1559_fees
from nvm_chain.tx.reverts import revert_data
from nvm_chain.tx.signer import LocalSigner


class ChainMismatchError(NvmChainError, ValueError):
    """The node reports a different chain id than the one the caller expects; nothing was signed."""


class TransactionPending(NvmChainError, TimeoutError):
    """The transaction was broadcast but no receipt arrived in time. It may still be mined."""

    def __init__(self, tx_hash: str, timeout: float):
        self.tx_hash = tx_hash
        super().__init__(f"transaction pending, hash {tx_hash}: no receipt after {timeout:g} s")


class BroadcastError(NvmChainError):
    """The node refused a signed transaction. ``sent`` lists the hashes of the batch's earlier
    transactions, which were accepted; the refused one and those after it were not sent."""

    def __init__(self, message: str, sent: list[str]):
        self.sent = sent
        super().__init__(message)


@dataclass(frozen=True)
class TxRequest:
    """What to send: ``to`` (None deploys ``data`` as creation code), calldata, value and gas limit."""

    to: str | None
    data: bytes
    gas: int
    value: int = 0
    action: str = ""


@dataclass(frozen=True)
class Receipt:
    """A mined transaction."""

    tx_hash: str
    status: int
    block_number: int
    gas_used: int
    contract_address: str | None
    logs: tuple[Any, ...] = field(repr=False)


class Sender:
    """Signs with one :class:`LocalSigner` and broadcasts through one web3 connection."""

    def __init__(self, w3: Web3, signer: LocalSigner, *, chain_id: int | None = None, receipt_timeout: float = 120.0):
        self.w3 = w3
        self.signer = signer
        self.receipt_timeout = receipt_timeout
        self._expected_chain_id = chain_id
        self._lock = threading.Lock()
        self._next_nonce: int | None = None

    def __repr__(self) -> str:
        return f"Sender(address={self.signer.address})"

    def _chain_id(self) -> int:
        actual = self.w3.eth.chain_id
        if self._expected_chain_id is not None and actual != self._expected_chain_id:
            raise ChainMismatchError(f"node is on chain {actual}, expected {self._expected_chain_id}; nothing signed")
        return actual

    def send(self, request: TxRequest) -> Receipt:
        """Send one transaction and wait for its receipt (see :meth:`send_batch`)."""
        return self.send_batch([request])[0]

    def send_batch(self, requests: list[TxRequest]) -> list[Receipt]:
        """Sign and broadcast ``requests`` with consecutive nonces, then wait for all receipts.

        Raises:
            ChainMismatchError: the node is on another chain (nothing signed).
            TransactionPending: a receipt did not arrive within ``receipt_timeout``.
            ContractRevertError: a transaction was mined with status 0.
        """
        chain_id = self._chain_id()
        base_fee = self.w3.eth.get_block("latest")["baseFeePerGas"]
        fees = eip1559_fees(base_fee)
        with self._lock:
            if self._next_nonce is None:
                self._next_nonce = self.w3.eth.get_transaction_count(self.signer.address, "pending")
            signed = []
            for offset, req in enumerate(requests):
                tx = {
                    "type": 2,
                    "chainId": chain_id,
                    "nonce": self._next_nonce + offset,
                    "gas": req.gas,
                    "maxFeePerGas": fees.max_fee_per_gas,
                    "maxPriorityFeePerGas": fees.max_priority_fee_per_gas,
                    "value": req.value,
                    "data": req.data,
                }
                if req.to is not None:
                    tx["to"] = req.to
                signed.append(self.signer.sign_transaction(tx))
            sent: list[str] = []
            for (raw, tx_hash), req in zip(signed, requests):
                try:
                    self.w3.eth.send_raw_transaction(raw)
                except Exception as exc:  # noqa: BLE001 - each backend rejects with its own class
                    self._next_nonce = None  # resync from the node next time
                    what = req.action or "transaction"
                    raise BroadcastError(f"{what} not sent: {exc}", sent) from exc
                sent.append(tx_hash)
            self._next_nonce += len(signed)
        receipts = [self.wait(tx_hash) for _, tx_hash in signed]
        for req, receipt in zip(requests, receipts):
            if receipt.status != 1:
                raise self._explain_failure(req, receipt)
        return receipts

    def max_cost(self, requests: list[TxRequest]) -> int:
        """Upper bound in wei of what ``requests`` can cost at the current base fee (gas limits × max fee + values)."""
        fees = eip1559_fees(self.w3.eth.get_block("latest")["baseFeePerGas"])
        return sum(r.gas * fees.max_fee_per_gas + r.value for r in requests)

    def wait(self, tx_hash: str, timeout: float | None = None) -> Receipt:
        """Wait for the receipt of ``tx_hash``.

        Raises:
            TransactionPending: no receipt within ``timeout`` seconds (default ``receipt_timeout``).
        """
        limit = self.receipt_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        delay = 0.005
        while True:
            try:
                r = self.w3.eth.get_transaction_receipt(tx_hash)
            except TransactionNotFound:
                r = None
            if r is not None:
                return Receipt(
                    tx_hash=tx_hash,
                    status=r["status"],
                    block_number=r["blockNumber"],
                    gas_used=r["gasUsed"],
                    contract_address=r.get("contractAddress"),
                    logs=tuple(r["logs"]),
                )
            if time.monotonic() >= deadline:
                raise TransactionPending(tx_hash, limit)
            time.sleep(delay)
            delay = min(delay * 2, 1.0)

    def _explain_failure(self, req: TxRequest, receipt: Receipt) -> ContractRevertError:
        """Replay a failed transaction with eth_call at its block's parent to recover the revert reason."""
        call = {"from": self.signer.address, "data": req.data, "value": req.value, "gas": req.gas}
        if req.to is not None:
            call["to"] = req.to
        data = b""
        try:
            self.w3.eth.call(call, receipt.block_number - 1)
        except Exception as exc:  # noqa: BLE001 - any backend's revert exception
            data = revert_data(exc) or b""
        return ContractRevertError(registry().decode_revert(data), data, action=req.action, tx_hash=receipt.tx_hash)
