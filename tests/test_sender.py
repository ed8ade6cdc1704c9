"""Fault handling of the transaction engine, on a real eth-tester chain with faults injected at the
provider (a seam we own): lost answers, stale nonces, signing failures, pending receipts, refusals."""

from __future__ import annotations

import pytest
from eth_tester import EthereumTester, PyEVMBackend
from web3 import Web3
from web3.providers.eth_tester import EthereumTesterProvider

from nvm_chain.chain.tx.nonces import NonceAllocator
from nvm_chain.chain.tx.refusals import classify_refusal
from nvm_chain.chain.tx.sender import Sender, TxRequest
from nvm_chain.chain.tx.signer import LocalSigner
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


def test_when_the_node_stays_unreachable_the_result_is_pending_with_the_hash(node):
    _, provider, w3 = node
    provider.faults["eth_sendRawTransaction"] = ["drop-answer", "drop-request"]
    sender = Sender(w3, OWNER)
    with pytest.raises(TransactionPending) as info:
        sender.send(PAY, simulate=False)
    assert info.value.tx_hash.startswith("0x") and "not failed" in str(info.value)
    assert sender.wait(info.value.tx_hash).status == 1  # it was in fact mined


def test_no_receipt_in_time_is_pending_and_a_later_wait_resolves_it(node):
    tester, _, w3 = node
    tester.disable_auto_mine_transactions()
    sender = Sender(w3, OWNER, receipt_timeout=0.05)
    with pytest.raises(TransactionPending) as info:
        sender.send(PAY, simulate=False)
    assert isinstance(info.value, TimeoutError) and info.value.nonce == 0
    tester.mine_blocks(1)
    assert sender.wait(info.value.tx_hash).status == 1


def test_a_stale_nonce_is_resynced_and_the_transaction_sent_once(node):
    _, _, w3 = node
    stale = Sender(w3, OWNER)
    stale.send(PAY, simulate=False)
    Sender(w3, OWNER).send(PAY, simulate=False)  # another process used nonce 1 behind our back
    receipt = stale.send(PAY, simulate=False)  # our allocator still says 1
    assert receipt.status == 1 and receipt.nonce == 2  # re-signed once with the node's nonce
    assert sent_count(w3) == 3


def test_rebroadcasting_the_same_signed_bytes_is_idempotent(node):
    _, _, w3 = node
    sender = Sender(w3, OWNER)
    raw, tx_hash = OWNER.sign_transaction({"type": 2, "chainId": w3.eth.chain_id, "nonce": 0, "gas": 21_000,
                                           "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 1,
                                           "to": PAY.to, "value": 1, "data": b""})
    assert sender.rebroadcast(raw) == tx_hash
    assert sender.rebroadcast(raw) == tx_hash  # mined already: "nonce too low" for a known hash
    assert sent_count(w3) == 1


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
    assert sender.nonces.peek(OWNER.address) == 0  # released, not burned
    assert sender.send(PAY, simulate=False).status == 1 and sent_count(w3) == 1


def test_insufficient_funds_is_refused_typed_and_releases_the_nonce(node):
    _, _, w3 = node
    poor = test_account("penniless").signer
    sender = Sender(w3, poor)
    with pytest.raises(InsufficientFundsError) as info:
        sender.send(PAY, simulate=False)
    assert info.value.refusal is Refusal.INSUFFICIENT_FUNDS and "not sent" in str(info.value)
    assert sender.nonces.peek(poor.address) == 0


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


def test_the_nonce_allocator_rolls_back_only_its_newest_reservation():
    fetched = []
    alloc = NonceAllocator(lambda a: fetched.append(a) or 10)
    assert [alloc.reserve("a"), alloc.reserve("a"), alloc.reserve("a", 3)] == [10, 11, 12]
    alloc.release("a", 12)  # not the newest: forget, resync next time
    assert alloc.peek("a") is None and alloc.reserve("a") == 10 and len(fetched) == 2
    alloc.release("a", 10)
    assert alloc.peek("a") == 10


def test_dry_run_simulates_and_stops_before_signing(node):
    from nvm_chain.errors import DryRun

    _, provider, w3 = node
    sender = Sender(w3, OWNER, dry_run=True)
    with pytest.raises(DryRun) as info:
        sender.send(PAY)
    assert info.value.request is PAY and "nothing was signed or sent" in str(info.value)
    assert "eth_call" in provider.calls and "eth_sendRawTransaction" not in provider.calls
    assert sender.nonces.peek(OWNER.address) is None and sent_count(w3) == 0
