"""The one module that broadcasts transactions.

:meth:`Sender.send` checks the chain id, simulates the call with ``eth_call`` (a revert becomes a typed
:class:`~nvm_chain.errors.ContractRevertError` and nothing is signed), reserves a nonce, signs locally,
broadcasts and waits for the receipt. Outcomes:

- mined, status 1 → :class:`TxReceipt` with every log decoded;
- mined, status 0 → :class:`~nvm_chain.errors.ContractRevertError` carrying the tx hash, with the reason
  found by replaying the call at the parent block;
- no receipt in time → :class:`TransactionPending` with the hash: the transaction may still be mined, it is
  never reported as failed;
- refused by the node → :class:`BroadcastError` (the nonce is released, nothing was sent).

A lost answer to ``eth_sendRawTransaction`` is handled by re-sending the same signed bytes (the hash is
known before sending, so this is idempotent); a transaction is never re-signed with a new nonce unless the
node proves the first one unknown.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from web3 import Web3
from web3.exceptions import TransactionNotFound

from nvm_chain.chain.abi import DecodedEvent, decode_log, registry
from nvm_chain.chain.tx.gas import Fees, eip1559_fees
from nvm_chain.chain.tx.nonces import NonceAllocator
from nvm_chain.chain.tx.refusals import classify_refusal
from nvm_chain.chain.tx.reverts import revert_data
from nvm_chain.chain.tx.signer import LocalSigner
from nvm_chain.errors import (
    BroadcastError,
    ChainMismatchError,
    ContractRevertError,
    DryRun,
    InsufficientFundsError,
    Refusal,
    TransactionPending,
)


@dataclass(frozen=True)
class TxRequest:
    """What to send: ``to`` (None deploys ``data`` as creation code), calldata, gas limit and value."""

    to: str | None
    data: bytes
    gas: int
    value: int = 0
    action: str = ""


@dataclass(frozen=True)
class TxReceipt:
    """A transaction mined with status 1, its logs decoded against the protocol ABIs."""

    tx_hash: str
    status: int
    block_number: int
    gas_used: int
    contract_address: str | None
    nonce: int | None
    logs: tuple[Any, ...] = field(repr=False)
    events: tuple[DecodedEvent, ...] = field(repr=False, default=())

    def events_named(self, name: str) -> list[DecodedEvent]:
        """The decoded events called ``name``, in log order."""
        return [e for e in self.events if e.name == name]

_TRANSPORT_ERRORS = (OSError,)  # requests/httpx connection errors and timeouts derive from OSError


class Sender:
    """Signs with one :class:`LocalSigner` and broadcasts through one web3 connection."""

    def __init__(
        self,
        w3: Web3,
        signer: LocalSigner,
        *,
        chain_id: int | None = None,
        nonces: NonceAllocator | None = None,
        contracts: Mapping[str, str] | None = None,
        priority_fee: int = 10**6,
        max_fee_ceiling: int | None = None,
        receipt_timeout: float = 120.0,
        fee_ttl: float = 2.0,
        dry_run: bool = False,
    ):
        """``contracts`` maps address → contract name, to decode logs by address and topic.

        ``priority_fee`` (wei/gas) and ``max_fee_ceiling`` feed the EIP-1559 policy of ``nvm_chain.chain.tx.gas``;
        a fee quote is reused for ``fee_ttl`` seconds (the policy already allows three blocks of base-fee
        growth), which saves a block read per transaction when several are sent in a row. With ``dry_run``
        every send stops after its simulation with :class:`DryRun`.
        """
        self.w3 = w3
        self.signer = signer
        self.receipt_timeout = receipt_timeout
        self.fee_ttl = fee_ttl
        self.dry_run = dry_run
        self._fee_quote: tuple[float, Fees] | None = None
        self.priority_fee = priority_fee
        self.max_fee_ceiling = max_fee_ceiling
        self._expected_chain_id = chain_id
        self._chain_id: int | None = None
        self.nonces = nonces or NonceAllocator(lambda a: w3.eth.get_transaction_count(a, "pending"))
        self._names = {Web3.to_checksum_address(a): n for a, n in (contracts or {}).items()}

    def __repr__(self) -> str:
        return f"Sender(address={self.signer.address})"

    # ------------------------------------------------------------------ checks and policy

    def chain_id(self) -> int:
        """The node's chain id, checked once against the expected one.

        Raises:
            ChainMismatchError: the node is on another chain.
        """
        if self._chain_id is None:
            actual = self.w3.eth.chain_id
            if self._expected_chain_id is not None and actual != self._expected_chain_id:
                raise ChainMismatchError(
                    f"node is on chain {actual}, expected {self._expected_chain_id}; nothing signed")
            self._chain_id = actual
        return self._chain_id

    def fees(self) -> Fees:
        """EIP-1559 fees for the next block (one ``eth_getBlockByNumber``, reused for ``fee_ttl`` seconds)."""
        now = time.monotonic()
        if self._fee_quote is not None and now - self._fee_quote[0] < self.fee_ttl:
            return self._fee_quote[1]
        base_fee = self.w3.eth.get_block("latest")["baseFeePerGas"]
        fees = eip1559_fees(base_fee, priority_fee=self.priority_fee, max_fee_ceiling=self.max_fee_ceiling)
        self._fee_quote = (now, fees)
        return fees

    def max_cost(self, requests: list[TxRequest]) -> int:
        """Upper bound in wei of what ``requests`` can cost now (gas limits × max fee + values)."""
        fees = self.fees()
        return sum(r.gas * fees.max_fee_per_gas + r.value for r in requests)

    def simulate(self, request: TxRequest) -> bytes:
        """Run ``request`` with ``eth_call`` from the signer; return its output.

        Raises:
            ContractRevertError: it would revert (nothing is signed or sent).
        """
        return self._call(request, "latest")

    def _call(self, request: TxRequest, block: Any) -> bytes:
        tx: dict[str, Any] = {"from": self.signer.address, "data": request.data, "value": request.value,
                              "gas": request.gas}
        if request.to is not None:
            tx["to"] = request.to
        try:
            return bytes(self.w3.eth.call(tx, block))
        except Exception as exc:  # noqa: BLE001 - every backend raises its own class for a revert
            raw = revert_data(exc)
            if raw is None:
                if classify_refusal(str(exc)) is Refusal.INSUFFICIENT_FUNDS:  # py-evm charges gas in eth_call
                    raise self._refused(request, exc, []) from exc
                raise
            raise ContractRevertError(registry().decode_revert(raw), raw, action=request.action) from None

    # ------------------------------------------------------------------ sending

    def send(self, request: TxRequest, *, simulate: bool = True, wait: bool = True,
             timeout: float | None = None) -> TxReceipt | str:
        """Simulate, sign, broadcast and (by default) wait for ``request``.

        Returns the :class:`TxReceipt`, or the tx hash when ``wait=False``.

        Raises:
            ChainMismatchError: the node is on another chain (nothing signed).
            ContractRevertError: the simulation reverted (nothing sent), or the transaction was mined with
                status 0 (``tx_hash`` set).
            DryRun: dry-run mode, after a successful simulation (nothing signed).
            BroadcastError / InsufficientFundsError: the node refused it (nothing sent).
            TransactionPending: sent, but no receipt within the timeout.
        """
        chain_id = self.chain_id()
        if simulate or self.dry_run:
            output = self.simulate(request)
            if self.dry_run:
                raise DryRun(request, output)
        fees = self.fees()
        nonce = self.nonces.reserve(self.signer.address)
        try:
            raw, tx_hash = self._sign(request, chain_id, nonce, fees)
        except Exception:
            self.nonces.release(self.signer.address, nonce)
            raise
        tx_hash, nonce = self._broadcast(request, raw, tx_hash, nonce, chain_id, fees)
        if not wait:
            return tx_hash
        return self._settle(request, self.wait(tx_hash, timeout, nonce=nonce))

    def send_batch(self, requests: list[TxRequest]) -> list[TxReceipt]:
        """Sign ``requests`` with consecutive nonces, broadcast them all, then wait for every receipt.

        Nothing is simulated (a batch may call contracts that its own earlier transactions create).

        Raises:
            ChainMismatchError, BroadcastError (``sent`` lists what was accepted), TransactionPending,
            ContractRevertError: as for :meth:`send`.
        """
        chain_id = self.chain_id()
        if self.dry_run:
            raise DryRun(requests[0], b"")
        fees = self.fees()
        first = self.nonces.reserve(self.signer.address, len(requests))
        signed = [self._sign(r, chain_id, first + i, fees) for i, r in enumerate(requests)]
        sent: list[str] = []
        for i, ((raw, tx_hash), req) in enumerate(zip(signed, requests)):
            try:
                self._raw_send(raw)
            except Exception as exc:  # noqa: BLE001 - classified below
                self.nonces.resync(self.signer.address)
                raise self._refused(req, exc, sent) from exc
            sent.append(tx_hash)
        receipts = [self.wait(h, nonce=first + i) for i, h in enumerate(sent)]
        return [self._settle(req, r) for req, r in zip(requests, receipts)]

    def rebroadcast(self, raw: bytes) -> str:
        """Send already-signed bytes again (safe: same hash). Returns the hash.

        Raises:
            BroadcastError: the node refused them for a reason other than knowing them already.
        """
        from eth_utils import keccak

        tx_hash = "0x" + keccak(raw).hex()
        try:
            self._raw_send(raw)
        except Exception as exc:  # noqa: BLE001
            if not self._known(tx_hash, exc):
                raise self._refused(TxRequest(None, b"", 0, action="rebroadcast"), exc, []) from exc
        return tx_hash

    def wait(self, tx_hash: str, timeout: float | None = None, *, nonce: int | None = None) -> TxReceipt:
        """Wait for the receipt of ``tx_hash`` (status 0 included; see :meth:`send` for the raise).

        Raises:
            TransactionPending: no receipt within ``timeout`` seconds (default ``receipt_timeout``).
        """
        limit = self.receipt_timeout if timeout is None else timeout
        return wait_for_receipt(self.w3, tx_hash, limit, names=self._names, nonce=nonce)

    # ------------------------------------------------------------------ internals

    def _sign(self, req: TxRequest, chain_id: int, nonce: int, fees: Fees) -> tuple[bytes, str]:
        tx: dict[str, Any] = {
            "type": 2, "chainId": chain_id, "nonce": nonce, "gas": req.gas,
            "maxFeePerGas": fees.max_fee_per_gas, "maxPriorityFeePerGas": fees.max_priority_fee_per_gas,
            "value": req.value, "data": req.data,
        }
        if req.to is not None:
            tx["to"] = req.to
        return self.signer.sign_transaction(tx)

    def _raw_send(self, raw: bytes) -> None:
        self.w3.eth.send_raw_transaction(raw)

    def _broadcast(self, req: TxRequest, raw: bytes, tx_hash: str, nonce: int, chain_id: int,
                   fees: Fees) -> tuple[str, int]:
        """Broadcast once; resend the same bytes after a lost answer; re-sign only on a proven-unused nonce.
        Returns the hash and nonce of what the node accepted."""
        address = self.signer.address
        try:
            self._raw_send(raw)
            return tx_hash, nonce
        except _TRANSPORT_ERRORS:
            try:  # the node may have accepted it before the answer was lost: same bytes, same hash
                self._raw_send(raw)
                return tx_hash, nonce
            except _TRANSPORT_ERRORS:
                raise TransactionPending(tx_hash, 0, nonce) from None
            except Exception as exc:  # noqa: BLE001
                if self._known(tx_hash, exc):
                    return tx_hash, nonce
                self.nonces.resync(address)
                raise self._refused(req, exc, []) from exc
        except Exception as exc:  # noqa: BLE001 - a refusal, classified below
            if self._known(tx_hash, exc):
                return tx_hash, nonce
            refusal = classify_refusal(str(exc))
            if refusal in (Refusal.NONCE_TOO_LOW, Refusal.NONCE_TOO_HIGH):
                # our nonce was stale and this transaction is provably unknown: one retry with a fresh nonce
                self.nonces.resync(address)
                fresh = self.nonces.reserve(address)
                raw, tx_hash = self._sign(req, chain_id, fresh, fees)
                try:
                    self._raw_send(raw)
                    return tx_hash, fresh
                except Exception as again:  # noqa: BLE001
                    self.nonces.resync(address)
                    raise self._refused(req, again, []) from again
            if refusal is Refusal.INSUFFICIENT_FUNDS or refusal is Refusal.OTHER:
                self.nonces.release(address, nonce)
            else:
                self.nonces.resync(address)
            raise self._refused(req, exc, []) from exc

    def _known(self, tx_hash: str, exc: Exception) -> bool:
        """True when the node already has ``tx_hash`` (its refusal was "already known", or "nonce too low"
        because this very transaction was mined)."""
        refusal = classify_refusal(str(exc))
        if refusal is Refusal.ALREADY_KNOWN:
            return True
        if refusal is Refusal.NONCE_TOO_LOW:
            try:
                self.w3.eth.get_transaction(tx_hash)
                return True
            except TransactionNotFound:
                return False
        return False

    def _refused(self, req: TxRequest, exc: Exception, sent: list[str]) -> BroadcastError:
        refusal = classify_refusal(str(exc))
        what = req.action or "transaction"
        cls = InsufficientFundsError if refusal is Refusal.INSUFFICIENT_FUNDS else BroadcastError
        return cls(f"{what} not sent ({refusal.value}): {exc}", refusal, sent)

    def _settle(self, req: TxRequest, receipt: TxReceipt) -> TxReceipt:
        if receipt.status == 1:
            return receipt
        call = {"from": self.signer.address, "to": req.to, "data": req.data, "value": req.value, "gas": req.gas}
        raise replay_revert(self.w3, call, receipt, req.action)


def wait_for_receipt(w3: Web3, tx_hash: str, timeout: float, *, names: Mapping[str, str] | None = None,
                     nonce: int | None = None) -> TxReceipt:
    """Poll for the receipt of ``tx_hash`` (with backoff) and decode its logs; ``names`` maps contract
    addresses to artifact names so logs decode by address and topic. Needs no account.

    Raises:
        TransactionPending: no receipt within ``timeout`` seconds.
    """
    names = names or {}
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        try:
            r = w3.eth.get_transaction_receipt(tx_hash)
        except TransactionNotFound:
            r = None
        if r is not None:
            logs = tuple(r["logs"])
            events = tuple(e for e in (decode_log(log, contract=names.get(log["address"])) for log in logs)
                           if e is not None)
            return TxReceipt(tx_hash, r["status"], r["blockNumber"], r["gasUsed"], r.get("contractAddress"),
                             nonce, logs, events)
        if time.monotonic() >= deadline:
            raise TransactionPending(tx_hash, timeout, nonce)
        time.sleep(delay)
        delay = min(delay * 2, 1.0)


def replay_revert(w3: Web3, call: dict[str, Any], receipt: TxReceipt, action: str = "") -> ContractRevertError:
    """The decoded reason of a transaction mined with status 0: ``call`` (from, to, data, value, gas) is
    replayed with ``eth_call`` on the state of the block before the receipt's."""
    tx = {k: v for k, v in call.items() if v is not None}
    data = b""
    try:
        w3.eth.call(tx, receipt.block_number - 1)
    except Exception as exc:  # noqa: BLE001 - every backend raises its own class for a revert
        data = revert_data(exc) or b""
    return ContractRevertError(registry().decode_revert(data), data, action=action, tx_hash=receipt.tx_hash)
