"""The one module that broadcasts transactions.

:meth:`Sender.send` checks the chain id, simulates the call with ``eth_call`` (a revert becomes a typed
:class:`~nvm_chain.errors.ContractRevertError` and nothing is signed), reserves a nonce in the account's
:class:`~nvm_chain.chain.tx.journal.Journal`, signs locally, records the signed bytes, broadcasts and waits.
Every write ends in exactly one of:

- **mined** → :class:`TxReceipt`; a receipt with status 0 → ``ContractRevertError`` carrying the hash, its
  reason found by replaying the call at the parent block;
- **not sent** → :class:`~nvm_chain.errors.BroadcastError` (the nonce is free again);
- **pending** → :class:`~nvm_chain.errors.TransactionPending` with the hash and nonce: the node has or may
  have the transaction; it is never reported as failed. ``wait``/``nvm-chain tx wait`` resume.

Exactly once: the same signed bytes may be sent again (their hash is fixed), so a lost answer is followed by a
resend of those bytes, and a transaction is re-signed with a fresh nonce only when the node proves the first
one was not taken. "already known" / "nonce too low" are adopted as ours only when the journal recorded that
we broadcast those exact bytes before: identical bytes signed by another process sharing the key never make a
false success. Nonces come from the journal under a lock shared by every thread and process of the account;
a node count that went backwards (reorg) drops the journal's mined rows above it, and a pending transaction
the node does not know after ``lost_after`` seconds is recorded dropped, so its nonce is used again.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from typing import Any, TypeVar

from eth_account.typed_transactions.typed_transaction import TypedTransaction
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import TransactionNotFound, Web3RPCError
from web3.types import RPCEndpoint

from nvm_chain.chain import facts
from nvm_chain.chain.abi import registry
from nvm_chain.chain.codec import checksum
from nvm_chain.chain.reads import call_output
from nvm_chain.chain.rpc import (
    SEND_IF_ALL_SUCCEED,
    SEND_IF_SUCCEEDS,
    FailoverProvider,
    answers_json,
    plain_result,
)
from nvm_chain.chain.tx.gas import Fees, eip1559_fees
from nvm_chain.chain.tx.journal import Journal, JournalEntry, Quiet, Status, Write, intent_key
from nvm_chain.chain.tx.refusals import classify_refusal
from nvm_chain.chain.tx.reverts import revert_data
from nvm_chain.chain.tx.signer import LocalSigner
from nvm_chain.chain.tx.types import TxReceipt, TxRequest
from nvm_chain.errors import (
    BroadcastError,
    ChainMismatchError,
    ContractRevertError,
    DryRun,
    DuplicateIntentError,
    InsufficientFundsError,
    NodeUnavailableError,
    Refusal,
    TransactionPending,
    ValidationError,
)

__all__ = ["Sender", "refresh_entry", "replay_revert", "transaction_count", "wait_for_receipt"]

#: how many fresh nonces one write may try when other senders of the same key keep taking them
FRESH_NONCE_TRIES = 5
#: resends of the same signed bytes after transport errors, before concluding
RESENDS = 3
#: fee bump of a replacement (speed-up, cancel): nodes require at least +10% on both fee fields
REPLACEMENT_BUMP = 1.125

_TRANSPORT = (NodeUnavailableError, OSError)  # requests' errors derive from OSError
_T = TypeVar("_T")
_MEMORY_JOURNALS: weakref.WeakKeyDictionary[Any, dict[tuple[int, str], Journal]] = weakref.WeakKeyDictionary()
_MEMORY_LOCK = threading.Lock()


def memory_journal(w3: Web3, chain_id: int, address: str) -> Journal:
    """The in-memory journal of ``address`` on the chain behind ``w3``, shared by every sender of this process
    that uses the same provider (embedded chains and tests: nothing outlives the chain)."""
    with _MEMORY_LOCK:
        journals = _MEMORY_JOURNALS.setdefault(w3.provider, {})
        key = (chain_id, address)
        if key not in journals:
            journals[key] = Journal.in_memory(chain_id, address)
        return journals[key]


class Sender:
    """Signs with one :class:`LocalSigner` and broadcasts through one web3 connection."""

    def __init__(
        self,
        w3: Web3,
        signer: LocalSigner,
        *,
        chain_id: int | None = None,
        journal: Journal | Callable[[int], Journal] | None = None,
        contracts: Mapping[str, str] | None = None,
        priority_fee: int = 10**6,
        max_fee_ceiling: int | None = None,
        receipt_timeout: float = 120.0,
        fee_ttl: float = 2.0,
        nonce_ttl: float = 0.0,
        lost_after: float = 30.0,
        dry_run: bool = False,
        refuse_duplicates: bool = False,
    ):
        """``journal`` is the account's journal, or a function of the chain id opening it (default: an
        in-memory journal shared per provider). ``contracts`` maps address → contract name, to decode logs.

        ``priority_fee`` (wei/gas) and ``max_fee_ceiling`` feed the EIP-1559 policy of :mod:`nvm_chain.chain.tx.gas`;
        a fee quote is reused for ``fee_ttl`` seconds. With ``nonce_ttl`` > 0 the node's pending count is asked at
        most that often (one request less per write; the journal still keeps nonces distinct and a nonce another
        machine took is refused and retried), at the price of noticing a reorg only when it is asked again: off by
        default, except on providers with ``refuses_nonce_gaps`` (the embedded chains), where a stale count is
        refused rather than queued, and asked again. ``receipt_timeout`` bounds each wait for a receipt, retries
        included. A pending transaction the node does not know after ``lost_after`` seconds is recorded dropped.
        With ``dry_run`` every send stops after its simulation with :class:`DryRun`. With ``refuse_duplicates``
        (the CLI) a write whose identical intent is still pending from an earlier run raises
        :class:`DuplicateIntentError` unless ``new=True`` is passed.
        """
        self.w3 = w3
        self.signer = signer
        self._address = checksum(signer.address)
        self.receipt_timeout = receipt_timeout
        self.fee_ttl = fee_ttl
        self.nonce_ttl = nonce_ttl
        self.lost_after = lost_after
        self.dry_run = dry_run
        self.refuse_duplicates = refuse_duplicates
        self.priority_fee = priority_fee
        self.max_fee_ceiling = max_fee_ceiling
        #: the node's pending count as of a read (monotonic time), raised by what this sender got accepted since;
        #: reused for ``nonce_ttl`` seconds, forgotten after any refusal or uncertain outcome
        self._count_hint: tuple[float, int] | None = None
        #: an embedded chain refuses a nonce ahead of the account's (no queue): a count that went backwards (a
        #: snapshot reverted) shows up as a refusal, re-asked at once, so the hint is kept for as long as it works
        self._gapless = bool(getattr(w3.provider, "refuses_nonce_gaps", False))
        self._quote: tuple[tuple[int, int, int | None], Fees] | None = None  # (base fee, policy) → fees
        self._expected_chain_id = chain_id
        self._chain_id: int | None = None
        self._journal_source = journal
        self._journal: Journal | None = journal if isinstance(journal, Journal) else None
        self._journal_lock = threading.Lock()
        self._names: dict[str, str] = {checksum(a): n for a, n in (contracts or {}).items()}

    def __repr__(self) -> str:
        return f"Sender(address={self.signer.address})"

    # ------------------------------------------------------------------ checks and policy

    def chain_id(self) -> int:
        """The node's chain id, checked once against the expected one.

        Raises:
            ChainMismatchError: the node is on another chain (nothing signed).
            NodeUnavailableError: the node could not be reached.
        """
        if self._chain_id is None:
            actual = facts.chain_id(self.w3)
            if self._expected_chain_id is not None and actual != self._expected_chain_id:
                raise ChainMismatchError(
                    f"node is on chain {actual}, expected {self._expected_chain_id}; nothing signed")
            self._chain_id = actual
        return self._chain_id

    @property
    def journal(self) -> Journal:
        """The account's transaction journal on this chain (opened on first use)."""
        if self._journal is not None:  # set once, never changed
            return self._journal
        with self._journal_lock:  # threads sharing a sender share one journal connection
            if self._journal is None:
                chain_id = self.chain_id()
                source = self._journal_source
                self._journal = source(chain_id) if callable(source) else memory_journal(
                    self.w3, chain_id, self.signer.address)
            return self._journal

    def fees(self, *, fresh: bool = False) -> Fees:
        """EIP-1559 fees for the next block, from a base fee read at most ``fee_ttl`` seconds ago (by this
        sender or another one on the same provider: :mod:`nvm_chain.chain.facts`), or read now (``fresh``)."""
        key = (facts.base_fee(self.w3, 0.0 if fresh else self.fee_ttl), self.priority_fee, self.max_fee_ceiling)
        if self._quote is None or self._quote[0] != key:  # the same quote for as long as the base fee holds
            self._quote = key, eip1559_fees(key[0], priority_fee=key[1], max_fee_ceiling=key[2])
        return self._quote[1]

    @property
    def sends_together(self) -> bool:
        """Whether :meth:`send_together` can be used: the provider declares ``supports_send_if_all_succeed``
        (the embedded chains) and this is no dry run."""
        return not self.dry_run and getattr(self.w3.provider, "supports_send_if_all_succeed", False)

    def max_cost(self, requests: list[TxRequest]) -> int:
        """Upper bound in wei of what ``requests`` can cost now (gas limits × max fee + values)."""
        fees = self.fees()
        return sum(r.gas * fees.max_fee_per_gas + r.value for r in requests)

    def simulate(self, request: TxRequest) -> bytes:
        """Run ``request`` with ``eth_call`` from the signer; return its output.

        Raises:
            ContractRevertError: it would revert (nothing is signed or sent).
            InsufficientFundsError: the node refuses the call for want of funds (py-evm charges gas in calls).
        """
        tx: dict[str, Any] = {"from": self.signer.address, "data": request.data, "value": request.value,
                              "gas": request.gas}
        if request.to is not None:
            tx["to"] = request.to
        try:
            return call_output(self.w3, tx)
        except _TRANSPORT:
            raise
        except Exception as exc:  # noqa: BLE001 - every backend raises its own class for a revert
            raw = revert_data(exc)
            if raw is None:
                if classify_refusal(str(exc)) is Refusal.INSUFFICIENT_FUNDS:
                    raise InsufficientFundsError(f"{request.action or 'transaction'} not sent: {exc}",
                                                 Refusal.INSUFFICIENT_FUNDS) from None
                raise
            raise ContractRevertError(registry().decode_revert(raw), raw, action=request.action) from None

    def intent_of(self, request: TxRequest) -> str:
        """The journal key of ``request``'s intent: chain, account, destination, value and calldata (or the
        request's own ``intent`` bytes)."""
        return intent_key(self.chain_id(), self.signer.address, request.to, request.value,
                          request.intent or request.data)

    # ------------------------------------------------------------------ sending

    def send(self, request: TxRequest, *, simulate: bool = True, wait: bool = True, timeout: float | None = None,
             new: bool = False) -> TxReceipt | str:
        """Simulate, sign, broadcast and (by default) wait for ``request``.

        Returns the :class:`TxReceipt`, or the tx hash when ``wait=False``.

        Raises:
            ChainMismatchError: the node is on another chain (nothing signed).
            DuplicateIntentError: ``refuse_duplicates`` is on, ``new`` is not, and the same write from an
                earlier run is still pending or was mined unreported (nothing signed).
            ContractRevertError: the simulation reverted (nothing sent), or the transaction was mined with
                status 0 (``tx_hash`` set).
            DryRun: dry-run mode, after a successful simulation (nothing signed).
            BroadcastError / InsufficientFundsError: the node refused it or could not be reached (not sent;
                the nonce is free again).
            TransactionPending: sent (or maybe sent), but no receipt within the timeout.
            NodeUnavailableError: a read before signing failed (nothing signed).
        """
        chain_id = self.chain_id()
        if self.refuse_duplicates and not new:
            self._refuse_duplicate(request)
        # an embedded chain executes a write once, keeping it only if it succeeds: the same outcome as a
        # simulation followed by the send, for half the EVM time
        execute_once = simulate and not self.dry_run and getattr(self.w3.provider, "supports_send_if_succeeds", False)
        if (simulate or self.dry_run) and not execute_once:
            output = self.simulate(request)
            if self.dry_run:
                raise DryRun(request, output)
        tx_hash, nonce = self._quoted(
            lambda fees: self._sign_and_deliver(request, chain_id, fees, execute_once=execute_once))
        if not wait:
            if execute_once:
                self.journal.set_status(tx_hash, "sent")
            return tx_hash
        return self._settle(request, self._await(tx_hash, nonce, timeout, kept=execute_once))

    def send_together(self, requests: list[TxRequest], *, timeout: float | None = None,
                      new: bool = False) -> list[TxReceipt]:
        """Sign ``requests`` with consecutive reserved nonces, record each, and hand them to the chain in one
        request (:data:`~nvm_chain.chain.rpc.SEND_IF_ALL_SUCCEED`): executed in order, each mined in a block of
        its own, and kept only if every one succeeds. Nothing is simulated: that one execution is the check (e.g.
        an approve and the order it pays for). Only where :attr:`sends_together` holds.

        Returns the receipts, in order (each row recorded mined, as :meth:`send` records a kept write).

        Raises:
            ValidationError: the provider does not declare support, or dry-run mode (nothing signed).
            ChainMismatchError, DuplicateIntentError, NodeUnavailableError: as for :meth:`send`.
            ContractRevertError: one of them would revert (its ``action``); nothing was kept, every row is not
                sent and the nonces are free again.
            BroadcastError / InsufficientFundsError: the chain refused one of them (nothing kept, not sent).
            TransactionPending: the chain's answer was lost and it cannot be asked now.
        """
        if not self.sends_together:
            raise ValidationError("this provider cannot keep transactions only if all succeed (no "
                                  f"{SEND_IF_ALL_SUCCEED}), or dry-run mode: send them one by one")
        chain_id = self.chain_id()
        if self.refuse_duplicates and not new:
            for request in requests:
                self._refuse_duplicate(request)
        hashes, nonces = self._quoted(lambda fees: self._sign_and_keep_together(requests, chain_id, fees))
        return [self._settle(request, self._await(tx_hash, nonce, timeout, kept=True))
                for request, tx_hash, nonce in zip(requests, hashes, nonces)]

    def send_batch(self, requests: list[TxRequest]) -> list[TxReceipt]:
        """Sign ``requests`` with consecutive reserved nonces, broadcast them all, then wait for every receipt.

        Nothing is simulated (a batch may call contracts that its own earlier transactions create).

        Raises:
            ChainMismatchError, BroadcastError (``sent`` lists what was accepted; the rest is not sent and
            its nonces are free again), TransactionPending, ContractRevertError: as for :meth:`send`.
        """
        chain_id = self.chain_id()
        if self.dry_run:
            raise DryRun(requests[0], b"")
        journal = self.journal
        nonces, signed = self._sign_next(requests, chain_id, self.fees())
        sent: list[str] = []
        for i, ((raw, tx_hash), request) in enumerate(zip(signed, requests)):
            try:
                self._raw_send(raw)
            except Exception as exc:  # noqa: BLE001 - classified below
                for _, later in signed[i:]:
                    journal.mark(later, "not_sent", detail=f"batch stopped: {type(exc).__name__}")
                raise self._refused(request, exc, sent) from exc
            journal.set_status(tx_hash, "sent")
            sent.append(tx_hash)
        receipts = [self._await(h, n, None) for h, n in zip(sent, nonces)]
        return [self._settle(req, r) for req, r in zip(requests, receipts)]

    def wait(self, tx_hash: str, timeout: float | None = None, *, nonce: int | None = None) -> TxReceipt:
        """Wait for the receipt of ``tx_hash`` (status 0 included), recording it in the journal when the
        journal has the transaction.

        Raises:
            TransactionPending: no receipt within ``timeout`` seconds (default ``receipt_timeout``).
        """
        entry = self.journal.get(tx_hash)
        return self._await(tx_hash, nonce if nonce is not None or entry is None else entry.nonce, timeout)

    def resend(self, tx_hash: str) -> str:
        """Broadcast the journal's signed bytes of ``tx_hash`` again (same bytes: exactly-once safe), e.g. after
        a reorg dropped it or a node forgot it. Returns the hash.

        Raises:
            ValidationError: the journal has no such transaction, or it is already final (mined, reverted,
                replaced by another transaction with its nonce).
            BroadcastError: the node refused the bytes (e.g. its nonce was used by another transaction).
        """
        entry = self._entry(tx_hash)
        if entry.status in ("mined", "reverted", "replaced"):
            raise ValidationError(f"transaction {tx_hash} is {entry.status}: nothing to resend")
        self.journal.mark(tx_hash, "maybe_sent")
        request = TxRequest(entry.to, b"", entry.gas, entry.value, action=f"resend of {tx_hash}")
        try:
            self._raw_send(entry.raw)
        except Exception as exc:  # noqa: BLE001 - classified below
            if isinstance(exc, _TRANSPORT) or self._ours_known(tx_hash, exc):
                return tx_hash
            self.journal.mark(tx_hash, "not_sent", detail=str(exc)[:200])
            raise self._refused(request, exc, []) from exc
        self.journal.mark(tx_hash, "sent")
        return tx_hash

    def speed_up(self, tx_hash: str, *, wait: bool = False, timeout: float | None = None) -> TxReceipt | str:
        """Replace the pending ``tx_hash`` by the same call with fees bumped enough for the node's replacement
        rule (same nonce). Only one of the two can be mined; the journal says which. Returns the new hash (or
        its receipt with ``wait``).

        Raises:
            ValidationError: not in the journal, or no longer pending (e.g. already mined).
            BroadcastError: the node refused the replacement (e.g. still underpriced); nothing changed.
            TransactionPending: ``wait`` and no receipt in time.
        """
        entry = self._pending_entry(tx_hash)
        fields = TypedTransaction.from_bytes(HexBytes(entry.raw)).as_dict()
        request = TxRequest(entry.to, bytes(fields["data"]), entry.gas, entry.value,
                            action=f"speed-up of {tx_hash}")
        return self._replace(entry, request, wait, timeout)

    def cancel(self, tx_hash: str, *, wait: bool = False, timeout: float | None = None) -> TxReceipt | str:
        """Replace the pending ``tx_hash`` by a 0-value transfer to self with the same nonce and bumped fees,
        so the original can no longer be mined. Returns the new hash (or its receipt with ``wait``).

        Raises:
            ValidationError, BroadcastError, TransactionPending: as for :meth:`speed_up`.
        """
        entry = self._pending_entry(tx_hash)
        request = TxRequest(self.signer.address, b"", 21_000, 0, action=f"cancel of {tx_hash}")
        return self._replace(entry, request, wait, timeout)

    def refresh(self, tx_hash: str) -> JournalEntry:
        """Bring the journal's record of ``tx_hash`` up to date with the node (see :func:`refresh_entry`).

        Raises:
            ValidationError: the journal has no such transaction.
        """
        return refresh_entry(self.w3, self.journal, self._entry(tx_hash), self.lost_after)

    # ------------------------------------------------------------------ internals: nonces and journal

    def _node_count(self) -> tuple[int, float | None, Quiet]:
        """The node's pending count (or the hint of it); ``time.time()`` just before it was read now (else None);
        and the journal's ``quiet`` argument: the pending writes quiet for ``lost_after`` are refreshed first."""
        hint = self._count_hint
        fetched_at: float | None = None
        if hint is not None and (self._gapless or time.monotonic() - hint[0] < self.nonce_ttl):
            pending = hint[1]  # the journal still keeps every nonce distinct; a foreign one is refused and retried
        else:
            fetched_at = time.time()
            pending = transaction_count(self.w3, self._address, "pending")
            self._count_hint = (time.monotonic(), pending)
        return pending, fetched_at, (time.time() - self.lost_after, self.refresh)

    def _sign_next(self, requests: list[TxRequest], chain_id: int,
                   fees: Fees) -> tuple[list[int], list[tuple[bytes, str]]]:
        """Take the next nonces for ``requests`` against the node's pending count (after recording as dropped the
        pending transactions the node lost), sign each with its own and record them, all in one journal write (a
        signing failure rolls it back: nothing to release). Returns the nonces and the (raw bytes, hash) pairs."""
        def signing(request: TxRequest) -> Callable[[int], tuple[bytes, str]]:
            return lambda nonce: self._sign(request, chain_id, nonce, fees)

        pending, fetched_at, quiet = self._node_count()
        writes = [Write(signing(r), r.to, r.value, r.data, r.gas, fees.max_fee_per_gas, fees.max_priority_fee_per_gas,
                        r.action, r.intent) for r in requests]
        done = self.journal.record_next_all(pending, writes, fetched_at=fetched_at, quiet=quiet)
        return [n for n, _, _ in done], [(raw, tx_hash) for _, raw, tx_hash in done]

    def _record(self, request: TxRequest, raw: bytes, tx_hash: str, nonce: int, fees: Fees,
                replaces: str | None = None) -> None:
        self.journal.record(tx_hash=tx_hash, nonce=nonce, raw=raw, to=request.to, value=request.value,
                            data=request.data, gas=request.gas, max_fee_per_gas=fees.max_fee_per_gas,
                            max_priority_fee_per_gas=fees.max_priority_fee_per_gas, action=request.action,
                            replaces=replaces, intent=request.intent)

    def _entry(self, tx_hash: str) -> JournalEntry:
        entry = self.journal.get(tx_hash)
        if entry is None:
            raise ValidationError(f"transaction {tx_hash} is not in the journal of {self.signer.address}")
        return entry

    def _pending_entry(self, tx_hash: str) -> JournalEntry:
        entry = self.refresh(tx_hash)
        if not entry.pending:
            raise ValidationError(f"transaction {tx_hash} is {entry.status}, not pending: nothing to replace")
        return entry

    def _refuse_duplicate(self, request: TxRequest) -> None:
        """Raise if the same intent from an earlier run is still pending, or was mined without being reported."""
        earlier = self.journal.find_pending_intent(self.intent_of(request))
        if earlier is None:
            return
        entry = self.refresh(earlier.hash)
        if entry.pending:
            raise DuplicateIntentError(entry.hash, entry.nonce, request.action)
        if entry.status in ("mined", "reverted"):
            raise DuplicateIntentError(entry.hash, entry.nonce, request.action, mined_in=entry.block_number)

    # ------------------------------------------------------------------ internals: broadcasting

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
        if answers_json(self.w3):  # straight to the node, without web3's formatters (same errors: plain_result)
            plain_result(self.w3, "eth_sendRawTransaction", ["0x" + raw.hex()])
        else:
            self.w3.eth.send_raw_transaction(raw)

    def _quoted(self, deliver: Callable[[Fees], _T]) -> _T:
        """``deliver`` with the current fee quote; again with a fresh one when the node refused the quote as older
        than the base fee's last rise (nothing was sent)."""
        try:
            return deliver(self.fees())
        except BroadcastError as exc:
            if exc.refusal is not Refusal.FEE_BELOW_BASE_FEE:
                raise
            return deliver(self.fees(fresh=True))

    def _sign_and_deliver(self, request: TxRequest, chain_id: int, fees: Fees, *, nonce: int | None = None,
                          replaces: str | None = None, execute_once: bool = False) -> tuple[str, int]:
        """Take the next nonce, sign and record in one journal write (or, with a fixed ``nonce`` for a replacement,
        sign and record), then deliver; on a nonce taken by another sender, again with a fresh nonce. Returns the
        hash and nonce the node has."""

        def attempt() -> tuple[tuple[str, int], int] | None:
            if nonce is None:
                (n,), ((raw, tx_hash),) = self._sign_next([request], chain_id, fees)
            else:
                n = nonce
                raw, tx_hash = self._sign(request, chain_id, n, fees)
                self._record(request, raw, tx_hash, n, fees, replaces)
            deliver = self._send_if_succeeds if execute_once else self._deliver
            return ((tx_hash, n), n) if deliver(request, raw, tx_hash, n, fixed_nonce=nonce is not None) else None

        return self._until_delivered(request.action, FRESH_NONCE_TRIES if nonce is None else 1, attempt)

    def _sign_and_keep_together(self, requests: list[TxRequest], chain_id: int,
                                fees: Fees) -> tuple[list[str], list[int]]:
        """:meth:`_sign_next`, then :meth:`_keep_if_all_succeed`; on a nonce taken by another sender, again
        with fresh nonces. Returns the hashes and nonces the chain kept."""

        def attempt() -> tuple[tuple[list[str], list[int]], int] | None:
            nonces, signed = self._sign_next(requests, chain_id, fees)
            if not self._keep_if_all_succeed(requests, signed, nonces):
                return None
            return ([tx_hash for _, tx_hash in signed], nonces), nonces[-1]

        return self._until_delivered(requests[0].action, FRESH_NONCE_TRIES, attempt)

    def _until_delivered(self, action: str, tries: int, attempt: Callable[[], tuple[_T, int] | None]) -> _T:
        """Run ``attempt`` (sign with fresh nonces, record, deliver) up to ``tries`` times: it returns its result
        and the last nonce used once the node has the bytes, or None when a nonce turned out taken by another
        sender. The node's nonce count as this sender knows it follows: raised past an accepted nonce, forgotten
        after a taken one or a failure (asked again next time).

        Raises:
            BroadcastError: a nonce was taken ``tries`` times in a row (nothing sent); what ``attempt`` raises.
        """
        for _ in range(tries):
            try:
                outcome = attempt()
            except BaseException:
                self._count_hint = None
                raise
            if outcome is not None:
                result, last = outcome
                if self._count_hint is not None:
                    self._count_hint = (self._count_hint[0], max(self._count_hint[1], last + 1))
                return result
            self._count_hint = None
        raise BroadcastError(f"{action or 'transaction'} not sent: its nonce was taken by another sender of "
                             f"{self.signer.address} {tries} times in a row", Refusal.NONCE_TOO_LOW)

    def _deliver(self, request: TxRequest, raw: bytes, tx_hash: str, nonce: int, *, fixed_nonce: bool) -> bool:
        """Broadcast the recorded bytes. True when the node has them; False when their nonce turned out to be
        taken by someone else (re-sign with a fresh one).

        Raises:
            BroadcastError: refused, or unreachable without the bytes having left (nonce free again).
            TransactionPending: the bytes may have reached a node, which cannot be asked now.
        """
        journal = self.journal
        failure: Exception | None = None
        maybe_delivered = False
        for attempt in range(RESENDS):
            try:
                self._raw_send(raw)
            except _TRANSPORT as exc:
                failure = exc
                if getattr(exc, "maybe_delivered", True):
                    maybe_delivered = True
                    journal.mark(tx_hash, "maybe_sent", detail=f"answer lost: {exc}"[:200])
                time.sleep(0.2 * 2 ** attempt)
                continue
            except Exception as exc:  # noqa: BLE001 - a node refusal, classified below
                return self._after_refusal(request, tx_hash, nonce, exc, fixed_nonce=fixed_nonce)
            journal.set_status(tx_hash, "sent")
            return True
        # every attempt failed in transport: ask the node whether it has the bytes
        try:
            known = _node_has(self.w3, tx_hash)
        except _TRANSPORT:
            if maybe_delivered:
                raise TransactionPending(tx_hash, 0, nonce, reason=f"the node's answer was lost ({failure})") from None
            known = False
        if known:
            journal.mark(tx_hash, "sent")
            return True
        journal.mark(tx_hash, "not_sent", detail=f"node unreachable: {failure}"[:200])
        raise BroadcastError(f"{request.action or 'transaction'} not sent: {failure} (nonce {nonce} is free again)",
                             Refusal.OTHER) from None

    def _send_if_succeeds(self, request: TxRequest, raw: bytes, tx_hash: str, nonce: int, *,
                          fixed_nonce: bool) -> bool:
        """:meth:`_keep_if_all_succeed` of one transaction."""
        return self._keep_if_all_succeed([request], [(raw, tx_hash)], [nonce], fixed_nonce=fixed_nonce)

    def _keep_if_all_succeed(self, requests: list[TxRequest], signed: list[tuple[bytes, str]], nonces: list[int],
                             *, fixed_nonce: bool = False) -> bool:
        """Hand the recorded bytes to an embedded chain that keeps them only if every one succeeds (one:
        :data:`~nvm_chain.chain.rpc.SEND_IF_SUCCEEDS`; several: :data:`~nvm_chain.chain.rpc.SEND_IF_ALL_SUCCEED`).
        True when kept (mined: the caller records each row sent and mined in one write); False when a nonce was
        refused as taken or ahead of the account's (every row not sent: re-sign with a fresh count).

        Raises:
            ContractRevertError: one would revert (named by its ``action``); the chain kept nothing (every row not
                sent: the nonces are free again).
            BroadcastError / InsufficientFundsError: refused, as ``eth_sendRawTransaction`` refuses (nothing kept).
            TransactionPending: the answer was lost and the chain cannot be asked now.
        """
        raws = ["0x" + raw.hex() for raw, _ in signed]
        try:
            response = self.w3.provider.make_request(
                RPCEndpoint(SEND_IF_SUCCEEDS if len(raws) == 1 else SEND_IF_ALL_SUCCEED), raws)
            error = response.get("error")
            if isinstance(error, dict):
                raise Web3RPCError(str(error.get("message", "")), rpc_response=response)
        except _TRANSPORT as exc:
            return self._kept_after_lost_answer(requests[0], signed, nonces, exc)
        except Exception as exc:  # noqa: BLE001 - a revert, or a refusal of the bytes
            failed = _failed_index(exc, len(signed))
            for i, (_, tx_hash) in enumerate(signed):
                if i != failed:  # nothing was kept: the others are free again too
                    self.journal.set_status(tx_hash, "not_sent", detail=f"kept nothing: transaction {failed} failed")
            data = revert_data(exc)
            request, (_, tx_hash), nonce = requests[failed], signed[failed], nonces[failed]
            if data is None:
                return self._after_refusal(request, tx_hash, nonce, exc, fixed_nonce=fixed_nonce)
            self.journal.set_status(tx_hash, "not_sent", detail="reverted: kept nothing")
            raise ContractRevertError(registry().decode_revert(data), data, action=request.action) from None
        return True

    def _kept_after_lost_answer(self, request: TxRequest, signed: list[tuple[bytes, str]], nonces: list[int],
                                exc: Exception) -> bool:
        """What a transport error on a send-if-succeeds means, asked of the chain (which keeps all or nothing):
        kept (True), or not sent (BroadcastError: nonces free again); TransactionPending (rows maybe sent) when
        the bytes may have arrived and the chain cannot be asked."""
        journal = self.journal
        if getattr(exc, "maybe_delivered", True):
            try:
                if _node_has(self.w3, signed[-1][1]):
                    return True
            except _TRANSPORT:
                for _, tx_hash in signed:
                    journal.set_status(tx_hash, "maybe_sent", detail=f"answer lost: {exc}"[:200])
                raise TransactionPending(signed[0][1], 0, nonces[0],
                                         reason=f"the node's answer was lost ({exc})") from None
        for _, tx_hash in signed:
            journal.set_status(tx_hash, "not_sent", detail=f"node unreachable: {exc}"[:200])
        raise BroadcastError(f"{request.action or 'transaction'} not sent: {exc} (nonce {nonces[0]} is free again)",
                             Refusal.OTHER) from None

    def _after_refusal(self, request: TxRequest, tx_hash: str, nonce: int, exc: Exception, *,
                       fixed_nonce: bool) -> bool:
        """What a node's refusal of our bytes means: ours after all (True), nonce taken (False), or an error."""
        if self._ours_known(tx_hash, exc):
            self.journal.mark(tx_hash, "sent")
            return True
        refusal = classify_refusal(str(exc))
        self.journal.mark(tx_hash, "not_sent", detail=refusal.value)
        retryable = (Refusal.ALREADY_KNOWN, Refusal.NONCE_TOO_LOW, Refusal.NONCE_TOO_HIGH, Refusal.UNDERPRICED)
        if refusal in retryable and not fixed_nonce:
            return False
        raise self._refused(request, exc, [])

    def _ours_known(self, tx_hash: str, exc: Exception) -> bool:
        """True when the node's "already known" / "nonce too low" is about bytes this journal recorded
        broadcasting earlier (a lost answer), and the node has them."""
        refusal = classify_refusal(str(exc))
        if refusal not in (Refusal.ALREADY_KNOWN, Refusal.NONCE_TOO_LOW):
            return False
        if self.journal.recorded_bytes(tx_hash) is None:
            return False  # never broadcast by us: identical bytes from another sender
        return refusal is Refusal.ALREADY_KNOWN or _node_has(self.w3, tx_hash)

    def _replace(self, entry: JournalEntry, request: TxRequest, wait: bool,
                 timeout: float | None) -> TxReceipt | str:
        current = self.fees()
        fees = Fees(max(int(entry.max_fee_per_gas * REPLACEMENT_BUMP) + 1, current.max_fee_per_gas),
                    max(int(entry.max_priority_fee_per_gas * REPLACEMENT_BUMP) + 1, current.max_priority_fee_per_gas))
        if self.max_fee_ceiling is not None and fees.max_fee_per_gas > self.max_fee_ceiling:
            raise ValidationError(f"the replacement needs a max fee of {fees.max_fee_per_gas} wei/gas, above the "
                                  f"ceiling of {self.max_fee_ceiling}")
        new_hash, nonce = self._sign_and_deliver(request, self.chain_id(), fees, nonce=entry.nonce,
                                                 replaces=entry.hash)
        if not wait:
            return new_hash
        return self._await(new_hash, nonce, timeout)

    def _refused(self, req: TxRequest, exc: Exception, sent: list[str]) -> BroadcastError:
        refusal = classify_refusal(str(exc))
        what = req.action or "transaction"
        cls = InsufficientFundsError if refusal is Refusal.INSUFFICIENT_FUNDS else BroadcastError
        return cls(f"{what} not sent ({refusal.value}): {exc}", refusal, sent)

    # ------------------------------------------------------------------ internals: receipts

    def _await(self, tx_hash: str, nonce: int | None, timeout: float | None, *, kept: bool = False) -> TxReceipt:
        """Wait for the receipt within ``timeout`` (retries included), recording the outcome in the journal;
        every ``lost_after`` seconds without one, check that the node still has the transaction. ``kept``: a
        send-if-succeeds node mined it, not recorded sent yet: its receipt is read once and the outcome records
        both (one write); without one, the wait first records it sent."""
        journal = self.journal
        if kept:  # mined before the answer, by an in-process chain: its receipt is there (else the loop below)
            try:
                r = _fetch_receipt(self.w3, tx_hash)
            except _TRANSPORT:
                r = None
            if r is not None:
                receipt = _receipt_of(r, tx_hash, nonce, self._names)
                journal.set_status(tx_hash, "mined" if receipt.status == 1 else "reverted",
                                   block_number=receipt.block_number, gas_used=receipt.gas_used, broadcast=True)
                return receipt
        limit = self.receipt_timeout if timeout is None else timeout
        unrecorded = kept

        def record_sent() -> None:
            nonlocal unrecorded
            if unrecorded:
                unrecorded = False
                journal.set_status(tx_hash, "sent")

        def idle() -> None:
            record_sent()
            entry = journal.get(tx_hash)
            if entry is None or not entry.pending:
                return
            entry = self.refresh(tx_hash)
            if entry.status == "dropped":  # the node lost it: the same bytes again (exactly-once safe)
                self.resend(tx_hash)
            elif entry.status == "replaced":
                raise BroadcastError(f"transaction {tx_hash} was not mined: its nonce {entry.nonce} was used by "
                                     f"another transaction{f' ({entry.replaced_by})' if entry.replaced_by else ''}",
                                     Refusal.NONCE_TOO_LOW)

        try:
            receipt = wait_for_receipt(self.w3, tx_hash, limit, names=self._names, nonce=nonce, on_idle=idle,
                                       idle_every=self.lost_after)
        except BaseException:
            record_sent()
            raise
        journal.set_status(tx_hash, "mined" if receipt.status == 1 else "reverted",
                           block_number=receipt.block_number, gas_used=receipt.gas_used, broadcast=unrecorded)
        return receipt

    def _settle(self, req: TxRequest, receipt: TxReceipt) -> TxReceipt:
        if receipt.status == 1:
            return receipt
        call = {"from": self.signer.address, "to": req.to, "data": req.data, "value": req.value, "gas": req.gas}
        raise replay_revert(self.w3, call, receipt, req.action)


def refresh_entry(w3: Web3, journal: Journal, entry: JournalEntry, lost_after: float = 30.0) -> JournalEntry:
    """Bring a journal record up to date with the node (needs no key): mined or reverted when a receipt exists;
    "dropped by a reorg, not mined" when it was recorded mined and the receipt is gone; replaced when its nonce
    was used by another transaction; dropped when the node has not known it for ``lost_after`` seconds;
    unchanged while the node still has it. Returns the updated entry."""
    if entry.status not in ("signed", "sent", "maybe_sent", "mined", "reverted"):
        return entry
    tx_hash = entry.hash
    receipt = _fetch_receipt(w3, tx_hash)
    if receipt is not None:
        status: Status = "mined" if receipt["status"] == 1 else "reverted"
        block_hash = receipt["blockHash"]
        return journal.mark(tx_hash, status, block_number=receipt["blockNumber"], gas_used=receipt["gasUsed"],
                            block_hash=block_hash if isinstance(block_hash, str) else "0x" + bytes(block_hash).hex())
    if entry.status in ("mined", "reverted"):
        return journal.mark(tx_hash, "dropped", detail="dropped by a reorg, not mined")
    if _node_has(w3, tx_hash):
        return entry
    if transaction_count(w3, journal.address, "latest") > entry.nonce:
        return journal.mark(tx_hash, "replaced", detail=f"nonce {entry.nonce} used by another transaction")
    if time.time() - (entry.sent_at or entry.created_at) > lost_after:
        return journal.mark(tx_hash, "dropped", detail=f"unknown to the node after {lost_after:g} s")
    return entry


@contextmanager
def _bounded(w3: Web3, seconds: float) -> Iterator[None]:
    """Bound the provider's requests inside the block to ``seconds`` (providers without deadlines: no-op)."""
    provider = w3.provider
    with provider.deadline(seconds) if isinstance(provider, FailoverProvider) else nullcontext():
        yield


def wait_for_receipt(w3: Web3, tx_hash: str, timeout: float, *, names: Mapping[str, str] | None = None,
                     nonce: int | None = None, on_idle: Callable[[], None] | None = None,
                     idle_every: float = 30.0) -> TxReceipt:
    """Poll for the receipt of ``tx_hash`` (with backoff) and decode its logs; ``names`` maps contract
    addresses to artifact names so logs decode by address and topic. Transport errors, rate limits and hanging
    polls are retried until ``timeout`` runs out: the whole wait, retries included, ends by then. ``on_idle``
    runs every ``idle_every`` seconds without a receipt. Needs no account.

    Raises:
        TransactionPending: no receipt within ``timeout`` seconds (hash and nonce in the error).
    """
    names = names or {}
    deadline = time.monotonic() + timeout
    next_idle = time.monotonic() + idle_every
    delay = 0.005
    first = True
    while True:
        remaining = deadline - time.monotonic()
        r = None
        if remaining > 0 or first:  # a zero timeout still looks once
            first = False
            try:
                with _bounded(w3, max(remaining, 2.0 if timeout == 0 else 0.05)):
                    r = _fetch_receipt(w3, tx_hash)
            except _TRANSPORT:
                pass  # a lost or refused poll: try again until the deadline
        if r is not None:
            return _receipt_of(r, tx_hash, nonce, names)
        if time.monotonic() >= deadline:
            raise TransactionPending(tx_hash, timeout, nonce)
        if on_idle is not None and time.monotonic() >= next_idle:
            next_idle = time.monotonic() + idle_every
            try:
                with _bounded(w3, max(deadline - time.monotonic(), 0.05)):
                    on_idle()
            except _TRANSPORT:
                pass
        time.sleep(min(delay, max(deadline - time.monotonic(), 0)))
        delay = min(delay * 2, 0.5)


def _receipt_of(r: Any, tx_hash: str, nonce: int | None, names: Mapping[str, str]) -> TxReceipt:
    """The :class:`TxReceipt` of a fetched receipt (``names``: address → contract name, to decode its logs)."""
    return TxReceipt(tx_hash, r["status"], r["blockNumber"], r["gasUsed"], r.get("contractAddress"), nonce,
                     tuple(r["logs"]), names)


def transaction_count(w3: Web3, address: str, block: str) -> int:
    """The nonce count of the checksummed ``address`` at ``block`` ("latest" or "pending"); straight from
    providers that answer plain JSON-RPC (:func:`~nvm_chain.chain.rpc.plain_result`: same errors as web3)."""
    if answers_json(w3):
        return int(plain_result(w3, "eth_getTransactionCount", [address, block]), 16)
    return w3.eth.get_transaction_count(address, block)  # type: ignore[arg-type]


def _failed_index(exc: Exception, count: int) -> int:
    """Which of ``count`` transactions a send-if-all-succeed failure is about: the error's ``index`` (0 when
    absent, as for one transaction)."""
    response: Any = getattr(exc, "rpc_response", None)
    error = response.get("error") if isinstance(response, dict) else None
    index = error.get("index") if isinstance(error, dict) else None
    return index if isinstance(index, int) and 0 <= index < count else 0


def _node_has(w3: Web3, tx_hash: str) -> bool:
    """Whether the node knows ``tx_hash`` (pending or mined)."""
    try:
        w3.eth.get_transaction(tx_hash)  # type: ignore[arg-type]
        return True
    except TransactionNotFound:
        return False


def _fetch_receipt(w3: Web3, tx_hash: str) -> Any:
    """The receipt of ``tx_hash`` or None. From providers that answer plain JSON-RPC (``answers_json``: the
    failover HTTP provider, the revm node) it is read straight from the answer — what the engine uses of it,
    without web3's result formatters, which cost more than the node's own work on an embedded chain."""
    if not answers_json(w3):
        try:
            return w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            return None
    r = w3.provider.make_request(RPCEndpoint("eth_getTransactionReceipt"), [tx_hash]).get("result")
    if not r:
        return None  # not mined yet (or a JSON-RPC error: keep polling until the deadline)
    return {"status": int(r["status"], 16), "blockNumber": int(r["blockNumber"], 16), "gasUsed": int(r["gasUsed"], 16),
            "blockHash": r["blockHash"],
            "contractAddress": checksum(r["contractAddress"]) if r.get("contractAddress") else None,
            "logs": [{"address": checksum(log["address"]), "topics": [bytes.fromhex(x[2:]) for x in log["topics"]],
                      "data": bytes.fromhex(log["data"][2:]), "logIndex": int(log["logIndex"], 16)}
                     for log in r["logs"]]}


def replay_revert(w3: Web3, call: dict[str, Any], receipt: TxReceipt, action: str = "") -> ContractRevertError:
    """The decoded reason of a transaction mined with status 0: ``call`` (from, to, data, value, gas) is
    replayed with ``eth_call`` on the state of the block before the receipt's."""
    tx = {k: v for k, v in call.items() if v is not None}
    data = b""
    try:
        call_output(w3, tx, receipt.block_number - 1)
    except Exception as exc:  # noqa: BLE001 - every backend raises its own class for a revert
        data = revert_data(exc) or b""
    return ContractRevertError(registry().decode_revert(data), data, action=action, tx_hash=receipt.tx_hash)

