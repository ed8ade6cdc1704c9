"""The client's request diet, counted at the provider: no per-call eth_chainId / eth_accounts on the embedded
chain, one plan read per client, one fee read per registration, and the cache never hides an owner change."""

from __future__ import annotations

from collections import Counter

from nvm_chain.client import NvmChain
from nvm_chain.protocol.models import RedemptionType
from tests.counting import counted


def test_the_complete_example_costs_a_bounded_number_of_requests(world_embedded):
    w = world_embedded
    w3 = w.sim.chain.connect()  # a connection of its own: what earlier tests taught the shared one is not reused
    with counted(w3) as sent:
        builder, subscriber = (NvmChain(w3, w.sim.book, w.sim.account(name).signer, network="embedded",
                                        simulation=w.sim) for name in ("builder", "subscriber"))
        token = w.sim.book["MockERC20"]
        subscriber.sender.send(subscriber.contracts.at("MockERC20", token).tx("mint", subscriber.address, 10**20))
        plans = builder.plans
        price = plans.get_erc20_price_config(10**19, token, builder.address)
        credits = plans.set_redemption_type(plans.set_onchain_mirror(plans.get_fixed_credits_config(100)),
                                            RedemptionType.ONLY_OWNER)
        plan_id = plans.register_credits_plan(None, price, credits).plan_id
        subscriber.plans.order_plan(plan_id)
        plans.mint_plan_credits(plan_id, 50, subscriber.address)
        plans.redeem_credits(plan_id, subscriber.address, 10)
        balances = [subscriber.plans.get_plan_balance(plan_id, w.address(h)).balance
                    for h in ("subscriber", "builder", "agent", "fee_receiver")]
    assert balances == [149, 0, 0, 0]  # 100 ordered + 50 minted - 1 (a fixed plan burns its min amount)
    methods = Counter(sent)
    assert methods["eth_accounts"] == 0
    # the chain id and the base fee are facts of the connection: its two clients ask once (nvm_chain.chain.facts)
    assert methods["eth_chainId"] == 1 and methods["eth_getBlockByNumber"] == 1
    # the embedded chain executes each simulated write once (nvm_sendRawTransactionIfSucceeds): the token mint,
    # the registration, the credits mint and the redemption; the approve and the order go together, kept only if
    # both succeed (nvm_sendRawTransactionsIfAllSucceed), without a simulation of the order
    assert methods["nvm_sendRawTransactionIfSucceeds"] == 4 and methods["nvm_sendRawTransactionsIfAllSucceed"] == 1
    assert methods["eth_sendRawTransaction"] == 0
    # one count per sender: the embedded chain refuses a nonce ahead of the account's, so a stale count shows
    # as a refusal and is asked again (never a transaction queued behind a gap)
    assert methods["eth_getTransactionCount"] == 2
    # 1 pre-check (the redemption) + fee schedule once + the plan once (by the subscriber: its terms then serve
    # the order and the balances) + allowance and balance together + 4 balances
    assert methods["eth_call"] == 1 + 1 + 1 + 1 + 4
    assert len(sent) == 23


def test_balances_read_the_plan_once_per_client(world_embedded):
    w = world_embedded
    builder = w.client("builder")
    plans = builder.plans
    plan_id = plans.register_credits_plan(None, plans.get_free_price_config(),
                                          plans.set_onchain_mirror(plans.get_fixed_credits_config(5))).plan_id
    plans.mint_plan_credits(plan_id, 3, w.address("agent"))
    reader = w.client("subscriber")
    with counted(w.sim.w3) as sent:
        first = [reader.plans.get_plan_balance(plan_id, w.address(h)).balance for h in ("agent", "builder", "agent")]
        after_first = len(sent)
        batch = reader.plans.get_balances([(plan_id, w.address("agent")), (plan_id, w.address("settler"))])
    assert first == [3, 0, 3] and [b.balance for b in batch] == [3, 0]
    assert after_first == 1 + 3  # getPlan once, then one balanceOf each
    assert len(sent) == after_first + 1  # the batch reuses the plan: one balanceOfBatch


def test_a_registration_reads_the_fee_schedule_once(world_embedded):
    w = world_embedded
    builder = w.client("builder")
    plans = builder.plans
    with counted(w.sim.w3) as sent:
        price = plans.get_native_token_price_config(10**6, builder.address)
        reg = plans.register_credits_plan(None, price, plans.set_onchain_mirror(plans.get_fixed_credits_config(5)))
    assert reg.price_config.amounts == (990_000, 10_000)  # 1% fee split off, read from the chain
    assert Counter(sent)["eth_call"] == 1  # the fee schedule (one Multicall3 request); no separate simulation
    assert Counter(sent)["nvm_sendRawTransactionIfSucceeds"] == 1  # executed once by the embedded chain


def test_a_cached_plan_never_hides_an_ownership_transfer(world_embedded):
    w = world_embedded
    builder, subscriber = w.client("builder"), w.client("subscriber")
    plans = builder.plans
    credits = plans.set_redemption_type(plans.set_onchain_mirror(plans.get_fixed_credits_config(5)),
                                        RedemptionType.ONLY_OWNER)
    plan_id = plans.register_credits_plan(None, plans.get_free_price_config(), credits).plan_id
    plans.mint_plan_credits(plan_id, 4, w.address("agent"))
    assert subscriber.plans.get_plan_balance(plan_id, w.address("agent")).balance == 4  # plan now cached
    w.proto.send(w.sim.account("builder").signer, "AssetsRegistry", "transferPlanOwnership", plan_id,
                 w.address("subscriber"))

    burned = subscriber.plans.redeem_credits(plan_id, w.address("agent"), 1)  # allowed: it owns the plan now

    assert burned.burned == 1
    assert subscriber.plans.get_plan_balance(plan_id, w.address("agent")).balance == 3
    assert subscriber.plans.get_plan(plan_id).owner == w.address("subscriber")
