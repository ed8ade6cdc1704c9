"""``nvm_sendRawTransactionIfSucceeds`` on both embedded engines: a success is mined once, a failure leaves no
trace (block, nonce, balances) and is answered the way ``eth_call`` answers it."""

from __future__ import annotations

import pytest
from eth_utils import keccak
from web3.exceptions import TransactionNotFound

from nvm_chain.chain.abi import encode_call, registry
from nvm_chain.chain.rpc import SEND_IF_SUCCEEDS
from nvm_chain.chain.tx.reverts import revert_data
from nvm_chain.client import NvmChain
from nvm_chain.sim import Simulation
from tests.counting import counted


@pytest.fixture(params=["pyevm", "revm"])
def chain(request):
    """(simulation, plan id of a plan the builder owns), reverted after the test."""
    sim: Simulation = request.getfixturevalue("_sim_fees" if request.param == "pyevm" else "_sim_revm")
    snapshot = sim.chain.snapshot()
    try:
        builder = NvmChain.connect("embedded", simulation=sim, account=sim.account("builder").signer)
        plans = builder.plans
        plan = plans.register_credits_plan(None, plans.get_free_price_config(),
                                           plans.set_onchain_mirror(plans.get_fixed_credits_config(10)))
        yield sim, plan.plan_id
    finally:
        sim.chain.revert(snapshot)


def _signed_mint(sim: Simulation, who: str, plan_id: int, amount: int, gas: int = 300_000) -> tuple[str, dict]:
    """A signed ``NFT1155Credits.mint(subscriber, plan, amount)`` from ``who``; returns (0x raw, call object)."""
    w3, signer = sim.w3, sim.account(who).signer
    entry = registry()["NFT1155Credits"].entry("mint", arity=4)
    data = "0x" + encode_call(entry, [sim.account("subscriber").address, plan_id, amount, b""]).hex()
    base_fee = w3.eth.get_block("latest")["baseFeePerGas"]
    tx = {"type": 2, "chainId": w3.eth.chain_id, "nonce": w3.eth.get_transaction_count(signer.address),
          "gas": gas, "maxFeePerGas": 2 * base_fee + 10**6, "maxPriorityFeePerGas": 10**6, "value": 0,
          "to": sim.book["NFT1155Credits"], "data": bytes.fromhex(data[2:])}
    raw, _ = signer.sign_transaction(tx)
    return "0x" + raw.hex(), {"from": signer.address, "to": tx["to"], "data": data, "gas": gas}


def _state(sim: Simulation, plan_id: int) -> tuple:
    w3 = sim.w3
    credits = w3.eth.contract(address=sim.book["NFT1155Credits"], abi=list(registry()["NFT1155Credits"].abi))
    accounts = [sim.account(n).address for n in ("builder", "subscriber")]
    return (w3.eth.block_number, *(w3.eth.get_transaction_count(a) for a in accounts),
            *(w3.eth.get_balance(a) for a in accounts),
            credits.functions.balanceOf(sim.account("subscriber").address, plan_id).call())


def test_a_succeeding_transaction_is_mined_once_and_answers_its_hash(chain):
    sim, plan_id = chain
    blocks, builder_nonce, _, builder_eth, _, credits = _state(sim, plan_id)
    raw, _call = _signed_mint(sim, "builder", plan_id, 5)
    answer = sim.w3.provider.make_request(SEND_IF_SUCCEEDS, [raw])
    tx_hash = answer["result"]
    receipt = sim.w3.eth.get_transaction_receipt(tx_hash)
    assert receipt["status"] == 1 and receipt["blockNumber"] == blocks + 1
    assert [log["address"] for log in receipt["logs"]].count(sim.book["NFT1155Credits"]) >= 1
    now = _state(sim, plan_id)
    assert now[0] == blocks + 1 and now[1] == builder_nonce + 1 and now[5] == credits + 5
    assert now[3] == builder_eth - receipt["gasUsed"] * receipt["effectiveGasPrice"]


def test_a_reverting_transaction_leaves_no_trace_and_answers_the_eth_call_revert(chain):
    sim, plan_id = chain
    before = _state(sim, plan_id)
    raw, call = _signed_mint(sim, "subscriber", plan_id, 5)  # not the plan owner: InvalidRole
    with pytest.raises(Exception) as simulated:  # noqa: B017 - each engine raises its own class for a revert
        sim.w3.eth.call(call)
    expected = revert_data(simulated.value)
    assert registry().decode_revert(expected).name == "InvalidRole"

    answer = sim.w3.provider.make_request(SEND_IF_SUCCEEDS, [raw])
    assert answer["error"]["code"] == 3 and answer["error"]["message"] == "execution reverted"
    assert bytes.fromhex(answer["error"]["data"][2:]) == expected
    assert _state(sim, plan_id) == before  # no block, same nonces, same ETH (no gas charged), same credits
    with pytest.raises(TransactionNotFound):
        sim.w3.eth.get_transaction_receipt("0x" + keccak(bytes.fromhex(raw[2:])).hex())

    with pytest.raises(Exception) as through_web3:  # noqa: B017 - web3's class for a code-3 answer
        sim.w3.manager.request_blocking(SEND_IF_SUCCEEDS, [raw])
    assert revert_data(through_web3.value) == expected
    # the same nonce is still free: a good transaction from the subscriber is accepted next
    assert sim.w3.eth.get_transaction_count(sim.account("subscriber").address) == before[2]


def test_a_halt_is_rolled_back_and_answered_as_eth_call_answers_it(chain):
    sim, plan_id = chain
    before = _state(sim, plan_id)
    raw, call = _signed_mint(sim, "builder", plan_id, 5)
    data = bytes.fromhex(call["data"][2:])
    floor = 21_000 + sum(40 if b else 10 for b in data)  # Prague's calldata floor, above the intrinsic gas
    raw, call = _signed_mint(sim, "builder", plan_id, 5, gas=floor + 100)  # out of gas at the top level
    with pytest.raises(Exception) as simulated:  # noqa: B017
        sim.w3.eth.call(call)
    with pytest.raises(Exception) as sent:  # noqa: B017
        sim.w3.manager.request_blocking(SEND_IF_SUCCEEDS, [raw])
    assert "out of gas" in str(simulated.value).lower() and "out of gas" in str(sent.value).lower()
    assert revert_data(sent.value) == revert_data(simulated.value)
    assert _state(sim, plan_id) == before


def test_refusals_are_answered_as_eth_send_raw_transaction_answers_them(chain):
    sim, plan_id = chain
    raw, _ = _signed_mint(sim, "builder", plan_id, 1)
    sim.w3.eth.send_raw_transaction(raw)
    before = _state(sim, plan_id)
    with pytest.raises(Exception) as plain:  # noqa: B017 - nonce now too low
        sim.w3.eth.send_raw_transaction(raw)
    with pytest.raises(Exception) as ours:  # noqa: B017
        sim.w3.manager.request_blocking(SEND_IF_SUCCEEDS, [raw])
    assert type(ours.value) is type(plain.value) and str(ours.value) == str(plain.value)
    assert _state(sim, plan_id) == before


def test_a_rolled_back_failure_does_not_disturb_the_next_write(chain):
    sim, plan_id = chain
    bad, _ = _signed_mint(sim, "subscriber", plan_id, 5)
    assert "error" in sim.w3.provider.make_request(SEND_IF_SUCCEEDS, [bad])
    good, _ = _signed_mint(sim, "builder", plan_id, 7)
    tx_hash = sim.w3.provider.make_request(SEND_IF_SUCCEEDS, [good])["result"]
    assert sim.w3.eth.get_transaction_receipt(tx_hash)["status"] == 1
    assert _state(sim, plan_id)[5] == 7


def test_a_sender_keeps_its_nonce_count_and_recovers_from_a_revert_and_from_a_foreign_write(chain):
    sim, plan_id = chain
    w3 = sim.chain.connect()  # a connection of its own, counted
    with counted(w3) as asked:
        builder = NvmChain(w3, sim.book, sim.account("builder").signer, network="embedded", simulation=sim)
        address = builder.address

        def mint(client: NvmChain) -> int:
            """One credit minted by ``client``; the nonce it was sent with."""
            entry = client.sender.journal.get(client.plans.mint_plan_credits(plan_id, 1, address).tx.tx_hash)
            assert entry is not None and entry.status == "mined"
            return entry.nonce

        start = sim.w3.eth.get_transaction_count(address)
        before = sim.chain.snapshot()
        assert [mint(builder) for _ in range(3)] == [start, start + 1, start + 2]
        assert asked.count("eth_getTransactionCount") == 1  # the count is kept: the chain refuses a gap, never queues
        sim.chain.revert(before)  # the three mints are gone: the kept count is now ahead of the chain's
        assert mint(builder) == start
        assert asked.count("eth_getTransactionCount") == 2  # refused as ahead, asked again, signed afresh
        # the first mint's bytes were signed again identically (same nonce, fees and calldata): one row, mined again
        dropped = builder.sender.journal.list(status="dropped")
        assert sorted(e.nonce for e in dropped) == [start + 1, start + 2] and all("reorg" in e.detail for e in dropped)
        other = NvmChain(sim.chain.connect(), sim.book, sim.account("builder").signer, network="embedded",
                         simulation=sim)  # same key, another journal: takes the next nonce behind our back
        assert mint(other) == start + 1
        assert mint(builder) == start + 2
        assert sim.w3.eth.get_transaction_count(address) == start + 3
        assert builder.plans.get_plan_balance(plan_id, address).balance == 3  # 3 mints on chain, none doubled
