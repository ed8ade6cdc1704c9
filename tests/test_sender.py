"""Fault handling of the transaction engine, on a real eth-tester chain with faults injected at the
provider (a seam we own): lost answers, stale nonces, signing failures, pending receipts, refusals."""

from __future__ import annotations

import time

import pytest
from eth_tester import EthereumTester, PyEVMBackend
from web3 import Web3
from web3.providers.eth_tester import EthereumTesterProvider

from nvm_chain.chain import facts
from nvm_chain.chain.tx.journal import Journal
from nvm_chain.chain.tx.refusals import classify_refusal
from nvm_chain.chain.tx.sender import Sender
from nvm_chain.chain.tx.signer import LocalSigner
from nvm_chain.chain.tx.types import TxRequest
from nvm_chain.errors import (
    BroadcastError,
    ChainMismatchError,
    ContractRevertError,
    InsufficientFundsError,
    Refusal,
    TransactionPending,
)
from nvm_chain.sim.accounts import GENESIS_KEY, test_account

OWNER = LocalSigner(GENESIS_KEY)
PAY = TxRequest("0x" + "11" * 20, b"", 21_000, value=1, action="pay")


class FaultyProvider(EthereumTesterProvider):
    """The real eth-tester provider, with scripted faults per JSON-RPC method."""

    def __init__(self, tester: EthereumTester):
        super().__init__(tester)
        self.faults: dict[str, list[str]] = {}
        self.calls: list[str] = []

    def make_request(self, method, params):
        self.calls.append(method)
        script = self.faults.get(method)
        fault = script.pop(0) if script else None
        if fault == "drop-request":  # the request never reaches the node
            raise OSError("connection reset before sending")
        response = super().make_request(method, params)
        if fault == "drop-answer":  # the node executed it, the answer is lost
            raise OSError("connection reset while reading the answer")
        return response


@pytest.fixture
def node():
    tester = EthereumTester(PyEVMBackend())
    provider = FaultyProvider(tester)
    return tester, provider, Web3(provider)


def sent_count(w3) -> int:
    return w3.eth.get_transaction_count(OWNER.address)


def test_a_lost_answer_is_resent_as_the_same_bytes_and_counted_once(node):
    _, provider, w3 = node
    provider.faults["eth_sendRawTransaction"] = ["drop-answer"]
    receipt = Sender(w3, OWNER).send(PAY, simulate=False)
    assert receipt.status == 1 and sent_count(w3) == 1  # one transaction, not two
    assert provider.calls.count("eth_sendRawTransaction") == 2


def test_a_request_that_never_arrived_is_sent_once_on_the_retry(node):
    _, provider, w3 = node
    provider.faults["eth_sendRawTransaction"] = ["drop-request"]
    assert Sender(w3, OWNER).send(PAY, simulate=False).status == 1
    assert sent_count(w3) == 1


def test_when_the_node_stays_unreachable_after_the_bytes_left_the_result_is_pending_with_the_hash(node):
    _, provider, w3 = node
    provider.faults["eth_sendRawTransaction"] = ["drop-answer", "drop-request", "drop-request"]
    provider.faults["eth_getTransactionByHash"] = ["drop-request"]
    sender = Sender(w3, OWNER)
    with pytest.raises(TransactionPending) as info:
        sender.send(PAY, simulate=False)
    assert info.value.tx_hash.startswith("0x") and info.value.nonce == 0 and "not failed" in str(info.value)
    assert sender.journal.get(info.value.tx_hash).status == "maybe_sent"
    assert sender.wait(info.value.tx_hash).status == 1  # it was in fact mined
    assert sender.journal.get(info.value.tx_hash).status == "mined" and sent_count(w3) == 1


def test_bytes_that_never_reached_the_node_are_not_sent_and_free_their_nonce(node):
    _, provider, w3 = node
    provider.faults["eth_sendRawTransaction"] = ["drop-request"] * 3
    sender = Sender(w3, OWNER)
    with pytest.raises(BroadcastError, match="not sent") as info:
        sender.send(PAY, simulate=False)
    assert not isinstance(info.value, TransactionPending) and sent_count(w3) == 0
    (entry,) = sender.journal.list()
    assert entry.status == "not_sent" and entry.nonce == 0
    assert sender.send(PAY, simulate=False).nonce == 0  # the nonce was free again: no gap, nothing queued
    assert sent_count(w3) == 1


def test_no_receipt_in_time_is_pending_and_a_later_wait_resolves_it(node):
    tester, _, w3 = node
    tester.disable_auto_mine_transactions()
    sender = Sender(w3, OWNER, receipt_timeout=0.05)
    with pytest.raises(TransactionPending) as info:
        sender.send(PAY, simulate=False)
    assert isinstance(info.value, TimeoutError) and info.value.nonce == 0
    tester.mine_blocks(1)
    assert sender.wait(info.value.tx_hash).status == 1


class _RacedSigner(LocalSigner):
    """Signs, then lets ``other`` (another sender of the same key, with its own journal: another process)
    broadcast first: the race two processes on one key run."""

    __slots__ = ("other",)

    def sign_transaction(self, tx):
        signed = super().sign_transaction(tx)
        if self.other is not None:
            other, self.other = self.other, None
            other()
        return signed


def test_a_nonce_taken_by_another_process_is_re_signed_fresh_and_both_writes_happen(node):
    _, _, w3 = node
    signer = _RacedSigner(GENESIS_KEY)
    rival = Sender(w3, OWNER, journal=Journal.in_memory(w3.eth.chain_id, OWNER.address))
    other_pay = TxRequest(PAY.to, b"", 21_000, value=2, action="other")
    signer.other = lambda: rival.send(other_pay, simulate=False)
    receipt = Sender(w3, signer).send(PAY, simulate=False)
    assert receipt.status == 1 and receipt.nonce == 1  # re-signed once with the next free nonce
    assert sent_count(w3) == 2 and w3.eth.get_balance(PAY.to) == 3  # both payments happened, once each


def test_identical_bytes_from_another_process_are_not_taken_for_ours(node):
    """Same key, same nonce, same calldata, same fees: the same signed bytes. The second sender must not adopt
    the first one's transaction: each asked for one payment, two payments happen."""
    _, _, w3 = node
    signer = _RacedSigner(GENESIS_KEY)
    rival = Sender(w3, OWNER, journal=Journal.in_memory(w3.eth.chain_id, OWNER.address))
    signer.other = lambda: rival.send(PAY, simulate=False)
    receipt = Sender(w3, signer).send(PAY, simulate=False)
    assert receipt.status == 1 and receipt.nonce == 1
    assert sent_count(w3) == 2 and w3.eth.get_balance(PAY.to) == 2


def test_resending_the_recorded_bytes_is_idempotent(node):
    _, _, w3 = node
    sender = Sender(w3, OWNER)
    tx_hash = sender.send(PAY, simulate=False, wait=False)
    assert sender.resend(tx_hash) == tx_hash  # mined already: "nonce too low" for bytes we sent
    assert sender.wait(tx_hash).status == 1 and sent_count(w3) == 1
    assert sender.journal.get(tx_hash).status == "mined"


def test_a_write_the_node_lost_is_recorded_dropped_at_the_next_write_and_its_nonce_used_again(node):
    _, _, w3 = node
    sender = Sender(w3, OWNER, lost_after=0.0)
    journal = sender.journal
    lost = TxRequest(PAY.to, b"", 21_000, value=5, action="lost")
    raw, tx_hash = OWNER.sign_transaction({"type": 2, "chainId": sender.chain_id(), "nonce": 0, "gas": 21_000,
                                           "to": PAY.to, "value": 5, "maxFeePerGas": 10**10,
                                           "maxPriorityFeePerGas": 1, "data": b""})
    journal.record_signed(tx_hash=tx_hash, nonce=journal.reserve_nonce(0), raw=raw, to=lost.to, value=5, data=b"",
                          gas=21_000, max_fee_per_gas=10**10, max_priority_fee_per_gas=1, action=lost.action)
    journal.mark(tx_hash, "sent")  # recorded sent, but the node never kept it
    assert journal.quiet_pending(0, time.time() + 1) == [tx_hash]
    assert journal.quiet_pending(1, time.time() + 1) == [] and journal.quiet_pending(0, 0.0) == []
    receipt = sender.send(PAY, simulate=False)
    assert receipt.nonce == 0 and sent_count(w3) == 1 and w3.eth.get_balance(PAY.to) == 1
    assert journal.get(tx_hash).status == "dropped" and journal.quiet_pending(0, time.time() + 1) == []


class _FlakySigner(LocalSigner):
    __slots__ = ("failures",)

    def sign_transaction(self, tx):
        if self.failures:
            self.failures -= 1
            raise RuntimeError("hardware wallet unplugged")
        return super().sign_transaction(tx)


def test_a_signing_failure_releases_its_nonce(node):
    _, _, w3 = node
    signer = _FlakySigner(GENESIS_KEY)
    signer.failures = 1
    sender = Sender(w3, signer)
    with pytest.raises(RuntimeError):
        sender.send(PAY, simulate=False)
    assert sender.journal.reservations() == [] and sender.journal.list() == []  # released, not burned
    assert sender.send(PAY, simulate=False).nonce == 0 and sent_count(w3) == 1


def test_insufficient_funds_is_refused_typed_and_releases_the_nonce(node):
    _, _, w3 = node
    poor = test_account("penniless").signer
    sender = Sender(w3, poor)
    with pytest.raises(InsufficientFundsError) as info:
        sender.send(PAY, simulate=False)
    assert info.value.refusal is Refusal.INSUFFICIENT_FUNDS and "not sent" in str(info.value)
    assert [e.status for e in sender.journal.list()] == ["not_sent"] and sender.journal.reservations() == []


def test_the_chain_id_is_checked_before_signing(node):
    _, provider, w3 = node
    with pytest.raises(ChainMismatchError, match="expected 8453; nothing signed"):
        Sender(w3, OWNER, chain_id=8453).send(PAY, simulate=False)
    assert "eth_sendRawTransaction" not in provider.calls


def test_a_revert_is_the_same_typed_error_simulated_and_mined(proto):
    builder = proto.sim.account("builder")
    req = TxRequest(proto.addr("AssetsRegistry"), proto.calldata("AssetsRegistry", "addPlanToAgent", 7, 9),
                    300_000, action="AssetsRegistry.addPlanToAgent")
    sender = Sender(proto.w3, builder.signer)
    nonce_before = proto.w3.eth.get_transaction_count(builder.address)
    with pytest.raises(ContractRevertError) as simulated:
        sender.send(req)
    assert proto.w3.eth.get_transaction_count(builder.address) == nonce_before  # nothing was sent
    with pytest.raises(ContractRevertError) as mined:
        sender.send(req, simulate=False)
    for err in (simulated.value, mined.value):
        assert err.error_name == "AgentNotFound" and err.error_args == {"agentId": 7}
    assert simulated.value.tx_hash is None and mined.value.tx_hash.startswith("0x")


def test_receipt_logs_are_decoded_by_address_and_topic(proto):
    builder = proto.sim.account("builder")
    sender = Sender(proto.w3, builder.signer, contracts={v: k for k, v in proto.book.contracts.items()})
    token = proto.addr("MockERC20")
    data = proto.calldata("MockERC20", "approve", proto.addr("PaymentsVault"), 5)
    receipt = sender.send(TxRequest(token, data, 100_000))
    (event,) = receipt.events
    assert (event.name, event.address, event.args["value"]) == ("Approval", token, 5)


def test_batch_refusal_reports_what_was_sent(node):
    _, provider, w3 = node
    sender = Sender(w3, OWNER)
    poor_pay = TxRequest(PAY.to, b"", 21_000, value=10**40, action="too much")
    with pytest.raises(BroadcastError) as info:
        sender.send_batch([PAY, poor_pay, PAY])
    assert len(info.value.sent) == 1 and info.value.refusal is Refusal.INSUFFICIENT_FUNDS
    assert sorted(e.status for e in sender.journal.list()) == ["not_sent", "not_sent", "sent"]
    assert sender.wait(info.value.sent[0]).status == 1 and sender.journal.get(info.value.sent[0]).status == "mined"
    assert sender.send(PAY, simulate=False).nonce == 1 and sent_count(w3) == 2  # the refused nonces are free


@pytest.mark.parametrize(("message", "kind"), [
    ("nonce too low: next nonce 5, tx nonce 4", Refusal.NONCE_TOO_LOW),
    ("Invalid transaction nonce: Expected 1, but got 0", Refusal.NONCE_TOO_LOW),
    ("already known", Refusal.ALREADY_KNOWN),
    ("transaction already imported", Refusal.ALREADY_KNOWN),
    ("replacement transaction underpriced", Refusal.UNDERPRICED),
    ("insufficient funds for gas * price + value", Refusal.INSUFFICIENT_FUNDS),
    ("Sender b'..' cannot afford txn gas 21000", Refusal.INSUFFICIENT_FUNDS),
    ("Sender does not have enough balance to cover transaction value and gas", Refusal.INSUFFICIENT_FUNDS),
    ("max fee per gas less than block base fee", Refusal.FEE_BELOW_BASE_FEE),
    ("something else", Refusal.OTHER),
])
def test_node_refusals_are_classified(message, kind):
    assert classify_refusal(message) is kind


def test_dry_run_simulates_and_stops_before_signing(node):
    from nvm_chain.errors import DryRun

    _, provider, w3 = node
    sender = Sender(w3, OWNER, dry_run=True)
    with pytest.raises(DryRun) as info:
        sender.send(PAY)
    assert info.value.request is PAY and "nothing was signed or sent" in str(info.value)
    assert "eth_call" in provider.calls and "eth_sendRawTransaction" not in provider.calls
    assert sender.journal.list() == [] and sender.journal.reservations() == [] and sent_count(w3) == 0


def test_with_a_nonce_ttl_the_node_count_is_asked_once_and_a_taken_nonce_is_still_retried(node):
    _, provider, w3 = node
    sender = Sender(w3, OWNER, nonce_ttl=60.0)
    assert [sender.send(PAY, simulate=False).nonce for _ in range(3)] == [0, 1, 2]
    assert provider.calls.count("eth_getTransactionCount") == 1
    Sender(w3, OWNER, journal=Journal.in_memory(w3.eth.chain_id, OWNER.address)).send(PAY, simulate=False)  # nonce 3
    assert sender.send(PAY, simulate=False).nonce == 4  # 3 refused as taken: the count is asked again, once
    assert provider.calls.count("eth_getTransactionCount") == 3 and sent_count(w3) == 5


def test_connections_facts_are_asked_once_and_a_stale_base_fee_is_read_again_after_its_refusal(node):
    _, provider, w3 = node
    first, second = Sender(w3, OWNER, fee_ttl=float("inf")), Sender(w3, OWNER, fee_ttl=float("inf"))
    first.send(PAY, simulate=False)
    second.send(PAY, simulate=False)
    # two senders on one provider: the chain id and the base fee are asked once (nvm_chain.chain.facts)
    assert provider.calls.count("eth_chainId") == 1 and provider.calls.count("eth_getBlockByNumber") == 1
    facts.provider_fact(w3, "base_fee", lambda: 1, max_age=0.0)  # a quote from before the base fee rose
    receipt = second.send(PAY, simulate=False)
    assert receipt.status == 1 and receipt.nonce == 2 and sent_count(w3) == 3  # refused once, sent once
    assert provider.calls.count("eth_getBlockByNumber") == 2
    assert [e.status for e in second.journal.list(status="not_sent")] == ["not_sent"]


@pytest.fixture(params=["pyevm", "revm"])
def embedded(request):
    """A fresh embedded chain: its provider mines a write that succeeds before answering (send-if-succeeds)."""
    if request.param == "pyevm":
        from nvm_chain.sim.chain import EmbeddedChain

        return EmbeddedChain()
    pytest.importorskip("pyrevm", reason="the revm engine needs pyrevm (pip install 'nvm-chain[revm]')")
    from nvm_chain.sim.revm_chain import RevmChain

    return RevmChain()


def test_a_write_kept_by_send_if_succeeds_is_recorded_sent_and_mined_in_one_write(embedded, tmp_path):
    w3 = embedded.w3
    sender = Sender(w3, OWNER, journal=Journal.open(w3.eth.chain_id, OWNER.address, tmp_path))  # on disk: SQL
    statements: list[str] = []
    sender.journal._connection().set_trace_callback(statements.append)
    receipt = sender.send(PAY)
    sender.journal._connection().set_trace_callback(None)
    # reservations, then the held nonces and pending writes a node may have lost, then the signed row; no
    # reservation row in between (was 11 statements: a quiet-pending read, a reservation and a record write)
    assert [s.split()[0] for s in statements] == ["BEGIN", "SELECT", "SELECT", "INSERT", "COMMIT",  # one write
                                                  "UPDATE"]  # sent and mined: one statement
    entry = sender.journal.get(receipt.tx_hash)
    assert (entry.status, entry.block_number, entry.gas_used) == ("mined", receipt.block_number, receipt.gas_used)
    assert entry.sent_at is not None and sender.journal.recorded_bytes(entry.hash) == entry.raw  # it was broadcast
    assert w3.eth.get_transaction_receipt(receipt.tx_hash)["status"] == 1
    assert sent_count(w3) == 1 and w3.eth.get_balance(PAY.to) == 1


def test_a_kept_write_not_waited_for_is_recorded_sent_then_mined_by_its_wait(embedded):
    sender = Sender(embedded.w3, OWNER)
    tx_hash = sender.send(PAY, wait=False)
    entry = sender.journal.get(tx_hash)
    assert entry.status == "sent" and sender.journal.recorded_bytes(tx_hash) == entry.raw
    assert sender.wait(tx_hash).status == 1 and sender.journal.get(tx_hash).status == "mined"
    assert sent_count(embedded.w3) == 1 and embedded.w3.eth.get_balance(PAY.to) == 1


def test_a_kept_write_whose_receipt_is_not_read_in_time_is_recorded_sent(monkeypatch):
    pytest.importorskip("pyrevm", reason="the revm engine needs pyrevm (pip install 'nvm-chain[revm]')")
    from nvm_chain.sim.revm_chain import RevmChain

    chain = RevmChain()
    provider, answer = chain.w3.provider, chain.w3.provider.make_request
    monkeypatch.setattr(provider, "make_request", lambda method, params: (  # no receipt yet
        {"jsonrpc": "2.0", "id": 0, "result": None} if method == "eth_getTransactionReceipt"
        else answer(method, params)))
    sender = Sender(chain.w3, OWNER)
    with pytest.raises(TransactionPending) as info:
        sender.send(PAY, timeout=0)
    entry = sender.journal.get(info.value.tx_hash)
    assert entry.status == "sent" and sender.journal.recorded_bytes(entry.hash) == entry.raw  # mined, unconfirmed
    assert sent_count(chain.w3) == 1
    monkeypatch.undo()
    assert sender.wait(entry.hash).status == 1 and sender.journal.get(entry.hash).status == "mined"
    assert sent_count(chain.w3) == 1 and chain.w3.eth.get_balance(PAY.to) == 1
