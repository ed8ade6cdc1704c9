"""The revm engine (``Simulation.start(engine="revm")``) against the py-evm one: the same client flows give the same
ids, balances, events and decoded errors; plus what only the revm node does itself (refusals, snapshots, history,
time, the devnet server).

Gas: revm uses less gas than py-evm for the same transactions. Measured with this file's ``scenario`` on fresh
simulations: the deployment 31,524,714 vs 31,594,814 (-0.2%), an ERC-20 approve 46,330 on both, an ERC-20 order
465,978 vs 619,778 (0.75x), a native order 488,821 vs 619,321 (0.79x). pyrevm 0.3.7 never finalises revm's
journal between transactions, so accounts and storage slots that an earlier transaction touched stay warm
(100 gas instead of 2,100/2,600 per first access) and each slot's EIP-2200 "original value" stays the value it
had when first loaded (so a changed slot costs 100 gas to change again, not 2,900). The longer a chain has run,
the more is warm, so the ratio drifts down; the test bounds it (0.45-1.01) instead of equating gas.
State, return data, events and reverts are unaffected.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest
from eth_account import Account
from web3 import Web3
from web3.exceptions import TransactionNotFound

from nvm_chain.chain.abi import decode_log
from nvm_chain.chain.tx.refusals import classify_refusal
from nvm_chain.chain.tx.types import TxRequest
from nvm_chain.client import NvmChain
from nvm_chain.errors import ConfigurationError, ContractRevertError, Refusal
from nvm_chain.protocol.models import (
    AgentAPIAttributes,
    AgentMetadata,
    Endpoint,
    PlanMetadata,
)
from nvm_chain.sim import Simulation
from nvm_chain.sim.accounts import test_key
from tests.support import Protocol

pyrevm = pytest.importorskip("pyrevm", reason="the revm engine needs pyrevm (pip install 'nvm-chain[revm]')")

META = PlanMetadata(name="engine plan")
AGENT = AgentMetadata(name="engine agent")
API = AgentAPIAttributes(endpoints=[Endpoint(verb="POST", url="https://agent.example/ask")])
PRICE = 1_000_000
ETH_PRICE = 10**15
CREDITS = 10
SEED = bytes(range(32))
GAS_RATIO = (0.45, 1.01)  # revm gas / py-evm gas, per transaction (see the module docstring)


@dataclass
class Trace:
    """What one run of the scenario observed: comparable across engines."""

    ids: dict[str, object] = field(default_factory=dict)
    balances: dict[str, int] = field(default_factory=dict)
    events: list[tuple[str, ...]] = field(default_factory=list)
    errors: list[tuple[str, dict, bool]] = field(default_factory=list)  # name, args, mined
    gas: list[int] = field(default_factory=list)


def _client(sim: Simulation, name: str) -> NvmChain:
    return NvmChain.connect("embedded", simulation=sim, account=sim.account(name).signer)


def _events(sim: Simulation, tx_hash: str) -> tuple[str, ...]:
    receipt = sim.w3.eth.get_transaction_receipt(tx_hash)
    return tuple(e.name for e in (decode_log(log) for log in receipt["logs"]) if e is not None)


def scenario(sim: Simulation) -> Trace:
    """Register plans and an agent, order (ERC-20 and native), mint, redeem, and hit two reverts."""
    trace, proto = Trace(), Protocol(sim)
    builder, sub = _client(sim, "builder"), _client(sim, "subscriber")
    token = sim.book["MockERC20"]
    plans = builder.plans
    credits = plans.set_onchain_mirror(plans.get_fixed_credits_config(CREDITS))
    erc20 = plans.register_credits_plan(META, plans.get_erc20_price_config(PRICE, token, builder.address), credits,
                                        nonce=11)
    native = plans.register_credits_plan(META, plans.get_native_token_price_config(ETH_PRICE, builder.address),
                                         credits, nonce=12)
    agent = builder.agents.register_agent(AGENT, API, [erc20.plan_id, native.plan_id], seed=SEED)
    eth_before = {n: sim.w3.eth.get_balance(sim.account(n).address) for n in ("builder", "fee_receiver")}

    first = sub.plans.order_plan(erc20.plan_id, 2, seed=SEED)
    second = sub.plans.order_plan(native.plan_id, 3, credits_receiver=sim.account("agent").address, seed=SEED)
    for name, before in eth_before.items():  # neither sent a transaction in between: no gas in these deltas
        trace.balances[f"{name} ETH received"] = sim.w3.eth.get_balance(sim.account(name).address) - before
    minted = plans.mint_plan_credits(erc20.plan_id, 5, sub.address)
    burned = sub.plans.redeem_credits(erc20.plan_id, sub.address, 4)  # ONLY_SUBSCRIBER: the holder burns
    trace.ids = {"erc20": erc20.plan_id, "native": native.plan_id, "agent": agent.agent_id,
                 "agreements": (first.agreement_id, second.agreement_id), "credits": (first.credits_received,
                 second.credits_received, minted.credits_amount, burned.burned)}
    for tx in (first.approve_tx, first.tx, second.tx):
        assert tx is not None
        trace.events.append(_events(sim, tx.tx_hash))
        trace.gas.append(tx.gas_used)

    # the same plan again: decoded in the simulation (nothing sent), then mined with status 0 and replayed
    price, again = erc20.price_config, erc20.credits_config
    with pytest.raises(ContractRevertError) as simulated:
        plans.register_credits_plan(META, price, again, nonce=11)
    request = builder.contracts.AssetsRegistry.tx("createPlan", price.as_tuple(), again.as_tuple(), 11)
    with pytest.raises(ContractRevertError) as mined:
        builder.sender.send(TxRequest(request.to, request.data, 1_000_000, action="createPlan"), simulate=False)
    assert mined.value.tx_hash and sim.w3.eth.get_transaction_receipt(mined.value.tx_hash)["status"] == 0
    for info, was_mined in ((simulated, False), (mined, True)):
        trace.errors.append((info.value.error_name, info.value.error_args, was_mined))

    for name in ("builder", "subscriber", "fee_receiver"):
        trace.balances[f"{name} mUSD"] = proto.call("MockERC20", "balanceOf", sim.account(name).address)
    for name in ("subscriber", "agent"):
        for plan in (erc20, native):
            trace.balances[f"{name} credits {plan is native}"] = sub.plans.get_plan_balance(
                plan.plan_id, sim.account(name).address).balance
    return trace


@pytest.fixture
def sim_revm(_sim_revm):
    snapshot = _sim_revm.chain.snapshot()
    yield _sim_revm
    _sim_revm.chain.revert(snapshot)


@pytest.fixture
def sim_pyevm(_sim_fees):
    snapshot = _sim_fees.chain.snapshot()
    yield _sim_fees
    _sim_fees.chain.revert(snapshot)


# ---------------------------------------------------------------------------------------------- both engines


@pytest.mark.slow
def test_the_same_flows_give_the_same_results_on_both_engines(sim_pyevm, sim_revm):
    revm, pyevm = scenario(sim_revm), scenario(sim_pyevm)

    assert revm.ids == pyevm.ids
    assert revm.ids["credits"] == (2 * CREDITS, 3 * CREDITS, 5, 1)  # fixed redemption: a burn takes min_amount
    assert revm.balances == pyevm.balances
    assert revm.balances["builder ETH received"] == 3 * ETH_PRICE * 99 // 100
    assert revm.balances["fee_receiver ETH received"] == 3 * ETH_PRICE // 100
    assert revm.events == pyevm.events
    assert revm.events[0] == ("Approval",) and "AgreementRegistered" in revm.events[1]
    assert revm.errors == pyevm.errors == [("PlanAlreadyRegistered", {"planId": revm.ids["erc20"]}, False),
                                           ("PlanAlreadyRegistered", {"planId": revm.ids["erc20"]}, True)]
    ratios = [r / p for r, p in zip(revm.gas, pyevm.gas)]
    assert all(GAS_RATIO[0] <= x <= GAS_RATIO[1] for x in ratios), (revm.gas, pyevm.gas)
    assert abs(sim_revm.deployment.gas_used / sim_pyevm.deployment.gas_used - 1) < 0.01


@pytest.mark.slow
def test_a_time_plan_expires_after_time_travel_on_both_engines(sim_pyevm, sim_revm):
    seen = []
    for sim in (sim_pyevm, sim_revm):
        builder, sub = _client(sim, "builder"), _client(sim, "subscriber")
        plans = builder.plans
        timed = plans.register_time_plan(META, plans.get_free_price_config(),
                                         plans.set_onchain_mirror(plans.get_expirable_duration_config(3600)), nonce=21)
        sub.plans.order_plan(timed.plan_id, seed=SEED)
        fresh = sub.plans.get_plan_balance(timed.plan_id).balance
        start = sim.chain.now()
        assert sim.chain.travel(3599) == start + 3599
        almost = sub.plans.get_plan_balance(timed.plan_id).balance
        sim.chain.travel(10)
        seen.append((timed.plan_id, fresh, almost, sub.plans.get_plan_balance(timed.plan_id).balance))
    assert seen[0] == seen[1]
    assert seen[1][1:] == (1, 1, 0)


# ---------------------------------------------------------------------------------------------- revm node itself


def _signed(sim: Simulation, name: str, **fields) -> bytes:
    w3 = sim.w3
    tx = {"type": 2, "chainId": w3.eth.chain_id, "nonce": w3.eth.get_transaction_count(sim.account(name).address),
          "to": sim.account("agent").address, "value": 1, "gas": 21_000, "maxFeePerGas": 3 * 10**9,
          "maxPriorityFeePerGas": 10**6, **fields}
    return bytes(Account.sign_transaction(tx, test_key(name)).raw_transaction)


def test_refusals_are_worded_like_geth_and_change_nothing(sim_revm):
    w3, me = sim_revm.w3, sim_revm.account("relayer").address
    nonce, balance, block = w3.eth.get_transaction_count(me), w3.eth.get_balance(me), w3.eth.block_number
    cases = [
        (_signed(sim_revm, "relayer", nonce=nonce + 1), Refusal.NONCE_TOO_HIGH, "nonce too high"),
        (_signed(sim_revm, "relayer", value=balance), Refusal.INSUFFICIENT_FUNDS,
         "insufficient funds for gas * price + value"),
        (_signed(sim_revm, "relayer", maxFeePerGas=1, maxPriorityFeePerGas=1), Refusal.FEE_BELOW_BASE_FEE,
         "max fee per gas less than block base fee"),
        (_signed(sim_revm, "relayer", chainId=1), Refusal.OTHER, "invalid chain id for signer"),
        (_signed(sim_revm, "relayer", gas=20_000), Refusal.OTHER, "intrinsic gas too low"),
    ]
    for raw, refusal, words in cases:
        with pytest.raises(Exception) as info:
            w3.eth.send_raw_transaction(raw)
        assert words in str(info.value) and classify_refusal(str(info.value)) is refusal
    assert (w3.eth.get_transaction_count(me), w3.eth.get_balance(me), w3.eth.block_number) == (nonce, balance, block)

    good = _signed(sim_revm, "relayer")
    tx_hash = w3.eth.send_raw_transaction(good)
    receipt = w3.eth.get_transaction_receipt(tx_hash)
    assert receipt["status"] == 1 and receipt["gasUsed"] == 21_000 and receipt["blockNumber"] == block + 1
    price = receipt["effectiveGasPrice"]
    assert price == w3.eth.get_block(block + 1)["baseFeePerGas"] + 10**6
    assert w3.eth.get_balance(me) == balance - 1 - 21_000 * price
    reused = _signed(sim_revm, "relayer", nonce=nonce, value=2)
    for raw, refusal in ((good, Refusal.ALREADY_KNOWN), (reused, Refusal.NONCE_TOO_LOW)):
        with pytest.raises(Exception) as info:
            w3.eth.send_raw_transaction(raw)
        assert classify_refusal(str(info.value)) is refusal


def test_snapshot_revert_history_and_logs(sim_revm):
    sim, chain, w3 = sim_revm, sim_revm.chain, sim_revm.w3
    sub = _client(sim, "subscriber")
    token, me = sim.book["MockERC20"], sub.address
    start_block, start_nonce = w3.eth.block_number, w3.eth.get_transaction_count(me)
    before = Protocol(sim).call("MockERC20", "balanceOf", me)

    snapshot = chain.snapshot()
    erc20 = sub.contracts.at("MockERC20", token)
    sent = sub.sender.send(erc20.tx("transfer", sim.account("agent").address, 5))
    assert Protocol(sim).call("MockERC20", "balanceOf", me) == before - 5
    # state at an older block: the balance read and a call at the parent of the latest block
    assert w3.eth.get_balance(me, start_block) > w3.eth.get_balance(me)
    raw = w3.eth.call({"to": token, "data": erc20.calldata("balanceOf", me)}, sent.block_number - 1)
    assert int.from_bytes(raw, "big") == before
    logs = w3.eth.get_logs({"address": [token], "fromBlock": start_block, "toBlock": "latest",
                            "topics": [None, ["0x" + "00" * 12 + me[2:].lower()]]})
    assert [(log["transactionHash"].hex(), log["logIndex"]) for log in logs] == [(sent.tx_hash.removeprefix("0x"), 0)]

    chain.revert(snapshot)
    assert (w3.eth.block_number, w3.eth.get_transaction_count(me)) == (start_block, start_nonce)
    assert Protocol(sim).call("MockERC20", "balanceOf", me) == before
    with pytest.raises(TransactionNotFound):
        w3.eth.get_transaction_receipt(sent.tx_hash)
    chain.revert(snapshot)  # the snapshot stays usable
    again = _client(sim, "subscriber").sender.send(erc20.tx("transfer", sim.account("agent").address, 7))
    assert again.block_number == start_block + 1 and again.nonce == start_nonce


def test_receipt_and_block_blooms_hold_each_log_address_and_topic(sim_revm):
    from eth_bloom import BloomFilter

    sim, w3 = sim_revm, sim_revm.w3
    sub = _client(sim, "subscriber")
    erc20 = sub.contracts.at("MockERC20", sim.book["MockERC20"])
    for amount in (3, 4):  # the second transfer's items come from the bloom caches
        sent = sub.sender.send(erc20.tx("transfer", sim.account("agent").address, amount))
        receipt = w3.eth.get_transaction_receipt(sent.tx_hash)
        items = [bytes.fromhex(log["address"][2:]) for log in receipt["logs"]]
        items += [bytes(topic) for log in receipt["logs"] for topic in log["topics"]]
        assert len(items) == 4  # Transfer(from, to, value): the token's address and three topics
        expected = int(BloomFilter.from_iterable(items)).to_bytes(256, "big")
        assert bytes(receipt["logsBloom"]) == expected == bytes(w3.eth.get_block(receipt["blockNumber"])["logsBloom"])


def test_time_controls_move_the_next_blocks(sim_revm):
    chain, node = sim_revm.chain, sim_revm.chain.node
    t0 = chain.now()
    assert chain.travel(100) == t0 + 100
    node.call("evm_setNextBlockTimestamp", [hex(t0 + 500)])
    node.call("evm_mine", [])
    assert chain.now() == t0 + 500
    node.call("evm_increaseTime", ["0xe10"])
    node.call("evm_mine", [])
    assert chain.now() >= t0 + 500 + 3600
    with pytest.raises(Exception, match="not after the latest block"):
        node.call("evm_setNextBlockTimestamp", [hex(t0)])


def test_the_devnet_server_serves_a_revm_chain_over_http(tmp_path):
    from nvm_chain.sim.devnet import DevnetServer

    sim = Simulation.start(fees=True, engine="revm")
    book = tmp_path / "book.json"
    book.write_text(json.dumps(sim.book.to_json()))
    with DevnetServer(sim.chain) as server:
        remote = NvmChain.connect("local", rpc_url=server.url, address_book=book,
                                  account=sim.account("builder").signer)
        plans = remote.plans
        reg = plans.register_credits_plan(META, plans.get_native_token_price_config(ETH_PRICE, remote.address),
                                          plans.set_onchain_mirror(plans.get_fixed_credits_config(CREDITS)))
        order = remote.as_account(sim.account("subscriber").signer).plans.order_plan(reg.plan_id)
        assert order.credits_received == CREDITS
        assert Web3(Web3.HTTPProvider(server.url)).eth.get_transaction(order.tx.tx_hash)["value"] == ETH_PRICE
    # the in-process view is the same chain
    assert _client(sim, "subscriber").plans.get_plan_balance(reg.plan_id).balance == CREDITS


def test_an_unknown_engine_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="unknown engine 'evmone'"):
        Simulation.start(engine="evmone")


RETURNS_42 = bytes.fromhex("602a60005260206000f3")  # PUSH1 42, PUSH1 0, MSTORE, PUSH1 32, PUSH1 0, RETURN
RETURNS_43 = bytes.fromhex("602b60005260206000f3")


def test_set_code_is_replayed_with_its_block_and_undone_by_revert():
    from nvm_chain.sim.revm_chain import RevmChain

    key = test_key("builder")
    me = Account.from_key(key).address
    chain = RevmChain(alloc={me: 10**18})
    node, w3 = chain.node, chain.w3
    where = Web3.to_checksum_address("0x" + "ca" * 20)
    chain.travel(1)
    before = chain.snapshot()
    assert node.call("anvil_setCode", [where, "0x" + RETURNS_42.hex()]) is None
    assert w3.eth.block_number == 1  # written in the latest block, nothing mined (as anvil)
    call = {"type": 2, "chainId": w3.eth.chain_id, "nonce": 0, "to": where, "value": 0, "gas": 60_000,
            "maxFeePerGas": 3 * 10**9, "maxPriorityFeePerGas": 10**6}
    receipt = w3.eth.get_transaction_receipt(
        w3.eth.send_raw_transaction(bytes(Account.sign_transaction(call, key).raw_transaction)))
    assert receipt["status"] == 1 and receipt["blockNumber"] == 2 and receipt["gasUsed"] == 21_018  # ran the code
    assert int.from_bytes(w3.eth.call({"to": where}), "big") == 42

    # reading block 0 rewinds past the write and re-executes blocks 1-2; block 2's gas (checked on replay)
    # depends on the code being back
    assert (w3.eth.get_code(where, 0), w3.eth.call({"to": where}, 0)) == (b"", b"")
    assert w3.eth.get_code(where, 1) == RETURNS_42 and w3.eth.get_code(where) == RETURNS_42

    later = chain.snapshot()
    node.call("hardhat_setCode", [where, "0x" + RETURNS_43.hex()])
    assert int.from_bytes(w3.eth.call({"to": where}), "big") == 43
    assert w3.eth.get_code(where, 1) == RETURNS_42  # the second write belongs to block 2
    chain.revert(later)  # same block: only the later write is undone
    assert (w3.eth.block_number, int.from_bytes(w3.eth.call({"to": where}), "big")) == (2, 42)
    chain.revert(before)
    assert (w3.eth.block_number, w3.eth.get_code(where), w3.eth.get_transaction_count(me)) == (1, b"", 0)
    assert w3.eth.get_balance(me) == 10**18
