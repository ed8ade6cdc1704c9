"""An ERC-20 order's approve and order sent together on both embedded engines: ``nvm_sendRawTransactionsIfAllSucceed``
keeps them only if both succeed, so the order is no longer simulated before its approval. The JSON-RPC method's
own answers, ``Sender.send_together`` (journal, nonces, refusals, lost answers) and the order flow, counted from
chain state."""

from __future__ import annotations

from collections import Counter

import pytest
from eth_utils import keccak
from web3.exceptions import TransactionNotFound

from nvm_chain.chain.abi import encode_call, registry
from nvm_chain.chain.rpc import SEND_IF_ALL_SUCCEED, SEND_IF_SUCCEEDS
from nvm_chain.chain.tx.refusals import classify_refusal
from nvm_chain.chain.tx.types import TxRequest
from nvm_chain.client import NvmChain
from nvm_chain.errors import (
    BroadcastError,
    ContractRevertError,
    InsufficientBalanceError,
    NodeUnavailableError,
    Refusal,
    TransactionPending,
    ValidationError,
)
from nvm_chain.sim import Simulation
from tests.counting import counted

PRICE = 1_000_000
NET, FEE = 990_000, 10_000  # fees on: 1% of the fee-inclusive price to the fee receiver
CREDITS = 100


@pytest.fixture(params=["pyevm", "revm"])
def sim(request):
    """A simulation with fees on, on each engine, reverted after the test."""
    sim: Simulation = request.getfixturevalue("_sim_fees" if request.param == "pyevm" else "_sim_revm")
    snapshot = sim.chain.snapshot()
    try:
        yield sim
    finally:
        sim.chain.revert(snapshot)


def _client(sim: Simulation, name: str, w3=None) -> NvmChain:
    """A client of the named account on a connection of its own (its own provider: counts and faults stay local)."""
    return NvmChain(w3 or sim.chain.connect(), sim.book, sim.account(name).signer, network="embedded",
                    simulation=sim)


def _erc20_plan(sim: Simulation, amount: int = PRICE, **price_changes) -> int:
    builder = _client(sim, "builder")
    plans = builder.plans
    price = plans.get_erc20_price_config(amount, sim.book["MockERC20"], builder.address)
    return plans.register_credits_plan(None, price.replace(**price_changes),
                                       plans.set_onchain_mirror(plans.get_fixed_credits_config(CREDITS))).plan_id


def _chain_state(sim: Simulation, plan_id: int) -> tuple:
    """Block number, the subscriber's nonce, ETH, tokens, allowance to the vault and credits; the builder's and
    the fee receiver's tokens."""
    w3, book = sim.w3, sim.book
    sub = sim.account("subscriber").address
    token = w3.eth.contract(address=book["MockERC20"], abi=list(registry()["MockERC20"].abi)).functions
    credits = w3.eth.contract(address=book["NFT1155Credits"], abi=list(registry()["NFT1155Credits"].abi)).functions
    return (w3.eth.block_number, w3.eth.get_transaction_count(sub), w3.eth.get_balance(sub),
            token.balanceOf(sub).call(), token.allowance(sub, book["PaymentsVault"]).call(),
            credits.balanceOf(sub, plan_id).call(),
            token.balanceOf(sim.account("builder").address).call(),
            token.balanceOf(sim.account("fee_receiver").address).call())


def _signed(sim: Simulation, who: str, to: str, data: bytes, nonce: int, gas: int = 300_000) -> str:
    """A signed type-2 transaction from ``who`` (0x hex)."""
    w3, signer = sim.w3, sim.account(who).signer
    base_fee = w3.eth.get_block("latest")["baseFeePerGas"]
    raw, _ = signer.sign_transaction({"type": 2, "chainId": w3.eth.chain_id, "nonce": nonce, "gas": gas,
                                      "maxFeePerGas": 2 * base_fee + 10**6, "maxPriorityFeePerGas": 10**6,
                                      "value": 0, "to": to, "data": data})
    return "0x" + raw.hex()


def _approve(sim: Simulation, nonce: int, amount: int = 5) -> str:
    entry = registry()["MockERC20"].entry("approve")
    return _signed(sim, "subscriber", sim.book["MockERC20"], encode_call(entry, [sim.book["PaymentsVault"], amount]),
                   nonce)


def _mint_by_subscriber(sim: Simulation, plan_id: int, nonce: int) -> str:
    """A credits mint signed by the subscriber, who holds no minter role: reverts InvalidRole."""
    entry = registry()["NFT1155Credits"].entry("mint", arity=4)
    data = encode_call(entry, [sim.account("subscriber").address, plan_id, 1, b""])
    return _signed(sim, "subscriber", sim.book["NFT1155Credits"], data, nonce)


def _hash(raw: str) -> str:
    return "0x" + keccak(bytes.fromhex(raw[2:])).hex()


def _single_failure(sim: Simulation, raw: str) -> dict:
    """How ``nvm_sendRawTransactionIfSucceeds`` answers ``raw``'s failure: its error object, or (py-evm, which
    raises refusals) the message of what it raises."""
    try:
        answer = sim.w3.provider.make_request(SEND_IF_SUCCEEDS, [raw])
    except Exception as exc:  # noqa: BLE001 - py-evm raises a refusal as eth_sendRawTransaction does
        return {"code": -32000, "message": str(exc)}
    return answer["error"]


# ---------------------------------------------------------------------------------------------- the JSON-RPC method


def test_every_transaction_kept_is_mined_in_its_own_block_and_answered_by_its_hash(sim):
    plan_id = _erc20_plan(sim)
    before = _chain_state(sim, plan_id)
    nonce = before[1]
    raws = [_approve(sim, nonce, 5), _approve(sim, nonce + 1, 7)]

    answer = sim.w3.provider.make_request(SEND_IF_ALL_SUCCEED, raws)

    assert answer["result"] == [_hash(raw) for raw in raws]
    receipts = [sim.w3.eth.get_transaction_receipt(h) for h in answer["result"]]
    assert [(r["status"], r["blockNumber"]) for r in receipts] == [(1, before[0] + 1), (1, before[0] + 2)]
    after = _chain_state(sim, plan_id)
    assert (after[0], after[1], after[4]) == (before[0] + 2, nonce + 2, 7)  # the second approve is the last word
    assert after[2] == before[2] - sum(r["gasUsed"] * r["effectiveGasPrice"] for r in receipts)


def test_a_revert_keeps_nothing_and_is_answered_as_the_single_method_answers_it_with_its_index(sim):
    plan_id = _erc20_plan(sim)
    before = _chain_state(sim, plan_id)
    nonce = before[1]
    if getattr(sim.chain, "engine", "pyevm") == "revm":  # a fixed next timestamp, which a discarded block used
        assert "error" not in sim.w3.provider.make_request("evm_setNextBlockTimestamp",
                                                           [sim.w3.eth.get_block("latest")["timestamp"] + 1000])
    upcoming = sim.w3.eth.get_block("pending")["timestamp"]
    good, bad = _approve(sim, nonce), _mint_by_subscriber(sim, plan_id, nonce + 1)

    answer = sim.w3.provider.make_request(SEND_IF_ALL_SUCCEED, [good, bad])

    error = answer["error"]
    assert (error["code"], error["message"], error["index"]) == (3, "execution reverted", 1)
    assert registry().decode_revert(bytes.fromhex(error["data"][2:])).name == "InvalidRole"
    # nothing kept: no block, same nonce and ETH (no gas charged for the approve either), no allowance
    assert _chain_state(sim, plan_id) == before
    for raw in (good, bad):
        with pytest.raises(TransactionNotFound):
            sim.w3.eth.get_transaction_receipt(_hash(raw))
    assert sim.w3.eth.get_block("pending")["timestamp"] == upcoming
    # the same revert as the first transaction is answered exactly as the single method answers it
    first = sim.w3.provider.make_request(SEND_IF_ALL_SUCCEED, [_mint_by_subscriber(sim, plan_id, nonce)])["error"]
    assert first == {**_single_failure(sim, _mint_by_subscriber(sim, plan_id, nonce)), "index": 0}
    # and the chain goes on from where it was: the good approve alone is mined in the next block, at its time
    mined = sim.w3.provider.make_request(SEND_IF_ALL_SUCCEED, [good])["result"]
    receipt = sim.w3.eth.get_transaction_receipt(mined[0])
    assert receipt["blockNumber"] == before[0] + 1
    assert sim.w3.eth.get_block(receipt["blockNumber"])["timestamp"] == upcoming


def test_a_refusal_keeps_nothing_and_has_the_single_methods_wording(sim):
    plan_id = _erc20_plan(sim)
    taken = sim.w3.eth.get_transaction_count(sim.account("subscriber").address)
    assert "result" in sim.w3.provider.make_request(SEND_IF_ALL_SUCCEED, [_approve(sim, taken, 5)])
    stale = _approve(sim, taken, 9)  # other bytes with the nonce just used
    before = _chain_state(sim, plan_id)
    nonce = before[1]
    expected = _single_failure(sim, stale)

    first = sim.w3.provider.make_request(SEND_IF_ALL_SUCCEED, [stale, _approve(sim, nonce)])["error"]
    second = sim.w3.provider.make_request(SEND_IF_ALL_SUCCEED, [_approve(sim, nonce), stale])["error"]

    assert first == {**expected, "index": 0}  # the single method's answer for the same bytes, and where it failed
    assert expected["code"] == -32000 and classify_refusal(expected["message"]) is Refusal.NONCE_TOO_LOW
    # refused after the first was applied (as the single method would refuse it then), then nothing kept
    assert (second["code"], second["index"]) == (-32000, 1)
    assert classify_refusal(second["message"]) is Refusal.NONCE_TOO_LOW
    assert _chain_state(sim, plan_id) == before


def test_params_must_be_a_non_empty_list(sim):
    for params in ([], None):
        assert sim.w3.provider.make_request(SEND_IF_ALL_SUCCEED, params)["error"]["code"] == -32602


# ---------------------------------------------------------------------------------------------- orders


def test_an_erc20_order_is_approved_and_ordered_together_without_a_simulation(sim):
    plan_id = _erc20_plan(sim)
    before = _chain_state(sim, plan_id)
    subscriber = _client(sim, "subscriber")

    with counted(subscriber.w3) as sent:
        order = subscriber.plans.order_plan(plan_id)

    # the connection's facts (chain id, base fee), the plan, allowance and balance together, the nonce count, then
    # one request for both writes: no simulation of the order (see the next test for the flow without it)
    assert Counter(sent) == {"eth_chainId": 1, "eth_getBlockByNumber": 1, "eth_call": 2,
                             "eth_getTransactionCount": 1, SEND_IF_ALL_SUCCEED: 1, "eth_getTransactionReceipt": 2}
    assert (order.approval_added, order.amount_paid, order.credits_received) == (PRICE, PRICE, CREDITS)
    assert order.approve_tx is not None and order.approve_tx.events == ("Approval",)
    assert "AgreementRegistered" in order.tx.events
    assert (order.approve_tx.block_number, order.tx.block_number) == (before[0] + 1, before[0] + 2)
    journal = subscriber.sender.journal
    rows = [journal.get(order.approve_tx.tx_hash), journal.get(order.tx.tx_hash)]
    assert [(e.status, e.nonce) for e in rows if e is not None] == [("mined", before[1]), ("mined", before[1] + 1)]
    after = _chain_state(sim, plan_id)
    assert after[1] == before[1] + 2 and after[4] == 0  # both nonces used; the allowance consumed by the order
    assert (after[3], after[5]) == (before[3] - PRICE, before[5] + CREDITS)
    assert (after[6], after[7]) == (before[6] + NET, before[7] + FEE)


def test_without_the_providers_support_the_order_is_simulated_then_sent_raw(sim):
    plan_id = _erc20_plan(sim)
    subscriber = _client(sim, "subscriber")
    subscriber.w3.provider.supports_send_if_all_succeed = False  # this connection only

    with counted(subscriber.w3) as sent:
        order = subscriber.plans.order_plan(plan_id)

    # one eth_call more (the order's simulation before its approval) and two raw sends
    assert Counter(sent) == {"eth_chainId": 1, "eth_getBlockByNumber": 1, "eth_call": 3,
                             "eth_getTransactionCount": 1, "eth_sendRawTransaction": 2, "eth_getTransactionReceipt": 2}
    assert (order.approval_added, order.credits_received) == (PRICE, CREDITS)
    assert order.approve_tx is not None and order.tx.block_number == order.approve_tx.block_number + 1


def test_an_order_that_would_revert_leaves_no_approval_and_frees_its_nonces(sim):
    wrong = _erc20_plan(sim, template_address=sim.book["FiatPaymentTemplate"])
    before = _chain_state(sim, wrong)
    subscriber = _client(sim, "subscriber")

    with pytest.raises(ContractRevertError) as info:
        subscriber.plans.order_plan(wrong)

    assert (info.value.error_name, tuple(info.value.error_args.values())) == \
        ("PlanWithInvalidTemplate", (wrong, sim.book["FixedPaymentTemplate"]))
    assert info.value.action == "FixedPaymentTemplate.order" and info.value.tx_hash is None
    assert _chain_state(sim, wrong) == before  # no allowance, block, nonce, ETH or token change
    rows = subscriber.sender.journal.list()
    assert sorted((e.action, e.nonce, e.status) for e in rows) == \
        [("FixedPaymentTemplate.order", before[1] + 1, "not_sent"), ("MockERC20.approve", before[1], "not_sent")]
    # the nonces are free again: the next order takes them
    good = _erc20_plan(sim)
    order = subscriber.plans.order_plan(good)
    assert [subscriber.sender.journal.get(t.tx_hash).nonce for t in (order.approve_tx, order.tx)] == \
        [before[1], before[1] + 1]


def test_a_short_balance_is_refused_before_signing(sim):
    held = _chain_state(sim, 0)[3]
    plan_id = _erc20_plan(sim, held + 1)
    subscriber = _client(sim, "subscriber")
    sent = sim.w3.eth.get_transaction_count(subscriber.address)

    with pytest.raises(InsufficientBalanceError):
        subscriber.plans.order_plan(plan_id)

    assert sim.w3.eth.get_transaction_count(subscriber.address) == sent and subscriber.sender.journal.list() == []


def test_a_nonce_taken_by_another_journal_is_refused_and_both_are_signed_afresh(sim):
    plan_id = _erc20_plan(sim)
    subscriber = _client(sim, "subscriber")
    token = subscriber.contracts.at("MockERC20", sim.book["MockERC20"])
    subscriber.sender.send(token.tx("approve", sim.account("agent").address, 1))  # the sender now keeps its count
    start = sim.w3.eth.get_transaction_count(subscriber.address)
    other = _client(sim, "subscriber")  # same key, another journal: takes the next nonce behind its back
    other.sender.send(token.tx("approve", sim.account("agent").address, 2))

    with counted(subscriber.w3) as sent:
        order = subscriber.plans.order_plan(plan_id)

    journal = subscriber.sender.journal
    assert [journal.get(t.tx_hash).nonce for t in (order.approve_tx, order.tx)] == [start + 1, start + 2]
    refused = journal.list(status="not_sent")
    assert sorted(e.nonce for e in refused) == [start, start + 1]  # the first attempt: nothing kept
    assert Counter(sent)[SEND_IF_ALL_SUCCEED] == 2 and Counter(sent)["eth_getTransactionCount"] == 1
    assert sim.w3.eth.get_transaction_count(subscriber.address) == start + 3
    assert order.credits_received == CREDITS


# ---------------------------------------------------------------------------------------------- Sender.send_together


def _approves(client: NvmChain, sim: Simulation, *amounts: int) -> list[TxRequest]:
    token = client.contracts.at("MockERC20", sim.book["MockERC20"])
    return [token.tx("approve", sim.account("agent").address, amount) for amount in amounts]


def _allowance_to_agent(sim: Simulation) -> int:
    token = sim.w3.eth.contract(address=sim.book["MockERC20"], abi=list(registry()["MockERC20"].abi)).functions
    return token.allowance(sim.account("subscriber").address, sim.account("agent").address).call()


def _lose_answers(monkeypatch, client: NvmChain, *, delivered: bool, unreachable_after: bool = False) -> None:
    """The bundle request of ``client``'s connection fails in transport: after reaching the chain (``delivered``)
    or before; with ``unreachable_after``, every later request fails too."""
    provider = client.w3.provider
    original = provider.make_request
    state = {"down": False}

    def faulty(method, params):
        if state["down"]:
            raise NodeUnavailableError("node down", maybe_delivered=False)
        if method == SEND_IF_ALL_SUCCEED:
            if delivered:
                original(method, params)
            state["down"] = unreachable_after
            raise NodeUnavailableError("answer lost", maybe_delivered=delivered)
        return original(method, params)

    monkeypatch.setattr(provider, "make_request", faulty)
    provider._request_func_cache = (None, None)  # web3 caches the middleware chain around make_request


def test_a_lost_answer_of_a_kept_bundle_is_a_success(sim, monkeypatch):
    subscriber = _client(sim, "subscriber")
    requests = _approves(subscriber, sim, 3, 4)
    _lose_answers(monkeypatch, subscriber, delivered=True)

    receipts = subscriber.sender.send_together(requests)

    assert [r.status for r in receipts] == [1, 1] and _allowance_to_agent(sim) == 4
    assert [subscriber.sender.journal.get(r.tx_hash).status for r in receipts] == ["mined", "mined"]


def test_a_bundle_that_never_reached_the_chain_is_not_sent(sim, monkeypatch):
    subscriber = _client(sim, "subscriber")
    start = sim.w3.eth.get_transaction_count(subscriber.address)
    _lose_answers(monkeypatch, subscriber, delivered=False)

    with pytest.raises(BroadcastError, match="not sent"):
        subscriber.sender.send_together(_approves(subscriber, sim, 3, 4))

    assert [e.status for e in subscriber.sender.journal.list()] == ["not_sent", "not_sent"]
    assert sim.w3.eth.get_transaction_count(subscriber.address) == start and _allowance_to_agent(sim) == 0


def test_a_lost_answer_that_cannot_be_checked_is_pending_never_a_failure(sim, monkeypatch):
    subscriber = _client(sim, "subscriber")
    _lose_answers(monkeypatch, subscriber, delivered=True, unreachable_after=True)

    with pytest.raises(TransactionPending) as info:
        subscriber.sender.send_together(_approves(subscriber, sim, 3, 4))

    rows = subscriber.sender.journal.list()
    assert sorted(e.status for e in rows) == ["maybe_sent", "maybe_sent"]
    assert info.value.tx_hash == min(rows, key=lambda e: e.nonce).hash
    assert _allowance_to_agent(sim) == 4  # it was kept: the journal will find it mined


def test_send_together_is_refused_where_the_provider_lacks_it_or_in_a_dry_run(sim):
    subscriber = _client(sim, "subscriber")
    subscriber.w3.provider.supports_send_if_all_succeed = False
    dry = NvmChain(sim.chain.connect(), sim.book, sim.account("subscriber").signer, network="embedded",
                   simulation=sim, dry_run=True)
    for client in (subscriber, dry):
        assert not client.sender.sends_together
        with pytest.raises(ValidationError, match="one by one"):
            client.sender.send_together(_approves(client, sim, 1, 2))
        assert client.sender.journal.list() == []


def test_the_revm_devnet_serves_the_method_over_http(_sim_revm):
    import requests

    from nvm_chain.sim.devnet.http import DevnetServer

    sim = _sim_revm
    snapshot = sim.chain.snapshot()
    try:
        plan_id = _erc20_plan(sim)
        nonce = sim.w3.eth.get_transaction_count(sim.account("subscriber").address)
        good, then = _approve(sim, nonce), _approve(sim, nonce + 1, 9)
        bad = _mint_by_subscriber(sim, plan_id, nonce + 1)
        with DevnetServer(sim.chain) as server:
            def post(params: list[str]) -> dict:
                body = {"jsonrpc": "2.0", "id": 7, "method": SEND_IF_ALL_SUCCEED, "params": params}
                return requests.post(server.url, json=body, timeout=10).json()

            failed = post([good, bad])
            kept = post([good, then])
        assert (failed["error"]["code"], failed["error"]["index"]) == (3, 1)
        assert kept == {"jsonrpc": "2.0", "id": 7, "result": [_hash(good), _hash(then)]}
        assert sim.w3.eth.get_transaction_count(sim.account("subscriber").address) == nonce + 2
    finally:
        sim.chain.revert(snapshot)
