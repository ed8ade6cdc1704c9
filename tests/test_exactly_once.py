"""Exactly once, never a false outcome: the transaction engine on a real anvil behind a fault-injecting JSON-RPC
proxy (tests/faults.py). Every test checks the effect on chain (nonce, balances, events), read straight from anvil,
besides what the client reported."""

from __future__ import annotations

import time

import pytest

from nvm_chain.chain.tx.journal import Journal
from nvm_chain.chain.tx.sender import Sender
from nvm_chain.chain.tx.signer import LocalSigner
from nvm_chain.chain.tx.types import TxRequest
from nvm_chain.client import NvmChain, http_web3
from nvm_chain.errors import (
    BroadcastError,
    ChainMismatchError,
    ContractRevertError,
    NodeUnavailableError,
    TransactionPending,
)

pytestmark = pytest.mark.slow  # each test runs real transactions through a proxy in front of anvil

SINK = "0x" + "5a" * 20


def token_balance(chain, holder: str) -> int:
    token = chain.sim.book["MockERC20"]
    data = chain.sim.w3.eth.call({"to": token, "data": bytes.fromhex("70a08231") + bytes(12)
                                  + bytes.fromhex(holder[2:])})
    return int.from_bytes(data, "big")


def transfer(chain, amount: int = 1, to: str = SINK) -> TxRequest:
    """A MockERC20 transfer of ``amount`` to ``to`` (the same calldata for the same arguments)."""
    token = chain.sim.book["MockERC20"]
    data = bytes.fromhex("a9059cbb") + bytes(12) + bytes.fromhex(to[2:]) + amount.to_bytes(32, "big")
    return TxRequest(token, data, 100_000, action="MockERC20.transfer")


@pytest.fixture
def builder(faulty, tmp_path):
    """The builder's client through the proxy, with its own on-disk journal and a 4 s receipt timeout."""
    return faulty.client("builder", state_dir=tmp_path, receipt_timeout=4.0)


def test_a_send_answer_lost_after_forwarding_is_resent_as_the_same_bytes_and_executes_once(faulty, builder):
    address = builder.address
    before = faulty.nonce(address)
    faulty.proxy.lose_answer("eth_sendRawTransaction", how="504")
    faulty.proxy.lose_answer("eth_sendRawTransaction", how="close")
    receipt = builder.sender.send(transfer(faulty))
    assert receipt.status == 1 and faulty.nonce(address) == before + 1
    assert token_balance(faulty, SINK) == 1  # once, not twice
    assert builder.sender.journal.get(receipt.tx_hash).status == "mined"


def test_503s_before_forwarding_are_retried_with_the_same_bytes(faulty, builder):
    before = faulty.nonce(builder.address)
    faulty.proxy.fail("eth_sendRawTransaction", 503, times=2)
    receipt = builder.sender.send(transfer(faulty))
    assert receipt.status == 1 and faulty.nonce(builder.address) == before + 1
    assert faulty.proxy.count("eth_sendRawTransaction") == 3 and token_balance(faulty, SINK) == 1


def test_a_send_that_never_reached_the_node_is_not_sent_and_the_next_write_is_not_stuck(faulty, builder):
    before = faulty.nonce(builder.address)
    faulty.proxy.fail("eth_sendRawTransaction", 503, times=3)
    with pytest.raises(BroadcastError, match="not sent") as info:
        builder.sender.send(transfer(faulty))
    assert not isinstance(info.value, TransactionPending)
    assert faulty.nonce(builder.address, "pending") == before and token_balance(faulty, SINK) == 0
    receipt = builder.sender.send(transfer(faulty, 2))  # same client, next write: the nonce was released
    assert receipt.nonce == before and token_balance(faulty, SINK) == 2


@pytest.mark.parametrize("fault", ["hang", "reset", "429"])
def test_a_failing_receipt_poll_ends_pending_with_the_hash_within_the_timeout(faulty, builder, fault):
    address = builder.address
    before = faulty.nonce(address)
    if fault == "hang":
        faulty.proxy.hang("eth_getTransactionReceipt", None, times=None)
    elif fault == "reset":
        faulty.proxy.reset("eth_getTransactionReceipt", times=None)
    else:
        faulty.proxy.fail("eth_getTransactionReceipt", 429, times=None, retry_after=1)
    started = time.monotonic()
    with pytest.raises(TransactionPending) as info:
        builder.sender.send(transfer(faulty))
    assert time.monotonic() - started < 4.0 + 3.0  # the receipt timeout bounds the whole wait
    assert info.value.tx_hash.startswith("0x") and info.value.nonce == before
    assert faulty.nonce(address) == before + 1 and token_balance(faulty, SINK) == 1  # it did happen, once
    faulty.proxy.clear()
    assert builder.sender.wait(info.value.tx_hash).status == 1  # resumable with the hash
    assert builder.sender.journal.get(info.value.tx_hash).status == "mined"


def test_receipt_polls_answered_429_then_reset_are_retried_until_the_receipt(faulty, builder):
    faulty.proxy.fail("eth_getTransactionReceipt", 429, times=2, retry_after=0)
    faulty.proxy.reset("eth_getTransactionReceipt", times=2)
    receipt = builder.sender.send(transfer(faulty))
    assert receipt.status == 1 and token_balance(faulty, SINK) == 1


def test_a_false_already_known_on_a_first_send_is_not_taken_for_a_success(faulty, builder):
    before = faulty.nonce(builder.address)
    faulty.proxy.rpc_error("eth_sendRawTransaction", "already known")
    receipt = builder.sender.send(transfer(faulty))
    assert receipt.status == 1 and faulty.nonce(builder.address) == before + 1 and token_balance(faulty, SINK) == 1


def test_a_false_underpriced_or_nonce_too_low_is_re_signed_and_executes_once(faulty, builder):
    faulty.proxy.rpc_error("eth_sendRawTransaction", "replacement transaction underpriced")
    faulty.proxy.rpc_error("eth_sendRawTransaction", "nonce too low", code=-32003)
    receipt = builder.sender.send(transfer(faulty))
    assert receipt.status == 1 and token_balance(faulty, SINK) == 1


def test_a_nonce_taken_by_another_process_is_re_signed_and_both_writes_happen(faulty, builder, tmp_path):
    """Another process on the same key (its own journal) sends the same calldata with the nonce we reserved,
    just before us: the same signed bytes. Ours must not adopt its transaction: two asked, two happen."""
    rival = Sender(faulty.direct, faulty.sim.account("builder").signer,
                   journal=Journal.open(faulty.direct.eth.chain_id, builder.address, tmp_path / "rival"))
    sender = builder.sender
    original, raced = sender._sign, []

    def sign_after_the_rival(request, chain_id, nonce, fees):
        if not raced:
            raced.append(rival.send(transfer(faulty, 5), simulate=False))
        return original(request, chain_id, nonce, fees)

    sender._sign = sign_after_the_rival  # type: ignore[method-assign]
    before = faulty.nonce(builder.address)
    receipt = sender.send(transfer(faulty, 5))
    assert raced[0].nonce == before and receipt.status == 1 and receipt.nonce == before + 1
    assert faulty.nonce(builder.address) == before + 2 and token_balance(faulty, SINK) == 10


def test_a_reorg_that_drops_a_mined_write_is_reported_and_healed(faulty, builder):
    sender = builder.sender
    first = sender.send(transfer(faulty))
    before = faulty.nonce(builder.address)
    faulty.anvil("anvil_reorg", [1, []])  # the block holding the transfer is replaced by an empty one
    assert faulty.nonce(builder.address) == before - 1 and token_balance(faulty, SINK) == 0
    assert sender.refresh(first.tx_hash).status == "dropped"
    assert "reorg" in (sender.journal.get(first.tx_hash).detail or "")
    second = sender.send(transfer(faulty, 3))  # the next write reuses the freed nonce: nothing queues behind it
    assert second.nonce == first.nonce and token_balance(faulty, SINK) == 3


def test_evm_revert_is_healed_like_a_reorg_and_a_dropped_write_can_be_resent_once(faulty, builder):
    snapshot = faulty.anvil("evm_snapshot")
    sender = builder.sender
    lost = sender.send(transfer(faulty))
    faulty.anvil("evm_revert", [snapshot])
    assert token_balance(faulty, SINK) == 0
    assert sender.refresh(lost.tx_hash).status == "dropped"
    assert sender.resend(lost.tx_hash) == lost.tx_hash  # the same signed bytes
    assert sender.wait(lost.tx_hash).status == 1 and token_balance(faulty, SINK) == 1
    assert sender.send(transfer(faulty)).status == 1 and token_balance(faulty, SINK) == 2


def test_a_revert_between_simulation_and_mining_is_a_decoded_error_with_the_hash(faulty, tmp_path):
    """The agent's transferFrom simulates fine; before it is mined the subscriber withdraws the allowance."""
    agent = faulty.client("agent", state_dir=tmp_path)
    subscriber = NvmChain(faulty.direct, faulty.sim.book, faulty.sim.account("subscriber").signer, network="local",
                          state_dir=tmp_path)
    token = faulty.sim.book["MockERC20"]
    approve = bytes.fromhex("095ea7b3") + bytes(12) + bytes.fromhex(agent.address[2:])
    subscriber.sender.send(TxRequest(token, approve + (7).to_bytes(32, "big"), 100_000))
    pull = bytes.fromhex("23b872dd") + bytes(12) + bytes.fromhex(subscriber.address[2:]) + bytes(12) \
        + bytes.fromhex(SINK[2:]) + (7).to_bytes(32, "big")
    original = agent.sender._sign

    def withdraw_first(request, chain_id, nonce, fees):
        subscriber.sender.send(TxRequest(token, approve + bytes(32), 100_000))
        return original(request, chain_id, nonce, fees)

    agent.sender._sign = withdraw_first  # type: ignore[method-assign]
    with pytest.raises(ContractRevertError) as info:
        agent.sender.send(TxRequest(token, pull, 100_000, action="MockERC20.transferFrom"))
    assert info.value.error_name == "ERC20InsufficientAllowance" and info.value.tx_hash
    assert token_balance(faulty, SINK) == 0
    assert agent.sender.journal.get(info.value.tx_hash).status == "reverted"


def test_a_node_on_another_chain_is_refused_before_signing(faulty, tmp_path):
    faulty.proxy.rewrite("eth_chainId", hex(8453), times=None)
    builder = faulty.client("builder", state_dir=tmp_path)
    before = faulty.nonce(builder.address)
    with pytest.raises(ChainMismatchError) as info:
        builder.sender.send(transfer(faulty))
    assert info.value.exit_code == 7 and faulty.nonce(builder.address) == before
    assert faulty.proxy.count("eth_sendRawTransaction") == 0


def test_reads_and_sends_fail_over_to_the_next_endpoint(faulty, tmp_path):
    dead = "http://127.0.0.1:9"  # nothing listens on the discard port
    w3 = http_web3([dead, faulty.proxy.url])
    client = NvmChain(w3, faulty.sim.book, faulty.sim.account("builder").signer, network="local", state_dir=tmp_path)
    faulty.proxy.fail("eth_call", 500, times=1)
    assert client.plans.fee_schedule().crypto_rate == 100  # read: the dead one, a 500, then an answer
    receipt = client.sender.send(transfer(faulty))
    assert receipt.status == 1 and token_balance(faulty, SINK) == 1


def test_when_no_endpoint_answers_the_error_is_typed_and_names_them_without_credentials(faulty, tmp_path):
    w3 = http_web3(["http://127.0.0.1:9/v2/SECRETKEY123", "http://127.0.0.1:7/?apikey=SECRET"])
    with pytest.raises(NodeUnavailableError) as info:
        _ = w3.eth.block_number
    message = str(info.value)
    assert "127.0.0.1:9/…" in message and "127.0.0.1:7/…" in message and "SECRET" not in message
    assert info.value.exit_code == 6 and isinstance(info.value, ConnectionError)


def test_reads_retry_429_and_5xx_honouring_retry_after(faulty):
    faulty.proxy.fail("eth_blockNumber", 429, times=1, retry_after=1)
    faulty.proxy.fail("eth_blockNumber", 503, times=1)
    faulty.proxy.fail("eth_blockNumber", 500, times=1)
    started = time.monotonic()
    assert faulty.w3.eth.block_number == faulty.direct.eth.block_number
    assert time.monotonic() - started >= 1.0  # Retry-After: 1 was honoured
    assert faulty.proxy.count("eth_blockNumber") == 4


def test_speed_up_and_cancel_replace_a_pending_write_and_only_one_is_mined(faulty, builder):
    faulty.anvil("evm_setAutomine", [False])
    sender = builder.sender
    slow = sender.send(transfer(faulty), wait=False)
    faster = sender.speed_up(slow)
    assert sender.journal.get(faster).replaces == slow
    faulty.anvil("evm_mine")
    assert sender.wait(faster).status == 1
    assert sender.refresh(slow).status == "replaced" and sender.journal.get(slow).replaced_by == faster
    assert token_balance(faulty, SINK) == 1  # one transfer, not two
    doomed = sender.send(transfer(faulty, 9), wait=False)
    cancel = sender.cancel(doomed)
    faulty.anvil("evm_mine")
    assert sender.wait(cancel).status == 1 and sender.refresh(doomed).status == "replaced"
    assert token_balance(faulty, SINK) == 1  # the cancelled transfer never happened


def test_a_duplicate_intent_from_an_earlier_run_is_refused_until_new(faulty, tmp_path):
    first_run = faulty.client("builder", state_dir=tmp_path, receipt_timeout=1.0)
    faulty.anvil("evm_setAutomine", [False])
    with pytest.raises(TransactionPending) as pending:
        first_run.sender.send(transfer(faulty))
    second_run = faulty.client("builder", state_dir=tmp_path, refuse_duplicates=True)
    from nvm_chain.errors import DuplicateIntentError

    with pytest.raises(DuplicateIntentError) as info:
        second_run.sender.send(transfer(faulty))
    assert info.value.tx_hash == pending.value.tx_hash and info.value.exit_code == 3
    faulty.anvil("evm_mine")
    with pytest.raises(DuplicateIntentError, match="already mined"):  # mined, but never reported to that run
        second_run.sender.send(transfer(faulty))
    assert token_balance(faulty, SINK) == 1
    faulty.anvil("evm_setAutomine", [True])
    assert second_run.sender.send(transfer(faulty), new=True).status == 1 and token_balance(faulty, SINK) == 2


def test_a_key_pasted_where_an_rpc_url_goes_is_never_echoed():
    key = "0x" + "ab" * 32
    from nvm_chain.errors import ConfigurationError

    with pytest.raises(ConfigurationError) as info:
        http_web3(key)
    assert key[2:] not in str(info.value) and "ab" * 8 not in str(info.value)
    with pytest.raises(ConfigurationError) as info:
        http_web3(f"http://{key[2:]}:8545")
    assert "ab" * 8 not in str(info.value)
    assert LocalSigner(key).address not in str(info.value)
