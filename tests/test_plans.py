"""The Plans API (nvm_chain.services.plans) against the deployed protocol.

Tests on ``world`` run twice: on the embedded chain and on anvil (fees on: 1% crypto, 2% fiat to the
``fee_receiver`` account). ``world_nofee`` has no fee receiver; ``world_embedded`` is used for time travel.
Refusals are checked by their type and message, decoded contract errors by name and arguments, and "nothing
was sent" by the account's transaction count.
"""

from __future__ import annotations

import warnings

import pydantic
import pytest

from nvm_chain.chain.abi import decode_log
from nvm_chain.client import NvmChain
from nvm_chain.errors import (
    ConfigurationError,
    ContractRevertError,
    FeeError,
    InsufficientBalanceError,
    OffchainCreditsWarning,
    PlanNotFoundError,
    RedemptionRefused,
    ValidationError,
)
from nvm_chain.protocol import ids
from nvm_chain.protocol.configs import get_erc20_price_config
from nvm_chain.protocol.fees import fees_included
from nvm_chain.protocol.models import ZERO, CreditsConfig, PlanMetadata, RedemptionType
from nvm_chain.protocol.results import OrderResult, PlanRegistration
from nvm_chain.services.plans import PlansAPI
from nvm_chain.services.plans.reads import CREDITS_BURNER_ROLE, CREDITS_MINTER_ROLE, credits_to_burn
from tests.counting import counted

PRICE = 1_000_000
NET, FEE = 990_000, 10_000
CREDITS = 100
ETH_PRICE = 10**16
UNKNOWN_PLAN = 0xDEADBEEF
META = PlanMetadata(name="Basic plan", tags=["test"])


# ---------------------------------------------------------------------------------------------- helpers


class Ctx:
    """A world plus one client per account and the reads the assertions need."""

    def __init__(self, world):
        self.world, self.w3, self.book, self.proto = world, world.sim.w3, world.sim.book, world.proto
        self.builder, self.sub = world.client("builder"), world.client("subscriber")
        self.agent, self.relayer = world.client("agent"), world.client("relayer")
        self.fee = world.address("fee_receiver")
        self.token = self.book["MockERC20"]

    def nonce(self, client: NvmChain) -> int:
        return self.w3.eth.get_transaction_count(client.address)

    def tokens(self, who, token: str = "MockERC20") -> int:
        return self.proto.call(token, "balanceOf", getattr(who, "address", who))

    def allowance(self, client: NvmChain, token: str = "MockERC20") -> int:
        return self.proto.call(token, "allowance", client.address, self.book["PaymentsVault"])

    def approve(self, client: NvmChain, amount: int, token: str = "MockERC20") -> None:
        bound = client.contracts.at("MockERC20", self.book[token])
        client.sender.send(bound.tx("approve", self.book["PaymentsVault"], amount))

    def events(self, tx, name: str) -> list:
        logs = self.w3.eth.get_transaction_receipt(tx.tx_hash)["logs"]
        return [e for e in (decode_log(log) for log in logs) if e is not None and e.name == name]

    def grant(self, role: int, client: NvmChain) -> None:
        self.proto.send(self.world.sim.owner, "AccessManager", "grantRole", role, client.address, 0)

    def plan(self, *, price=PRICE, token="MockERC20", credits=None, owner=None, **kw) -> PlanRegistration:
        """A fee-inclusive ERC-20 (or native: token=None, or free: price=0) credits plan with on-chain credits."""
        owner = owner or self.builder
        plans = owner.plans
        if price == 0:
            price_config = plans.get_free_price_config()
        elif token is None:
            price_config = plans.get_native_token_price_config(price, owner.address)
        else:
            price_config = plans.get_erc20_price_config(price, self.book[token], owner.address)
        credits = credits or plans.set_onchain_mirror(plans.get_fixed_credits_config(CREDITS))
        return plans.register_credits_plan(META, price_config, credits, **kw)


@pytest.fixture
def ctx(world) -> Ctx:
    return Ctx(world)


@pytest.fixture
def ctx_nofee(world_nofee) -> Ctx:
    return Ctx(world_nofee)


@pytest.fixture
def ctx_time(world_embedded) -> Ctx:
    return Ctx(world_embedded)


# ---------------------------------------------------------------------------------------------- fees and prices


def test_fee_schedule_and_price_helpers_are_fee_inclusive(ctx):
    plans, builder = ctx.builder.plans, ctx.builder.address
    schedule = plans.fee_schedule()
    assert (schedule.fee_receiver, schedule.crypto_rate, schedule.fiat_rate, schedule.denominator) == \
        (ctx.fee, 100, 200, 10_000)

    built = {
        "erc20": plans.get_erc20_price_config(PRICE, ctx.token, builder),
        "native": plans.get_native_token_price_config(PRICE, builder),
        "crypto": plans.get_crypto_price_config(PRICE, builder, ctx.token),
        "payg": plans.get_pay_as_you_go_price_config(PRICE, builder, ctx.token),
        "fiat": plans.get_fiat_price_config(PRICE, builder),
    }
    for name, price in built.items():
        assert price.total == PRICE, name  # the gross price is what the buyer pays
        assert fees_included(price, schedule), name
        assert price.receivers == (builder, ctx.fee), name
    assert built["erc20"].amounts == (NET, FEE)
    assert built["fiat"].amounts == (980_000, 20_000) and built["fiat"].is_crypto is False
    assert built["native"].token_address == ZERO
    assert built["payg"].template_address == ctx.book["PayAsYouGoTemplate"]
    assert plans.get_free_price_config().amounts == ()
    # a three-receiver split the protocol's own includeFees view gets wrong is still accepted here
    tricky = ctx.builder.plans._inclusive(get_erc20_price_config(5599, ctx.token, builder)
                                          .with_distribution([340, 3197, 2062], [builder, ctx.fee, builder]))
    assert tricky.total == 5599 and fees_included(tricky, schedule)


def test_without_a_fee_receiver_prices_keep_the_single_receiver_and_orders_pay_the_builder_all(ctx_nofee):
    c = ctx_nofee
    assert c.builder.plans.fee_schedule().enabled is False
    price = c.builder.plans.get_erc20_price_config(PRICE, c.token, c.builder.address)
    assert (price.amounts, price.receivers) == ((PRICE,), (c.builder.address,))
    plan = c.plan()
    before = c.tokens(c.builder)

    order = c.sub.plans.order_plan(plan.plan_id)

    assert c.tokens(c.builder) == before + PRICE
    assert (order.amount_paid, order.credits_received) == (PRICE, CREDITS)


def test_a_price_without_the_fee_entry_is_split_at_registration_and_a_wrong_fee_refused(ctx):
    raw = get_erc20_price_config(PRICE, ctx.token, ctx.builder.address)  # payments-py style: no fee entry
    credits = ctx.builder.plans.set_onchain_mirror(ctx.builder.plans.get_fixed_credits_config(CREDITS))

    reg = ctx.builder.plans.register_credits_plan(META, raw, credits)
    assert reg.price_config.amounts == (NET, FEE) and reg.price_config.receivers == (ctx.builder.address, ctx.fee)
    before = (ctx.tokens(ctx.sub), ctx.tokens(ctx.builder), ctx.tokens(ctx.fee))
    ctx.sub.plans.order_plan(reg.plan_id)
    # the buyer pays the advertised total; the builder gets it minus the protocol's 1%
    assert (ctx.tokens(ctx.sub), ctx.tokens(ctx.builder), ctx.tokens(ctx.fee)) == \
        (before[0] - PRICE, before[1] + NET, before[2] + FEE)

    sent = ctx.nonce(ctx.builder)
    off_by_one = raw.with_distribution([NET + 1, FEE - 1], [ctx.builder.address, ctx.fee])
    with pytest.raises(FeeError, match="exactly 10000") as info:
        ctx.builder.plans.register_credits_plan(META, off_by_one, credits)
    assert ctx.fee in str(info.value) and isinstance(info.value, ValidationError)
    assert ctx.nonce(ctx.builder) == sent


def test_prepare_plan_fills_the_credits_contract_by_plan_kind(ctx):
    plans = ctx.builder.plans
    free = plans.get_free_price_config()
    _, credits = plans.prepare_plan(free, plans.get_fixed_credits_config(10))
    _, timed = plans.prepare_plan(free, plans.get_expirable_duration_config(60))
    v1 = ctx.book["NFT1155ExpirableCredits"]
    _, chosen = plans.prepare_plan(free, plans.get_fixed_credits_config(10).with_nft(v1))
    assert credits.nft_address == ctx.book["NFT1155Credits"]
    assert timed.nft_address == ctx.book["NFT1155ExpirableCreditsV2"]
    assert chosen.nft_address == ctx.book["NFT1155ExpirableCredits"]
    with pytest.raises(ValidationError, match="NFT1155Credits"):
        plans.prepare_plan(free, plans.get_expirable_duration_config(60).with_nft(ctx.book["NFT1155Credits"]))


# ---------------------------------------------------------------------------------------------- registration


def test_register_credits_plan_id_computed_offline_matches_the_chain(ctx):
    plans = ctx.builder.plans
    price = plans.get_erc20_price_config(PRICE, ctx.token, ctx.builder.address)
    credits = plans.set_onchain_mirror(plans.get_dynamic_credits_config(CREDITS, 1, 5))

    reg = plans.register_credits_plan(META, price, credits, nonce=42)

    expected = ids.plan_id(price.as_tuple(), credits.with_nft(ctx.book["NFT1155Credits"]).as_tuple(),
                           ctx.builder.address, 42)
    assert reg.plan_id == expected
    assert ctx.events(reg.tx, "PlanRegistered")[0].args == \
        {"planId": expected, "creator": ctx.builder.address, "onchainMirror": True}
    assert (reg.owner, reg.nonce, reg.access_limit, reg.hooks, reg.plan_metadata) == \
        (ctx.builder.address, 42, "credits", (), META)
    assert reg.tx_hash == reg.tx.tx_hash and reg.tx.events == ("PlanRegistered",)
    assert reg.model_dump(mode="json")["plan_id"] == str(expected)
    for form in (expected, str(expected), hex(expected)):
        plan = plans.get_plan(form)
        assert (plan.plan_id, plan.owner, plan.price, plan.credits, plan.hooks) == \
            (expected, ctx.builder.address, price, reg.credits_config, ())
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        reg.plan_id = 1  # frozen


def test_registration_refusals_send_nothing(ctx):
    plans, me = ctx.builder.plans, ctx.builder.address
    price = plans.get_erc20_price_config(PRICE, ctx.token, me)
    fixed, timed = plans.get_fixed_credits_config(CREDITS), plans.get_expirable_duration_config(3600)
    fixed_template = ctx.book["FixedPaymentTemplate"]
    sent = ctx.nonce(ctx.builder)
    cases = [
        (lambda: plans.register_credits_plan(META, price, timed), "duration_secs 0"),
        (lambda: plans.register_time_plan(META, price, fixed), "duration_secs > 0"),
        (lambda: plans.register_time_plan(META, price, timed.with_nft(ctx.book["NFT1155Credits"])), "NFT1155Credits"),
        (lambda: plans.register_plan(META, price.replace(amounts=[990_000.0, 10_000]), fixed), "integer base units"),
        (lambda: plans.register_plan(META, price, {**fixed.model_dump(), "min_amount": 5, "max_amount": 2}),
         "must not exceed"),
        (lambda: plans.register_plan(META, price, fixed, access_limit="forever"), "access_limit"),
        (lambda: plans.register_plan(META, price, fixed, nonce=1.5), "nonce"),
        (lambda: plans.register_plan("name", price, fixed), "plan_metadata"),
        (lambda: plans.register_pay_as_you_go_plan(META, price.replace(template_address=fixed_template)),
         "PayAsYouGoTemplate"),
    ]
    for call, message in cases:
        with pytest.raises(ValidationError, match=message):
            call()
    assert ctx.nonce(ctx.builder) == sent


def test_registering_the_same_plan_twice_is_refused_by_the_registry_before_sending(ctx):
    first = ctx.plan(nonce=7)
    sent = ctx.nonce(ctx.builder)
    with pytest.raises(ContractRevertError) as info:
        ctx.plan(nonce=7)
    assert (info.value.error_name, info.value.error_args) == ("PlanAlreadyRegistered", {"planId": first.plan_id})
    assert ctx.nonce(ctx.builder) == sent


def test_time_plan_uses_expirable_credits_and_access_limit_time(ctx):
    plans = ctx.builder.plans
    reg = plans.register_time_plan(META, plans.get_free_price_config(),
                                   plans.set_onchain_mirror(plans.get_expirable_duration_config(86_400)))
    assert reg.access_limit == "time"
    assert reg.credits_config.nft_address == ctx.book["NFT1155ExpirableCreditsV2"]
    assert plans.get_plan(reg.plan_id).plan_type == "time"


def test_plans_with_off_chain_credits_warn_and_mint_nothing_when_ordered_anyway(ctx_nofee):
    c = ctx_nofee
    plans = c.builder.plans
    offchain = plans.set_onchain_mirror(plans.get_fixed_credits_config(5), False)
    with pytest.warns(OffchainCreditsWarning, match="set_onchain_mirror"):
        reg = plans.register_credits_plan(META, plans.get_free_price_config(), offchain)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the pay-as-you-go placeholder credits never warn
        plans.register_pay_as_you_go_plan(META, plans.get_pay_as_you_go_price_config(10, c.builder.address))
    order = c.sub.plans.order_plan(reg.plan_id, allow_offchain_credits=True)
    assert order.credits_received == 0
    assert c.sub.plans.get_plan_balance(reg.plan_id, ledger="onchain").balance == 0


# ---------------------------------------------------------------------------------------------- reads


def test_unknown_plans_and_malformed_ids_are_typed_errors(ctx):
    plans = ctx.sub.plans
    for call in (lambda: plans.get_plan(UNKNOWN_PLAN), lambda: plans.get_plan_balance(UNKNOWN_PLAN),
                 lambda: plans.order_plan(UNKNOWN_PLAN),
                 lambda: plans.mint_plan_credits(UNKNOWN_PLAN, 1, ctx.sub.address),
                 lambda: plans.redeem_credits(UNKNOWN_PLAN, ctx.sub.address, 1)):
        with pytest.raises(PlanNotFoundError, match=f"plan {UNKNOWN_PLAN} not found") as info:
            call()
        assert isinstance(info.value, LookupError) and info.value.plan_id == UNKNOWN_PLAN
    for bad in (1.5, "twelve", -1, True, 2**256):
        with pytest.raises(ValidationError):
            plans.get_plan(bad)


def test_plan_balance_reports_the_payments_fields(ctx):
    reg = ctx.plan(price=2_000_000)
    empty = ctx.sub.plans.get_plan_balance(reg.plan_id)
    assert (empty.balance, empty.is_subscriber, empty.holder_address) == (0, False, ctx.sub.address)

    ctx.sub.plans.order_plan(reg.plan_id)
    mine = ctx.sub.plans.get_plan_balance(str(reg.plan_id))
    theirs = ctx.agent.plans.get_plan_balance(reg.plan_id, ctx.sub.address.lower())

    assert mine == theirs
    assert (mine.plan_id, mine.plan_name, mine.plan_type, mine.balance, mine.is_subscriber) == \
        (reg.plan_id, "", "credits", CREDITS, True)
    assert (mine.credits_contract, mine.price_per_credit) == (ctx.book["NFT1155Credits"], 20_000)
    assert mine.model_dump(by_alias=True)["holderAddress"] == ctx.sub.address


def test_plans_registered_by_a_creator_from_logs(ctx):
    first = ctx.plan()
    second = ctx.plan(price=0)
    other = ctx.plan(owner=ctx.sub)
    plans = ctx.agent.plans

    assert plans.get_plans_registered_by(ctx.builder.address).plans == (first.plan_id, second.plan_id)
    assert plans.get_plans_registered_by(ctx.sub.address.lower()).plans == (other.plan_id,)
    assert plans.get_plans_registered_by(ctx.builder.address, from_block=second.tx.block_number).plans == \
        (second.plan_id,)
    assert plans.get_plans_registered_by(ctx.builder.address, 0, first.tx.block_number).plans == (first.plan_id,)
    assert plans.get_plans_registered_by(ctx.agent.address).plans == ()
    with pytest.raises(ValidationError):
        plans.get_plans_registered_by("0x1234")


def test_agents_associated_to_a_plan_from_replayed_events(ctx):
    a, b = ctx.plan().plan_id, ctx.plan(price=0).plan_id
    registry = ctx.builder.contracts.AssetsRegistry
    send = ctx.builder.sender.send

    def agent(n: int, plans: list[int]) -> int:
        seed = n.to_bytes(32, "big")
        send(registry.tx("register", seed, f"https://agent{n}.example", plans))
        return ids.agent_id(seed, ctx.builder.address)

    one = agent(1, [a])
    two = agent(2, [b])
    send(registry.tx("addPlanToAgent", two, a))
    three = agent(3, [a, b])
    send(registry.tx("removePlanFromAgent", three, a))
    four = agent(4, [])
    send(registry.tx("replacePlansForAgent", four, sorted([a, b])))

    plans = ctx.sub.plans
    assert plans.get_agents_associated_to_plan(a).agents == (one, two, four)
    assert plans.get_agents_associated_to_plan(str(b)).agents == (two, three, four)
    assert plans.get_agents_associated_to_plan(UNKNOWN_PLAN).agents == ()


def test_a_read_only_client_reads_but_cannot_write(ctx):
    ro = NvmChain(ctx.w3, ctx.book, None, network="local")
    reg = ctx.plan()
    assert ro.plans.get_plan(reg.plan_id).owner == ctx.builder.address
    assert ro.plans.get_plan_balance(reg.plan_id, ctx.sub.address).balance == 0
    assert ro.plans.fee_schedule().fee_receiver == ctx.fee
    for call in (lambda: ro.plans.order_plan(reg.plan_id), lambda: ro.plans.get_plan_balance(reg.plan_id),
                 lambda: ro.plans.register_credits_plan(META, reg.price_config, reg.credits_config)):
        with pytest.raises(ConfigurationError, match="no account"):
            call()


# ---------------------------------------------------------------------------------------------- fixed orders


def test_erc20_order_approves_exactly_the_total_and_reports_the_agreement(ctx):
    reg = ctx.plan()
    before = {who: ctx.tokens(who) for who in (ctx.sub.address, ctx.builder.address, ctx.fee)}
    seed = bytes(range(1, 33))

    order = ctx.sub.plans.order_plan(reg.plan_id, number_of_purchases=2, seed=seed)

    total = 2 * PRICE
    expected = ids.fixed_agreement_id(ctx.sub.address, seed, reg.plan_id, 2, [])
    assert order.agreement_id == "0x" + expected.hex()
    assert [e.args["agreementId"] for e in ctx.events(order.tx, "AgreementRegistered")] == [expected]
    assert [(e.args["spender"], e.args["value"]) for e in ctx.events(order.approve_tx, "Approval")] == \
        [(ctx.book["PaymentsVault"], total)]
    assert (order.amount_paid, order.approval_added, order.token, order.credits_received) == \
        (total, total, ctx.token, 2 * CREDITS)
    assert (order.payer, order.sender, order.credits_receiver, order.number_of_purchases) == \
        (ctx.sub.address, ctx.sub.address, ctx.sub.address, 2)
    assert ctx.allowance(ctx.sub) == 0
    assert ctx.tokens(ctx.sub) == before[ctx.sub.address] - total
    assert ctx.tokens(ctx.builder) == before[ctx.builder.address] + 2 * NET
    assert ctx.tokens(ctx.fee) == before[ctx.fee] + 2 * FEE
    stored = ctx.proto.call("AgreementsStore", "getAgreement", expected)
    assert (stored[0], stored[1], stored[6]) == (reg.plan_id, ctx.sub.address, 2)
    assert isinstance(order, OrderResult) and order.seed == "0x" + seed.hex()


def test_a_partial_allowance_is_topped_up_to_exactly_the_total(ctx):
    reg = ctx.plan()
    ctx.approve(ctx.sub, 300_000)

    order = ctx.sub.plans.order_plan(reg.plan_id)

    assert order.approval_added == 700_000  # only the missing part
    assert [e.args["value"] for e in ctx.events(order.approve_tx, "Approval")] == [PRICE]  # 300_000 + 700_000
    assert ctx.allowance(ctx.sub) == 0


def test_an_order_within_the_allowance_sends_no_approval(ctx):
    reg = ctx.plan()
    ctx.approve(ctx.sub, 5 * PRICE)
    sent = ctx.nonce(ctx.sub)

    order = ctx.sub.plans.order_plan(reg.plan_id)

    assert (order.approve_tx, order.approval_added) == (None, 0)
    assert ctx.nonce(ctx.sub) == sent + 1
    assert ctx.allowance(ctx.sub) == 4 * PRICE


def test_an_allowance_exactly_equal_to_the_total_is_used_without_an_approval(ctx):
    """An allowance that covers the total (here: equals it) needs no approve: one transaction, the order."""
    reg = ctx.plan()
    ctx.approve(ctx.sub, 2_000_000)
    sent, paid_before = ctx.nonce(ctx.sub), ctx.tokens(ctx.sub)

    order = ctx.sub.plans.order_plan(reg.plan_id, number_of_purchases=2)  # 2 x 1_000_000

    assert (order.approve_tx, order.approval_added, order.amount_paid) == (None, 0, 2_000_000)
    assert ctx.nonce(ctx.sub) == sent + 1  # the order alone, no approve before it
    assert ctx.events(order.tx, "Approval") == []
    assert ctx.allowance(ctx.sub) == 0  # used up exactly
    assert ctx.tokens(ctx.sub) == paid_before - 2_000_000


def test_native_order_sends_the_exact_value_and_credits_a_third_party(ctx):
    reg = ctx.plan(price=ETH_PRICE, token=None)
    builder_before = ctx.w3.eth.get_balance(ctx.builder.address)

    order = ctx.sub.plans.order_plan(reg.plan_id, 3, credits_receiver=ctx.agent.address)

    assert ctx.w3.eth.get_transaction(order.tx.tx_hash)["value"] == 3 * ETH_PRICE
    assert (order.approve_tx, order.token, order.amount_paid) == (None, ZERO, 3 * ETH_PRICE)
    assert order.credits_received == 3 * CREDITS and order.credits_receiver == ctx.agent.address
    assert ctx.sub.plans.get_plan_balance(reg.plan_id, ctx.agent.address).balance == 3 * CREDITS
    assert ctx.sub.plans.get_plan_balance(reg.plan_id).balance == 0
    assert ctx.w3.eth.get_balance(ctx.builder.address) == builder_before + 3 * ETH_PRICE * 99 // 100


def test_free_plan_order_pays_nothing(ctx):
    reg = ctx.plan(price=0)
    sent = ctx.nonce(ctx.sub)
    order = ctx.sub.plans.order_plan(reg.plan_id)
    assert ctx.w3.eth.get_transaction(order.tx.tx_hash)["value"] == 0
    assert (order.approve_tx, order.amount_paid, order.credits_received) == (None, 0, CREDITS)
    assert ctx.nonce(ctx.sub) == sent + 1


def test_order_refusals_before_signing(ctx):
    plans = ctx.builder.plans
    me = ctx.builder.address
    fiat = plans.register_credits_plan(META, plans.get_fiat_price_config(PRICE, me),
                                       plans.set_onchain_mirror(plans.get_fixed_credits_config(1))).plan_id
    payg = plans.register_pay_as_you_go_plan(META, plans.get_pay_as_you_go_price_config(PRICE, me, ctx.token)).plan_id
    pricey = ctx.plan(price=2 * 10**24).plan_id  # each account holds 10**24 tokens
    pricey_native = ctx.plan(price=2000 * 10**18, token=None).plan_id  # and 1000 ETH
    ok = ctx.plan().plan_id
    buyer = ctx.sub.plans
    sent = ctx.nonce(ctx.sub)

    with pytest.raises(ValidationError, match="order_fiat_plan"):
        buyer.order_plan(fiat)
    with pytest.raises(ValidationError, match="pay-as-you-go"):
        buyer.order_plan(payg, number_of_purchases=2)
    for bad in ({"number_of_purchases": 0}, {"number_of_purchases": 1.0}, {"credits_receiver": "0xabc"},
                {"seed": bytes(32)}, {"seed": b"short"}):
        with pytest.raises(ValidationError):
            buyer.order_plan(ok, **bad)
    with pytest.raises(InsufficientBalanceError, match="costs 2000000000000000000000000") as info:
        buyer.order_plan(pricey)
    assert (info.value.holder, info.value.token, info.value.available) == (ctx.sub.address, ctx.token, 10**24)
    with pytest.raises(InsufficientBalanceError, match="native token"):
        buyer.order_plan(pricey_native)
    assert ctx.nonce(ctx.sub) == sent and ctx.allowance(ctx.sub) == 0


def test_a_wrong_template_is_decoded_before_any_approval(ctx):
    plans = ctx.builder.plans
    price = plans.get_erc20_price_config(PRICE, ctx.token, ctx.builder.address) \
        .replace(template_address=ctx.book["FiatPaymentTemplate"])
    reg = plans.register_plan(META, price, plans.set_onchain_mirror(plans.get_fixed_credits_config(1)))
    sent = ctx.nonce(ctx.sub)

    with pytest.raises(ContractRevertError) as info:
        ctx.sub.plans.order_plan(reg.plan_id)

    assert (info.value.error_name, tuple(info.value.error_args.values())) == \
        ("PlanWithInvalidTemplate", (reg.plan_id, ctx.book["FixedPaymentTemplate"]))
    assert ctx.nonce(ctx.sub) == sent  # no approval left behind


def test_trial_plan_can_be_ordered_once_per_account(ctx):
    plans = ctx.builder.plans
    reg = plans.register_credits_trial_plan(META, plans.get_free_price_config(),
                                            plans.set_onchain_mirror(plans.get_fixed_credits_config(5)))
    assert reg.hooks == (ctx.book["OneTimeCreatorHook"],)
    assert plans.get_plan(reg.plan_id).hooks == reg.hooks
    assert reg.plan_metadata.is_trial_plan is True and META.is_trial_plan is False

    first = ctx.sub.plans.order_plan(reg.plan_id)
    sent = ctx.nonce(ctx.sub)
    with pytest.raises(ContractRevertError) as info:
        ctx.sub.plans.order_plan(reg.plan_id)

    assert first.credits_received == 5
    assert info.value.error_name == "CreatorAlreadyCreatedAgreement"
    assert list(info.value.error_args.values())[0] == ctx.sub.address
    assert ctx.nonce(ctx.sub) == sent
    assert ctx.agent.plans.order_plan(reg.plan_id).credits_received == 5  # another account still may


# ---------------------------------------------------------------------------------------------- pay as you go


def test_pay_as_you_go_order_pays_the_builder_and_the_fee_receiver(ctx):
    plans = ctx.builder.plans
    reg = plans.register_pay_as_you_go_plan(
        META, plans.get_pay_as_you_go_price_config(200_000, ctx.builder.address, ctx.token))
    assert reg.price_config.template_address == ctx.book["PayAsYouGoTemplate"]
    before = (ctx.tokens(ctx.builder), ctx.tokens(ctx.fee))
    seed = b"\x07" * 32

    order = ctx.sub.plans.order_pay_as_you_go_plan(reg.plan_id, seed=seed)

    assert (ctx.tokens(ctx.builder), ctx.tokens(ctx.fee)) == (before[0] + 198_000, before[1] + 2_000)
    assert order.agreement_id == "0x" + ids.pay_as_you_go_agreement_id(ctx.sub.address, seed, reg.plan_id).hex()
    assert (order.template, order.amount_paid, order.approval_added, order.credits_received) == \
        ("PayAsYouGoTemplate", 200_000, 200_000, 0)
    assert ctx.sub.plans.get_plan_balance(reg.plan_id).balance == 0
    fixed = ctx.plan(price=0).plan_id
    with pytest.raises(ValidationError, match="not a pay-as-you-go plan"):
        ctx.sub.plans.order_pay_as_you_go_plan(fixed)


# ---------------------------------------------------------------------------------------------- gasless (EIP-3009)


def test_gasless_order_is_paid_by_the_signing_buyer_and_sent_by_the_relayer(ctx):
    reg = ctx.plan(token="MockEIP3009Token")
    buyer = ctx.world.sim.account("subscriber").signer
    eth_before, sent_before = ctx.w3.eth.get_balance(buyer.address), ctx.nonce(ctx.sub)
    tokens_before = ctx.tokens(buyer, "MockEIP3009Token")
    seed = b"\x05" * 32

    order = ctx.relayer.plans.order_plan_with_authorization(reg.plan_id, buyer, 2, ctx.agent.address, seed=seed)

    agreement = ids.fixed_authorization_agreement_id(buyer.address, seed, reg.plan_id, ctx.agent.address, 2, [])
    assert order.agreement_id == "0x" + agreement.hex()
    assert [(e.args["authorizer"], e.args["nonce"]) for e in ctx.events(order.tx, "AuthorizationUsed")] == \
        [(buyer.address, agreement)]
    assert ctx.w3.eth.get_transaction(order.tx.tx_hash)["from"] == ctx.relayer.address
    assert (order.payer, order.sender, order.amount_paid, order.credits_received) == \
        (buyer.address, ctx.relayer.address, 2 * PRICE, 2 * CREDITS)
    assert ctx.tokens(buyer, "MockEIP3009Token") == tokens_before - 2 * PRICE
    assert (ctx.w3.eth.get_balance(buyer.address), ctx.nonce(ctx.sub)) == (eth_before, sent_before)  # no gas paid


def test_gasless_pay_as_you_go_order(ctx):
    plans = ctx.builder.plans
    token = ctx.book["MockEIP3009Token"]
    price = plans.get_pay_as_you_go_price_config(PRICE, ctx.builder.address, token)
    reg = plans.register_pay_as_you_go_plan(META, price)
    buyer = ctx.world.sim.account("subscriber").signer
    before = ctx.tokens(ctx.builder, "MockEIP3009Token")

    order = ctx.relayer.plans.order_pay_as_you_go_plan_with_authorization(reg.plan_id, buyer, seed=b"\x09" * 32)

    assert order.agreement_id == "0x" + ids.pay_as_you_go_agreement_id(buyer.address, b"\x09" * 32, reg.plan_id).hex()
    assert ctx.tokens(ctx.builder, "MockEIP3009Token") == before + NET
    assert order.template == "PayAsYouGoTemplate" and order.sender == ctx.relayer.address


def test_gasless_refusals_before_signing(ctx):
    native = ctx.plan(price=ETH_PRICE, token=None).plan_id
    free = ctx.plan(price=0).plan_id
    pricey = ctx.plan(price=2 * 10**24, token="MockEIP3009Token").plan_id
    buyer = ctx.world.sim.account("subscriber").signer
    relay = ctx.relayer.plans
    sent = ctx.nonce(ctx.relayer)

    with pytest.raises(ValidationError, match="NativeTokenNotSupportedForAuthorization"):
        relay.order_plan_with_authorization(native, buyer)
    with pytest.raises(ValidationError, match="ZeroAmountNotSupportedForAuthorization"):
        relay.order_plan_with_authorization(free, buyer)
    with pytest.raises(InsufficientBalanceError):
        relay.order_plan_with_authorization(pricey, buyer)
    with pytest.raises(ValidationError, match="valid_for"):
        relay.order_plan_with_authorization(ctx.plan(token="MockEIP3009Token").plan_id, buyer, valid_for=0)
    with pytest.raises(ValidationError, match="buyer_signer"):
        relay.order_plan_with_authorization(free, 12345)
    assert ctx.nonce(ctx.relayer) == sent


# ---------------------------------------------------------------------------------------------- mint, burn, redeem


def test_mint_plan_credits_by_the_owner_and_refused_for_a_stranger(ctx):
    reg = ctx.plan(price=0)

    minted = ctx.builder.plans.mint_plan_credits(reg.plan_id, 50, ctx.sub.address)

    assert (minted.credits_amount, minted.credits_receiver, minted.credits_contract) == \
        (50, ctx.sub.address, ctx.book["NFT1155Credits"])
    assert ctx.sub.plans.get_plan_balance(reg.plan_id).balance == 50
    sent = ctx.nonce(ctx.relayer)
    with pytest.raises(ContractRevertError) as info:
        ctx.relayer.plans.mint_plan_credits(reg.plan_id, 50, ctx.relayer.address)
    assert (info.value.error_name, tuple(info.value.error_args.values())) == \
        ("InvalidRole", (ctx.relayer.address, CREDITS_MINTER_ROLE))
    for bad in (0, 1.5, "-3"):
        with pytest.raises(ValidationError):
            ctx.builder.plans.mint_plan_credits(reg.plan_id, bad, ctx.sub.address)
    assert ctx.nonce(ctx.relayer) == sent


def test_mint_plan_expirable_needs_an_expirable_credits_contract(ctx):
    plans = ctx.builder.plans
    timed = plans.register_time_plan(META, plans.get_free_price_config(),
                                     plans.set_onchain_mirror(plans.get_expirable_duration_config(60)))
    credits = ctx.plan(price=0)

    minted = plans.mint_plan_expirable(timed.plan_id, 5, ctx.sub.address, 100)
    forever = plans.mint_plan_expirable(timed.plan_id, 2, ctx.sub.address)

    block_time = ctx.w3.eth.get_block(minted.tx.block_number)["timestamp"]
    assert (minted.expires_at, minted.credits_duration, forever.expires_at) == (block_time + 100, 100, None)
    assert ctx.sub.plans.get_plan_balance(timed.plan_id).balance == 7
    sent = ctx.nonce(ctx.builder)
    with pytest.raises(ValidationError, match="not an expirable credits contract"):
        plans.mint_plan_expirable(credits.plan_id, 5, ctx.sub.address, 100)
    assert ctx.nonce(ctx.builder) == sent


def test_burn_reports_what_the_contract_took(ctx):
    plans = ctx.builder.plans
    dynamic = ctx.plan(price=0, credits=plans.set_onchain_mirror(plans.get_dynamic_credits_config(CREDITS, 2, 10)))
    fixed = ctx.plan(price=0, credits=plans.set_onchain_mirror(plans.get_fixed_credits_config(CREDITS, 3)))
    for reg in (dynamic, fixed):
        plans.mint_plan_credits(reg.plan_id, 50, ctx.sub.address)

    clamped_high = ctx.sub.plans.burn_credits(dynamic.plan_id, 1000)
    clamped_low = ctx.sub.plans.burn_credits(dynamic.plan_id, "0")
    fixed_burn = ctx.sub.plans.burn_credits(fixed.plan_id, 7)

    assert [(b.requested, b.burned) for b in (clamped_high, clamped_low, fixed_burn)] == [(1000, 10), (0, 2), (7, 3)]
    assert (clamped_high.holder, clamped_high.burner) == (ctx.sub.address, ctx.sub.address)
    assert ctx.sub.plans.get_plan_balance(dynamic.plan_id).balance == 38
    assert ctx.sub.plans.get_plan_balance(fixed.plan_id).balance == 47


@pytest.mark.parametrize(("fixed", "minimum", "maximum", "requested", "burned"), [
    (False, 2, 10, 0, 2),  # below the minimum: raised to it (a request of 0 burns minAmount)
    (False, 2, 10, 1, 2),
    (False, 2, 10, 2, 2),
    (False, 2, 10, 7, 7),  # within [min, max]: as asked
    (False, 2, 10, 10, 10),
    (False, 2, 10, 11, 10),  # above the maximum: lowered to it
    (False, 5, 5, 1, 5),
    (True, 3, 3, 1, 3),  # fixed: always minAmount
    (True, 3, 3, 100, 3),
])
def test_credits_to_burn_clamps_to_min_and_max(fixed, minimum, maximum, requested, burned):
    """docs/protocol.md#burn: c = minAmount if fixed, else min(max(amount, minAmount), maxAmount)."""
    credits = CreditsConfig(is_redemption_amount_fixed=fixed, redemption_type=RedemptionType.ONLY_SUBSCRIBER,
                            duration_secs=0, amount=100, min_amount=minimum, max_amount=maximum)
    assert credits_to_burn(credits, requested) == burned


def _holder_plan(ctx, minimum: int, maximum: int, minted: int) -> int:
    """An ONLY_SUBSCRIBER plan (nobody but the holder may burn) whose subscriber holds ``minted`` credits."""
    plans = ctx.builder.plans
    credits = plans.set_redemption_type(
        plans.set_onchain_mirror(plans.get_dynamic_credits_config(CREDITS, minimum, maximum)),
        RedemptionType.ONLY_SUBSCRIBER)
    pid = ctx.plan(price=0, credits=credits).plan_id
    plans.mint_plan_credits(pid, minted, ctx.sub.address)
    return pid


def test_a_holder_may_burn_its_whole_balance(ctx):
    pid = _holder_plan(ctx, 1, 10, minted=7)
    sent = ctx.nonce(ctx.sub)

    result = ctx.sub.plans.burn_credits(pid, 7)

    assert (result.requested, result.burned, result.holder) == (7, 7, ctx.sub.address)
    assert ctx.nonce(ctx.sub) == sent + 1
    assert ctx.sub.plans.get_plan_balance(pid).balance == 0


def test_a_request_below_the_minimum_is_checked_as_the_minimum(ctx):
    """minAmount 3: a request of 1 burns 3. A holder with 2 is refused before signing (the contract would take
    3); a holder with exactly 3 burns all three."""
    short = _holder_plan(ctx, 3, 10, minted=2)
    sent = ctx.nonce(ctx.sub)
    with pytest.raises(RedemptionRefused, match="holds 2 credits .* fewer than the 3 this burn takes"):
        ctx.sub.plans.burn_credits(short, 1)
    assert ctx.nonce(ctx.sub) == sent
    assert ctx.sub.plans.get_plan_balance(short).balance == 2

    enough = _holder_plan(ctx, 3, 10, minted=3)
    result = ctx.sub.plans.burn_credits(enough, 1)
    assert (result.requested, result.burned) == (1, 3)
    assert ctx.nonce(ctx.sub) == sent + 1
    assert ctx.sub.plans.get_plan_balance(enough).balance == 0


def _redeem_plan(ctx, rtype: RedemptionType) -> int:
    plans = ctx.builder.plans
    credits = plans.set_redemption_type(plans.set_onchain_mirror(plans.get_dynamic_credits_config(CREDITS, 1, 10)),
                                        rtype)
    pid = ctx.plan(price=0, credits=credits).plan_id
    plans.mint_plan_credits(pid, 20, ctx.sub.address)
    return pid


def _refused(ctx, client: NvmChain, pid: int, reason: str) -> None:
    sent = ctx.nonce(client)
    with pytest.raises(RedemptionRefused, match=reason) as info:
        client.plans.redeem_credits(pid, ctx.sub.address, 2)
    assert isinstance(info.value, PermissionError)
    assert (info.value.plan_id, info.value.sender, info.value.holder) == (pid, client.address, ctx.sub.address)
    assert ctx.nonce(client) == sent


def _redeems(ctx, client: NvmChain, pid: int) -> None:
    before = ctx.sub.plans.get_plan_balance(pid).balance
    result = client.plans.redeem_credits(pid, ctx.sub.address, 2)
    assert (result.burned, result.burner, result.holder) == (2, client.address, ctx.sub.address)
    assert ctx.sub.plans.get_plan_balance(pid).balance == before - 2


@pytest.mark.parametrize("rtype", list(RedemptionType), ids=lambda r: r.name)
def test_redeem_checks_the_redemption_type_and_says_why(ctx, rtype):
    pid = _redeem_plan(ctx, rtype)
    head = f"plan {pid} has redemption type {rtype.name}"
    if rtype is RedemptionType.ONLY_GLOBAL_ROLE:
        _refused(ctx, ctx.builder, pid, f"{head}: only CREDITS_BURNER_ROLE holders may burn")
        _refused(ctx, ctx.agent, pid, "does not hold that role")
        ctx.grant(CREDITS_BURNER_ROLE, ctx.agent)
        _redeems(ctx, ctx.agent, pid)
    elif rtype is RedemptionType.ONLY_OWNER:
        _refused(ctx, ctx.agent, pid, f"{head}: only the plan owner {ctx.builder.address} may burn")
        _redeems(ctx, ctx.builder, pid)
        # payments-py's argument order and its agent_request_id are accepted (and ignored on chain)
        assert ctx.builder.plans.redeem_credits("req-1", pid, ctx.sub.address, "3").burned == 3
        assert ctx.builder.plans.redeem_credits(pid, ctx.sub.address, 1, agent_request_id="req-2").burned == 1
    elif rtype is RedemptionType.ONLY_PLAN_ROLE:
        _refused(ctx, ctx.builder, pid, f"{head}: only burners the plan owner approved with allow_burner")
        allowed = ctx.builder.plans.allow_burner(pid, ctx.agent.address)
        assert (allowed.allowed, allowed.burner, allowed.tx.events) == (True, ctx.agent.address, ("BurnerAllowed",))
        _redeems(ctx, ctx.agent, pid)
        assert ctx.builder.plans.revoke_burner(pid, ctx.agent.address).allowed is False
        _refused(ctx, ctx.agent, pid, "allow_burner")
    elif rtype is RedemptionType.OWNER_OR_GLOBAL_ROLE:
        _refused(ctx, ctx.agent, pid, f"{head}: only the plan owner .* or a CREDITS_BURNER_ROLE holder")
        _redeems(ctx, ctx.builder, pid)
        ctx.grant(CREDITS_BURNER_ROLE, ctx.agent)
        _redeems(ctx, ctx.agent, pid)
    else:
        _refused(ctx, ctx.builder, pid, f"{head}: only the holder may burn")
        _redeems(ctx, ctx.sub, pid)


def test_a_granted_burn_permission_is_read_once_and_a_revocation_meanwhile_still_ends_refused(ctx):
    pid = _redeem_plan(ctx, RedemptionType.ONLY_PLAN_ROLE)
    ctx.builder.plans.allow_burner(pid, ctx.agent.address)
    _redeems(ctx, ctx.agent, pid)
    with counted(ctx.agent.w3) as sent:
        assert ctx.agent.plans.redeem_credits(pid, ctx.sub.address, 2).burned == 2
    simulated = ctx.world.backend == "anvil"  # the embedded chains execute the burn once instead of simulating it
    assert [m for m in sent if m == "eth_call"] == (["eth_call"] if simulated else [])  # no canBurn read
    ctx.builder.plans.revoke_burner(pid, ctx.agent.address)  # another client: the agent still remembers the grant
    before = ctx.sub.plans.get_plan_balance(pid).balance
    _refused(ctx, ctx.agent, pid, "allow_burner")  # the chain refused the burn, nothing was sent, then read afresh
    assert ctx.sub.plans.get_plan_balance(pid).balance == before
    last = ctx.agent.sender.journal.list(limit=1)[0]  # anvil: refused by the simulation, nothing even signed
    assert last.status == ("mined" if simulated else "not_sent")


def test_a_holder_short_of_credits_is_told_its_balance(ctx):
    pid = _redeem_plan(ctx, RedemptionType.ONLY_SUBSCRIBER)
    sent = ctx.nonce(ctx.agent)
    with pytest.raises(RedemptionRefused, match="holds 0 credits .* fewer than the 5 this burn takes"):
        ctx.agent.plans.burn_credits(pid, 5)
    assert ctx.nonce(ctx.agent) == sent


def test_a_permitted_burner_asking_more_than_the_holder_has_gets_the_decoded_error(ctx):
    pid = _redeem_plan(ctx, RedemptionType.ONLY_OWNER)
    ctx.builder.plans.redeem_credits(pid, ctx.sub.address, 10)
    ctx.builder.plans.redeem_credits(pid, ctx.sub.address, 10)  # 20 minted, 0 left
    with pytest.raises(ContractRevertError) as info:
        ctx.builder.plans.redeem_credits(pid, ctx.sub.address, 1)
    assert info.value.error_name == "ERC1155InsufficientBalance"


def test_only_the_plan_owner_may_allow_burners(ctx):
    pid = _redeem_plan(ctx, RedemptionType.ONLY_PLAN_ROLE)
    with pytest.raises(ContractRevertError) as info:
        ctx.agent.plans.allow_burner(pid, ctx.agent.address)
    assert (info.value.error_name, tuple(info.value.error_args.values())) == \
        ("OnlyOwnerCanAllowBurn", (ctx.agent.address, pid))
    with pytest.raises(ValidationError):
        ctx.builder.plans.allow_burner(pid, "not-an-address")


# ---------------------------------------------------------------------------------------------- embedded only


def test_time_plan_credits_expire_under_time_travel(ctx_time):
    c = ctx_time
    plans = c.builder.plans
    reg = plans.register_time_plan(META, plans.get_erc20_price_config(PRICE, c.token, c.builder.address),
                                   plans.set_onchain_mirror(plans.get_expirable_duration_config(3600)))

    order = c.sub.plans.order_plan(reg.plan_id, 2)  # 2 credits valid 2 × 3600 s, as one lot
    extra = plans.mint_plan_expirable(reg.plan_id, 5, c.sub.address, 100)

    balance = c.sub.plans.get_plan_balance(reg.plan_id)
    assert (order.credits_received, balance.balance, balance.plan_type) == (2, 7, "time")
    c.world.sim.chain.travel(101)
    assert c.sub.plans.get_plan_balance(reg.plan_id).balance == 2 and extra.expires_at is not None
    c.world.sim.chain.travel(3600)
    assert c.sub.plans.get_plan_balance(reg.plan_id).is_subscriber is True
    c.world.sim.chain.travel(3600)
    expired = c.sub.plans.get_plan_balance(reg.plan_id)
    assert (expired.balance, expired.is_subscriber) == (0, False)


def test_a_fee_change_makes_old_plans_unorderable_before_any_approval(ctx_time):
    c = ctx_time
    reg = c.plan()
    governor = c.world.sim.account("governor")
    c.proto.send(governor, "ProtocolStandardFees", "updateFeeRates", 250, 200)
    sent = c.nonce(c.sub)

    with pytest.raises(ContractRevertError) as info:
        c.sub.plans.order_plan(reg.plan_id)

    assert info.value.error_name == "NeverminedFeesNotIncluded"
    assert c.nonce(c.sub) == sent and c.allowance(c.sub) == 0
    assert c.builder.plans.get_erc20_price_config(PRICE, c.token, c.builder.address).amounts == (975_000, 25_000)


def test_plans_api_re_exposes_the_payments_py_static_helpers():
    credits = PlansAPI.get_fixed_credits_config(10, 2)
    assert (credits.amount, credits.min_amount, credits.redemption_type) == (10, 2, RedemptionType.ONLY_SUBSCRIBER)
    assert PlansAPI.set_onchain_mirror(credits).onchain_mirror is True
    assert PlansAPI.set_redemption_type(credits, RedemptionType.ONLY_OWNER).redemption_type is RedemptionType.ONLY_OWNER
    with pytest.warns(DeprecationWarning):
        assert PlansAPI.set_proof_required(credits).onchain_mirror is True
    assert PlansAPI.get_expirable_duration_config(PlansAPI.ONE_WEEK_DURATION).duration_secs == 604_800
    assert PlansAPI.ONE_DAY_DURATION == 86_400
