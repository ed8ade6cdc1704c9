"""AssetsRegistry, NVMConfig, ProtocolStandardFees and OneTimeCreatorHook behave like the v1.5.0 contracts.

Sources of each rule: docs/protocol.md (#data-model, #ids, #plan-registration, #agents, #trial-plans, #fees, #roles)
and docs/observed.md (#fee-splits, #quirks). Every revert is asserted by its decoded custom-error
name and arguments. ``proto`` has fees off (fee receiver unset); ``fee_proto`` has the ``fee_receiver`` account
as fee receiver at 1% crypto / 2% fiat.
"""

from __future__ import annotations

import os

import pytest
from eth_abi import encode
from eth_utils import keccak

from nvm_chain.chain.abi import encode_constructor, registry
from nvm_chain.chain.tx.sender import Sender
from nvm_chain.chain.tx.types import TxRequest
from nvm_chain.protocol import ids
from tests.support import ZERO, Protocol

REG = "AssetsRegistry"
PRICE = 1_000_000
STRANGER = "0x000000000000000000000000000000000000dEaD"


# ---------------------------------------------------------------------------------------------- helpers


def acct(p: Protocol, name: str):
    return p.sim.account(name)


def seed() -> bytes:
    return os.urandom(32)


def nonce() -> int:
    return int.from_bytes(os.urandom(8), "big")


def price_cfg(amounts=(), receivers=(), *, crypto=True, token=ZERO, external=ZERO, ctrl=ZERO, template=ZERO):
    """PriceConfig tuple in ABI/hash order, arrays as tuples (the shape getPlan decodes to)."""
    return (crypto, token, tuple(amounts), tuple(receivers), external, ctrl, template)


def credits_cfg(nft, *, mirror=False, amount=100, lo=1, hi=1, duration=0, fixed=True, rtype=1):
    """CreditsConfig tuple in ABI/hash order."""
    return (fixed, rtype, mirror, duration, amount, lo, hi, nft)


def default_credits(p: Protocol, **kw):
    return credits_cfg(p.addr("NFT1155Credits"), **kw)


def create(p: Protocol, who, price, credits, n: int | None = None, hooks=None) -> int:
    """Register a plan, check PlanRegistered against the offline formula, return the planId."""
    n = nonce() if n is None else n
    if hooks is None:
        receipt = p.send(who, REG, "createPlan", price, credits, n)
    else:
        receipt = p.send(who, REG, "createPlanWithHooks", price, credits, list(hooks), n)
    (event,) = p.events(receipt, "PlanRegistered")
    plan_id = ids.plan_id(price, credits, who.address, n)
    assert event.args == {"planId": plan_id, "creator": who.address, "onchainMirror": credits[2]}
    return plan_id


def simple_plan(p: Protocol, who=None) -> int:
    """A free plan (valid with fees on or off) owned by ``who`` (default builder)."""
    who = who or acct(p, "builder")
    return create(p, who, price_cfg(), default_credits(p))


def register_agent(p: Protocol, who, plans=(), url="https://agent.example/api") -> tuple[int, object]:
    s = seed()
    receipt = p.send(who, REG, "register", s, url, list(plans), arity=3)
    return ids.agent_id(s, who.address), receipt


def deploy_fee_controller(p: Protocol) -> str:
    """A second ProtocolStandardFees instance (a custom fee controller; its rates are admin-settable)."""
    code = encode_constructor(registry()["ProtocolStandardFees"], [p.addr("AccessManager")])
    receipt = Sender(p.w3, p.sim.owner).send(TxRequest(None, code, 4_000_000, action="deploy fee controller"))
    return receipt.contract_address


def sorted_addresses(*addrs: str) -> list[str]:
    return sorted(addrs, key=lambda a: int(a, 16))


# ---------------------------------------------------------------------------------------------- planId


@pytest.mark.parametrize("mirror", [True, False])
def test_plan_id_offline_equals_hash_plan_id_view_and_plan_registered_event(proto, mirror):
    builder = acct(proto, "builder")
    price = price_cfg([PRICE], [builder.address], token=proto.addr("MockERC20"))
    credits = default_credits(proto, mirror=mirror, amount=50)
    n = 424242
    offline = ids.plan_id(price, credits, builder.address, n)
    assert proto.call(REG, "hashPlanId", price, credits, builder.address, n, arity=4) == offline

    receipt = proto.send(builder, REG, "createPlan", price, credits, n)
    (event,) = proto.events(receipt, "PlanRegistered")
    assert event.args == {"planId": offline, "creator": builder.address, "onchainMirror": mirror}
    assert event.address == proto.addr(REG)
    # onchainMirror is indexed (3rd topic) and part of the hash
    topic = keccak(text="PlanRegistered(uint256,address,bool)")
    (log,) = [lg for lg in receipt.logs if bytes(lg["topics"][0]) == topic]
    assert len(log["topics"]) == 4 and int.from_bytes(bytes(log["topics"][3]), "big") == int(mirror)
    flipped = default_credits(proto, mirror=not mirror, amount=50)
    assert ids.plan_id(price, flipped, builder.address, n) != offline


def test_three_argument_hash_plan_id_uses_nonce_zero(proto):
    builder = acct(proto, "builder")
    price = price_cfg([PRICE], [builder.address])
    credits = default_credits(proto)
    three = proto.call(REG, "hashPlanId", price, credits, builder.address, arity=3)
    assert three == ids.plan_id(price, credits, builder.address, 0)
    assert three == proto.call(REG, "hashPlanId", price, credits, builder.address, 0, arity=4)
    assert three != proto.call(REG, "hashPlanId", price, credits, builder.address, 1, arity=4)
    assert create(proto, builder, price, credits, 0) == three


def test_get_plan_returns_owner_price_credits_and_last_updated(proto):
    builder = acct(proto, "builder")
    price = price_cfg([700, 300], [builder.address, acct(proto, "agent").address], token=proto.addr("MockERC20"))
    credits = credits_cfg(proto.addr("NFT1155ExpirableCreditsV2"), mirror=True, amount=10, lo=2, hi=9,
                          duration=3600, fixed=False, rtype=3)
    unknown = ids.plan_id(price, credits, builder.address, 1)
    assert proto.call(REG, "planExists", unknown) is False
    assert proto.call(REG, "getPlan", unknown)[3] == 0  # lastUpdated 0 <=> no plan

    receipt = proto.send(builder, REG, "createPlan", price, credits, 2)
    plan_id = proto.events(receipt, "PlanRegistered")[0].args["planId"]
    owner, stored_price, stored_credits, last_updated = proto.call(REG, "getPlan", plan_id)
    assert (owner, stored_price, stored_credits) == (builder.address, price, credits)
    assert last_updated == proto.w3.eth.get_block(receipt.block_number)["timestamp"] > 0
    assert proto.call(REG, "planExists", plan_id) is True
    assert proto.call(REG, "planExists", unknown) is False


# --------------------------------------------------------------- createPlan checks (docs/protocol.md#plan-registration)


def test_min_above_max_reverts_invalid_credits_config_amounts(proto):
    builder = acct(proto, "builder")
    price = price_cfg([PRICE], [builder.address])
    err = proto.reverts(builder, REG, "createPlan", price, default_credits(proto, lo=5, hi=4), 1)
    assert err.error_name == "InvalidCreditsConfigAmounts" and err.error_args == {"minAmount": 5, "maxAmount": 4}
    create(proto, builder, price, default_credits(proto, lo=4, hi=4), 1)  # min == max is fine


@pytest.mark.parametrize("amounts,receivers", [((PRICE, 1), ("builder",)), ((PRICE,), ("builder", "agent")),
                                               ((), ("builder",))])
def test_amounts_and_receivers_of_different_length_revert(proto, amounts, receivers):
    builder = acct(proto, "builder")
    price = price_cfg(amounts, [acct(proto, r).address for r in receivers])
    err = proto.reverts(builder, REG, "createPlan", price, default_credits(proto), 1)
    assert err.error_name == "PriceConfigInvalidAmountsOrReceivers" and err.error_args == {}


def test_same_config_creator_and_nonce_reverts_plan_already_registered(proto):
    builder, subscriber = acct(proto, "builder"), acct(proto, "subscriber")
    price = price_cfg([PRICE], [builder.address])
    credits = default_credits(proto)
    plan_id = create(proto, builder, price, credits, 7)

    err = proto.reverts(builder, REG, "createPlan", price, credits, 7)
    assert err.error_name == "PlanAlreadyRegistered" and err.error_args == {"planId": plan_id}
    err = proto.reverts(builder, REG, "createPlanWithHooks", price, credits, [], 7)
    assert err.error_name == "PlanAlreadyRegistered" and err.error_args == {"planId": plan_id}

    # another creator with identical config and nonce gets its own plan; so does another nonce
    other = create(proto, subscriber, price, credits, 7)
    assert other != plan_id and proto.call(REG, "getPlan", other)[0] == subscriber.address
    assert create(proto, builder, price, credits, 8) not in (plan_id, other)


def test_custom_fee_controller_reverts_until_the_governor_allow_lists_it(fee_proto):
    p = fee_proto
    builder, subscriber, governor = acct(p, "builder"), acct(p, "subscriber"), acct(p, "governor")
    ctrl = deploy_fee_controller(p)
    price = price_cfg([990_000, 10_000], [builder.address, acct(p, "fee_receiver").address], ctrl=ctrl)
    credits = default_credits(p)

    assert p.call("NVMConfig", "isFeeControllerAllowed", ctrl, builder.address) is False
    err = p.reverts(builder, REG, "createPlan", price, credits, 1)
    assert err.error_name == "NotAllowedToSetFeeController"
    assert err.error_args == {"creator": builder.address, "feeController": ctrl}

    # only the governor may allow-list
    err = p.reverts(builder, "NVMConfig", "setFeeControllerAllowed", [ctrl], [[builder.address]], [[True]])
    assert err.error_name == "AccessManagedUnauthorized" and err.error_args == {"caller": builder.address}

    receipt = p.send(governor, "NVMConfig", "setFeeControllerAllowed", [ctrl], [[builder.address]], [[True]])
    (event,) = p.events(receipt, "FeeControllerAllowedUpdated")
    assert event.args["creator"] == ((builder.address,),) and event.args["allowed"] == ((True,),)
    assert p.call("NVMConfig", "isFeeControllerAllowed", ctrl, builder.address) is True

    plan_id = create(p, builder, price, credits, 1)
    assert p.call(REG, "getPlan", plan_id)[1][5] == ctrl
    # the allowance is per creator
    err = p.reverts(subscriber, REG, "createPlan", price, credits, 1)
    assert err.error_name == "NotAllowedToSetFeeController"
    assert err.error_args == {"creator": subscriber.address, "feeController": ctrl}


def test_naming_the_default_fee_controller_needs_no_allow_listing(fee_proto):
    p = fee_proto
    builder = acct(p, "builder")
    default = p.call("NVMConfig", "getDefaultFeeController")
    assert default == p.addr("ProtocolStandardFees")
    price = price_cfg([990_000, 10_000], [builder.address, acct(p, "fee_receiver").address], ctrl=default)
    create(p, builder, price, default_credits(p))


def test_the_plans_fee_controller_decides_the_fee(fee_proto):
    """A custom controller at 5% makes the 1% split invalid and its own 5% split valid."""
    p = fee_proto
    builder, fee_receiver = acct(p, "builder"), acct(p, "fee_receiver")
    ctrl = deploy_fee_controller(p)
    p.send(acct(p, "governor"), "NVMConfig", "setFeeControllerAllowed", [ctrl], [[builder.address]], [[True]])
    p.send(p.sim.owner, "ProtocolStandardFees", "updateFeeRates", 500, 200, at=ctrl)  # unmapped: admin only
    assert p.call("ProtocolStandardFees", "getFeeRates", at=ctrl) == (500, 200, 10000)

    credits = default_credits(p)
    raw = price_cfg([PRICE], [builder.address], ctrl=ctrl)
    amounts, receivers = p.call(REG, "includeFeesInPaymentsDistribution", raw, credits)
    assert (amounts, receivers) == ((950_000, 50_000), (builder.address, fee_receiver.address))
    create(p, builder, price_cfg(amounts, receivers, ctrl=ctrl), credits)

    one_percent = price_cfg([990_000, 10_000], [builder.address, fee_receiver.address], ctrl=ctrl)
    err = p.reverts(builder, REG, "createPlan", one_percent, credits, 1)
    assert err.error_name == "NeverminedFeesNotIncluded"
    assert err.error_args == {"amounts": (990_000, 10_000), "receivers": (builder.address, fee_receiver.address)}


PLAN_KINDS = {
    "crypto": {},
    "fiat": {"crypto": False},
    "payg": {"template": "PayAsYouGoTemplate"},
}


def _kind_price(p: Protocol, kind: str, amounts, receivers):
    kw = dict(PLAN_KINDS[kind])
    if "template" in kw:
        kw["template"] = p.addr(kw["template"])
    return price_cfg(amounts, receivers, **kw)


@pytest.mark.parametrize("kind", sorted(PLAN_KINDS))
@pytest.mark.parametrize("bad_nft", ["MockERC20", "AssetsRegistry", "eoa", "zero"])
def test_non_erc1155_nft_address_reverts_invalid_nft_address(proto, kind, bad_nft):
    builder = acct(proto, "builder")
    nft = {"eoa": acct(proto, "agent").address, "zero": ZERO}.get(bad_nft) or proto.addr(bad_nft)
    price = _kind_price(proto, kind, [PRICE], [builder.address])
    err = proto.reverts(builder, REG, "createPlan", price, credits_cfg(nft), 1)
    assert err.error_name == "InvalidNFTAddress" and err.error_args == {"nftAddress": nft}


@pytest.mark.parametrize("kind", sorted(PLAN_KINDS))
@pytest.mark.parametrize("nft", ["NFT1155Credits", "NFT1155ExpirableCredits", "NFT1155ExpirableCreditsV2"])
def test_every_erc1155_credits_contract_is_a_valid_nft_address(proto, kind, nft):
    builder = acct(proto, "builder")
    plan_id = create(proto, builder, _kind_price(proto, kind, [PRICE], [builder.address]),
                     credits_cfg(proto.addr(nft)))
    assert proto.call(REG, "getPlan", plan_id)[2][7] == proto.addr(nft)


def _order_case(p: Protocol, case: str):
    """Inputs violating several docs/protocol.md#plan-registration checks at once; the first in order must win."""
    b, fr = acct(p, "builder").address, acct(p, "fee_receiver").address
    ok_nft, bad_nft, bad_ctrl = p.addr("NFT1155Credits"), p.addr("MockERC20"), STRANGER
    raw = [PRICE]
    hooks = [p.addr("OneTimeCreatorHook")] * 2  # not strictly ascending
    return {
        # 1 beats 2
        "min>max": (price_cfg([PRICE, 1], [b]), credits_cfg(bad_nft, lo=2, hi=1), hooks,
                    "InvalidCreditsConfigAmounts", {"minAmount": 2, "maxAmount": 1}),
        # 2 beats 4, 5, 6, 7
        "length": (price_cfg([PRICE, 1], [b], ctrl=bad_ctrl), credits_cfg(bad_nft), hooks,
                   "PriceConfigInvalidAmountsOrReceivers", {}),
        # 4 beats 5, 6, 7
        "controller": (price_cfg(raw, [b], ctrl=bad_ctrl), credits_cfg(bad_nft), hooks,
                       "NotAllowedToSetFeeController", {"creator": b, "feeController": bad_ctrl}),
        # 5 beats 6, 7
        "nft": (price_cfg(raw, [b]), credits_cfg(bad_nft), hooks, "InvalidNFTAddress", {"nftAddress": bad_nft}),
        # 6 beats 7
        "fees": (price_cfg(raw, [b]), credits_cfg(ok_nft), hooks,
                 "NeverminedFeesNotIncluded", {"amounts": (PRICE,), "receivers": (b,)}),
        # 7 alone
        "hooks": (price_cfg([990_000, 10_000], [b, fr]), credits_cfg(ok_nft), hooks, "HooksMustBeUnique", {}),
    }[case]


@pytest.mark.parametrize("case", ["min>max", "length", "controller", "nft", "fees", "hooks"])
def test_create_plan_checks_run_in_spec_order(fee_proto, case):
    price, credits, hooks, name, args = _order_case(fee_proto, case)
    builder = acct(fee_proto, "builder")
    err = fee_proto.reverts(builder, REG, "createPlanWithHooks", price, credits, hooks, 1)
    assert (err.error_name, err.error_args) == (name, args)
    if case != "hooks":
        err = fee_proto.reverts(builder, REG, "createPlan", price, credits, 1)
        assert (err.error_name, err.error_args) == (name, args)


def test_plan_already_registered_is_checked_before_the_fee_controller(proto):
    """Check 3 precedes check 4: a re-registration after the allowance was withdrawn is a duplicate."""
    builder, governor = acct(proto, "builder"), acct(proto, "governor")
    price = price_cfg([PRICE], [builder.address], ctrl=STRANGER)
    credits = default_credits(proto)
    proto.send(governor, "NVMConfig", "setFeeControllerAllowed", [STRANGER], [[builder.address]], [[True]])
    plan_id = create(proto, builder, price, credits, 3)
    proto.send(governor, "NVMConfig", "setFeeControllerAllowed", [STRANGER], [[builder.address]], [[False]])
    err = proto.reverts(builder, REG, "createPlan", price, credits, 3)
    assert err.error_name == "PlanAlreadyRegistered" and err.error_args == {"planId": plan_id}
    err = proto.reverts(builder, REG, "createPlan", price, credits, 4)
    assert err.error_name == "NotAllowedToSetFeeController"


# -------------------------------------------------------------------------------------- fees ON (docs/protocol.md#fees)


def test_fee_rates_and_fee_receiver_defaults(fee_proto, proto):
    assert fee_proto.call("ProtocolStandardFees", "getFeeRates") == (100, 200, 10000)
    assert fee_proto.call("NVMConfig", "getFeeReceiver") == acct(fee_proto, "fee_receiver").address
    assert proto.call("NVMConfig", "getFeeReceiver") == ZERO


def test_raw_price_with_fees_on_reverts_nevermined_fees_not_included(fee_proto):
    builder = acct(fee_proto, "builder")
    price = price_cfg([PRICE], [builder.address], token=fee_proto.addr("MockERC20"))
    credits = default_credits(fee_proto)
    err = fee_proto.reverts(builder, REG, "createPlan", price, credits, 1)
    assert err.error_name == "NeverminedFeesNotIncluded"
    assert err.error_args == {"amounts": (PRICE,), "receivers": (builder.address,)}
    assert fee_proto.call(REG, "planExists", ids.plan_id(price, credits, builder.address, 1)) is False


@pytest.mark.parametrize("crypto,expected", [(True, (990_000, 10_000)), (False, (980_000, 20_000))])
def test_include_fees_output_is_accepted(fee_proto, crypto, expected):
    p = fee_proto
    builder, fee_receiver = acct(p, "builder"), acct(p, "fee_receiver")
    credits = default_credits(p)
    raw = price_cfg([PRICE], [builder.address], crypto=crypto)
    amounts, receivers = p.call(REG, "includeFeesInPaymentsDistribution", raw, credits)
    assert (amounts, receivers) == (expected, (builder.address, fee_receiver.address))
    assert sum(amounts) == PRICE  # the buyer pays the advertised total
    plan_id = create(p, builder, price_cfg(amounts, receivers, crypto=crypto), credits)
    assert p.call(REG, "areNeverminedFeesIncluded", plan_id) is True


def test_add_fees_output_is_rejected(fee_proto):
    p = fee_proto
    builder, fee_receiver = acct(p, "builder"), acct(p, "fee_receiver")
    credits = default_credits(p)
    amounts, receivers = p.call(REG, "addFeesToPaymentsDistribution", price_cfg([PRICE], [builder.address]), credits)
    assert (amounts, receivers) == ((PRICE, 10_000), (builder.address, fee_receiver.address))
    err = p.reverts(builder, REG, "createPlan", price_cfg(amounts, receivers), credits, 1)
    assert err.error_name == "NeverminedFeesNotIncluded"  # 1% of 1,010,000 is 10,100
    assert err.error_args == {"amounts": (PRICE, 10_000), "receivers": (builder.address, fee_receiver.address)}


@pytest.mark.parametrize("net,fee", [(990_001, 9_999), (989_999, 10_001), (990_000, 10_001), (990_000, 10_100)])
def test_fee_entry_off_from_floor_of_gross_is_rejected(fee_proto, net, fee):
    p = fee_proto
    builder, fee_receiver = acct(p, "builder"), acct(p, "fee_receiver")
    price = price_cfg([net, fee], [builder.address, fee_receiver.address])
    err = p.reverts(builder, REG, "createPlan", price, default_credits(p), 1)
    assert err.error_name == "NeverminedFeesNotIncluded"
    assert err.error_args == {"amounts": (net, fee), "receivers": (builder.address, fee_receiver.address)}


@pytest.mark.parametrize("net,fee", [(990_000, 10_000), (990_000, 9_999), (990_099, 10_000)])
def test_fee_entry_equal_to_floor_of_the_gross_including_itself_is_accepted(fee_proto, net, fee):
    """The gross is the sum of all entries, fee included: 999,999 -> 9,999 and 1,000,099 -> 10,000."""
    p = fee_proto
    builder, fee_receiver = acct(p, "builder"), acct(p, "fee_receiver")
    assert (net + fee) * 100 // 10000 == fee
    create(p, builder, price_cfg([net, fee], [builder.address, fee_receiver.address]), default_credits(p))


@pytest.mark.parametrize("first,last,accepted", [(5_000, 10_000, True), (10_000, 5_000, False)])
def test_with_two_fee_entries_the_last_one_must_equal_the_fee(fee_proto, first, last, accepted):
    p = fee_proto
    builder, fee_receiver = acct(p, "builder"), acct(p, "fee_receiver")
    amounts = [first, PRICE - first - last, last]
    receivers = [fee_receiver.address, builder.address, fee_receiver.address]
    price = price_cfg(amounts, receivers)
    assert sum(amounts) * 100 // 10000 == 10_000
    if accepted:
        create(p, builder, price, default_credits(p))
    else:
        err = p.reverts(builder, REG, "createPlan", price, default_credits(p), 1)
        assert err.error_name == "NeverminedFeesNotIncluded"
        assert err.error_args == {"amounts": tuple(amounts), "receivers": tuple(receivers)}


@pytest.mark.parametrize("fn", ["includeFeesInPaymentsDistribution", "addFeesToPaymentsDistribution"])
def test_fee_that_rounds_to_zero_leaves_the_price_unchanged_and_accepted(fee_proto, fn):
    p = fee_proto
    builder = acct(p, "builder")
    credits = default_credits(p)
    price = price_cfg([99], [builder.address])
    assert p.call(REG, fn, price, credits) == ((99,), (builder.address,))
    create(p, builder, price, credits)
    # one unit more and the fee is 1
    fee_receiver = acct(p, "fee_receiver").address
    expected = (99, 1) if fn.startswith("include") else (100, 1)
    assert p.call(REG, fn, price_cfg([100], [builder.address]), credits) == (expected, (builder.address, fee_receiver))


def test_include_fees_with_three_receivers_can_round_to_a_rejected_split(fee_proto):
    p = fee_proto
    receivers = [acct(p, n).address for n in ("builder", "agent", "subscriber")]
    credits = default_credits(p)
    amounts, out_receivers = p.call(REG, "includeFeesInPaymentsDistribution",
                                    price_cfg([340, 3197, 2062], receivers), credits)
    assert amounts == (337, 3166, 2042, 55)
    assert out_receivers == (*receivers, acct(p, "fee_receiver").address)
    err = p.reverts(acct(p, "builder"), REG, "createPlan", price_cfg(amounts, out_receivers), credits, 1)
    assert err.error_name == "NeverminedFeesNotIncluded"  # 1% of 5600 is 56
    assert err.error_args == {"amounts": amounts, "receivers": out_receivers}


@pytest.mark.parametrize("amounts,receivers", [((), ()), ((0,), ("builder",)), ((0, 0), ("builder", "agent"))])
def test_free_plan_needs_no_fee_entry(fee_proto, amounts, receivers):
    p = fee_proto
    builder = acct(p, "builder")
    price = price_cfg(amounts, [acct(p, r).address for r in receivers])
    credits = default_credits(p)
    assert p.call(REG, "includeFeesInPaymentsDistribution", price, credits) == (price[2], price[3])
    plan_id = create(p, builder, price, credits)
    assert p.call(REG, "areNeverminedFeesIncluded", plan_id) is True


def test_external_price_plan_pays_no_fee(fee_proto):
    p = fee_proto
    builder = acct(p, "builder")
    price = price_cfg([PRICE], [builder.address], external=STRANGER)
    credits = default_credits(p)
    assert p.call(REG, "includeFeesInPaymentsDistribution", price, credits) == ((PRICE,), (builder.address,))
    create(p, builder, price, credits)


@pytest.mark.parametrize("crypto,external,expected", [
    (True, ZERO, (10_000, 100, 10000)),
    (False, ZERO, (20_000, 200, 10000)),
    (True, STRANGER, (0, 0, 10000)),
    (False, STRANGER, (20_000, 200, 10000)),  # the 0% rule is for crypto external-price plans only
])
def test_standard_fee_controller_calculate_fee(fee_proto, crypto, external, expected):
    price = price_cfg([PRICE], [acct(fee_proto, "builder").address], crypto=crypto, external=external)
    got = fee_proto.call("ProtocolStandardFees", "calculateFee", PRICE, price, default_credits(fee_proto))
    assert got == expected
    for total in (99, 149, 12_345_678):  # floor(total * rate / 10000)
        fee = fee_proto.call("ProtocolStandardFees", "calculateFee", total, price, default_credits(fee_proto))[0]
        assert fee == total * expected[1] // 10000


# ---------------------------------------------------------------------------------------------- fees OFF


def test_raw_price_is_accepted_when_no_fee_receiver_is_set(proto):
    builder = acct(proto, "builder")
    plan_id = create(proto, builder, price_cfg([PRICE], [builder.address]), default_credits(proto))
    assert proto.call(REG, "areNeverminedFeesIncluded", plan_id) is True


@pytest.mark.parametrize("fn", ["includeFeesInPaymentsDistribution", "addFeesToPaymentsDistribution"])
@pytest.mark.parametrize("crypto", [True, False])
def test_fee_helpers_return_the_input_when_no_fee_receiver_is_set(proto, fn, crypto):
    b, a = acct(proto, "builder").address, acct(proto, "agent").address
    price = price_cfg([PRICE, 5], [b, a], crypto=crypto)
    assert proto.call(REG, fn, price, default_credits(proto)) == ((PRICE, 5), (b, a))


# ---------------------------------------------------------------------------------- governance (docs/protocol.md#roles)


@pytest.mark.parametrize("who", ["builder", "fee_receiver", "owner"])
def test_update_fee_rates_by_a_non_governor_reverts(fee_proto, who):
    signer = fee_proto.sim.owner if who == "owner" else acct(fee_proto, who).signer
    err = fee_proto.reverts(signer, "ProtocolStandardFees", "updateFeeRates", 50, 50)
    assert err.error_name == "AccessManagedUnauthorized" and err.error_args == {"caller": signer.address}


def test_update_fee_rates_by_the_governor_changes_the_fee(fee_proto):
    p = fee_proto
    builder, fee_receiver = acct(p, "builder"), acct(p, "fee_receiver")
    receipt = p.send(acct(p, "governor"), "ProtocolStandardFees", "updateFeeRates", 250, 300)
    (event,) = p.events(receipt, "FeeRatesUpdated")
    assert event.args == {"cryptoFeeRate": 250, "fiatFeeRate": 300}
    assert p.call("ProtocolStandardFees", "getFeeRates") == (250, 300, 10000)

    credits = default_credits(p)
    amounts, receivers = p.call(REG, "includeFeesInPaymentsDistribution", price_cfg([PRICE], [builder.address]),
                                credits)
    assert (amounts, receivers) == ((975_000, 25_000), (builder.address, fee_receiver.address))
    create(p, builder, price_cfg(amounts, receivers), credits)
    err = p.reverts(builder, REG, "createPlan",
                    price_cfg([990_000, 10_000], [builder.address, fee_receiver.address]), credits, 1)
    assert err.error_name == "NeverminedFeesNotIncluded"


@pytest.mark.parametrize("crypto,fiat,ok", [(10_001, 200, False), (100, 10_001, False), (10_000, 10_000, True),
                                            (0, 0, True)])
def test_fee_rate_above_the_denominator_reverts_invalid_fee_rate(fee_proto, crypto, fiat, ok):
    governor = acct(fee_proto, "governor")
    if ok:
        fee_proto.send(governor, "ProtocolStandardFees", "updateFeeRates", crypto, fiat)
        assert fee_proto.call("ProtocolStandardFees", "getFeeRates") == (crypto, fiat, 10000)
    else:
        err = fee_proto.reverts(governor, "ProtocolStandardFees", "updateFeeRates", crypto, fiat)
        assert err.error_name == "InvalidFeeRate" and err.error_args == {}


@pytest.mark.parametrize("who", ["builder", "fee_receiver", "owner"])
def test_set_fee_receiver_by_a_non_governor_reverts(fee_proto, who):
    signer = fee_proto.sim.owner if who == "owner" else acct(fee_proto, who).signer
    err = fee_proto.reverts(signer, "NVMConfig", "setFeeReceiver", acct(fee_proto, "agent").address)
    assert err.error_name == "AccessManagedUnauthorized" and err.error_args == {"caller": signer.address}


def test_set_fee_receiver_to_zero_reverts_invalid_fee_receiver(fee_proto):
    err = fee_proto.reverts(acct(fee_proto, "governor"), "NVMConfig", "setFeeReceiver", ZERO)
    assert err.error_name == "InvalidFeeReceiver" and err.error_args == {"feeReceiver": ZERO}


def test_set_fee_receiver_by_the_governor_moves_the_fee_entry(fee_proto):
    p = fee_proto
    governor, builder, agent = acct(p, "governor"), acct(p, "builder"), acct(p, "agent")
    receipt = p.send(governor, "NVMConfig", "setFeeReceiver", agent.address)
    (event,) = p.events(receipt, "NeverminedConfigChange")
    assert event.args == {"whoChanged": governor.address, "parameter": keccak(text="feeReceiver"),
                          "value": bytes.fromhex(agent.address[2:])}
    assert p.call("NVMConfig", "getFeeReceiver") == agent.address
    got = p.call(REG, "includeFeesInPaymentsDistribution", price_cfg([PRICE], [builder.address]), default_credits(p))
    assert got == ((990_000, 10_000), (builder.address, agent.address))


def test_turning_fees_on_in_the_fee_free_deployment(proto):
    p = proto
    builder, fee_receiver = acct(p, "builder"), acct(p, "fee_receiver")
    price = price_cfg([PRICE], [builder.address])
    plan_id = create(p, builder, price, default_credits(p))
    p.send(acct(p, "governor"), "NVMConfig", "setFeeReceiver", fee_receiver.address)
    assert p.call(REG, "areNeverminedFeesIncluded", plan_id) is False  # the stored split no longer passes
    err = p.reverts(builder, REG, "createPlan", price, default_credits(p), 99)
    assert err.error_name == "NeverminedFeesNotIncluded"


# ------------------------------------------------------------------------------------- agents (docs/protocol.md#agents)


def test_register_agent_ids_events_record_and_erc721_identity(proto):
    p = proto
    builder = acct(p, "builder")
    plan_a, plan_b = simple_plan(p), simple_plan(p)
    total_before = p.call(REG, "getTotalAgents")
    s, url = seed(), "https://builder.example/agent"
    agent_id = ids.agent_id(s, builder.address)
    assert p.call(REG, "hashAgentId", s, builder.address) == agent_id
    assert p.call(REG, "agentExists", agent_id) is False

    receipt = p.send(builder, REG, "register", s, url, [plan_a, plan_b], arity=3)
    events = p.events(receipt)
    assert [e.name for e in events] == ["AgentRegistered", "Transfer", "MetadataUpdate"]
    assert all(e.address == p.addr(REG) for e in events)
    assert events[0].args == {"agentId": agent_id, "creator": builder.address}
    assert events[1].args == {"from": ZERO, "to": builder.address, "tokenId": agent_id}
    assert events[2].args == {"_tokenId": agent_id}

    owner, creator, stored_url, last_updated, plans = p.call(REG, "getAgent", agent_id)
    assert (owner, creator, stored_url, plans) == (builder.address, builder.address, url, (plan_a, plan_b))
    assert last_updated > 0
    assert p.call(REG, "agentExists", agent_id) is True
    assert p.call(REG, "ownerOf", agent_id) == builder.address
    assert p.call(REG, "tokenURI", agent_id) == url
    assert p.call(REG, "balanceOf", builder.address) == 1
    assert p.call(REG, "getTotalAgents") == total_before + 1
    assert p.call(REG, "name") == "Nevermined ERC-8004 Identity Registry"
    assert p.call(REG, "symbol") == "NVM-ASSET"


def test_register_agent_does_not_check_duplicate_plans(proto):
    builder = acct(proto, "builder")
    plan_id = simple_plan(proto)
    agent_id, _ = register_agent(proto, builder, [plan_id, plan_id])
    assert proto.call(REG, "getAgent", agent_id)[4] == (plan_id, plan_id)


def test_same_seed_by_another_creator_is_another_agent(proto):
    builder, agent = acct(proto, "builder"), acct(proto, "agent")
    s = seed()
    proto.send(builder, REG, "register", s, "https://a", [], arity=3)
    proto.send(agent, REG, "register", s, "https://b", [], arity=3)
    assert proto.call(REG, "ownerOf", ids.agent_id(s, builder.address)) == builder.address
    assert proto.call(REG, "ownerOf", ids.agent_id(s, agent.address)) == agent.address


def test_register_agent_reverts(proto):
    p = proto
    builder = acct(p, "builder")
    plan_id = simple_plan(p)
    unknown = plan_id ^ 1
    s = seed()

    err = p.reverts(builder, REG, "register", s, "", [plan_id], arity=3)
    assert err.error_name == "InvalidURL" and err.error_args == {"url": ""}
    err = p.reverts(builder, REG, "register", s, "https://a", [plan_id, unknown], arity=3)
    assert err.error_name == "PlanNotFound" and err.error_args == {"planId": unknown}

    p.send(builder, REG, "register", s, "https://a", [plan_id], arity=3)
    err = p.reverts(builder, REG, "register", s, "https://other", [], arity=3)
    assert err.error_name == "AgentAlreadyRegistered"
    assert err.error_args == {"agentId": ids.agent_id(s, builder.address)}


def test_add_plan_to_agent_emits_once_and_is_a_no_op_when_present(proto):
    p = proto
    builder = acct(p, "builder")
    plan_a, plan_b = simple_plan(p), simple_plan(p)
    agent_id, _ = register_agent(p, builder, [plan_a])

    receipt = p.send(builder, REG, "addPlanToAgent", agent_id, plan_b)
    (event,) = p.events(receipt, "PlanAddedToAgent")
    assert event.args == {"agentId": agent_id, "planId": plan_b, "owner": builder.address}
    assert p.call(REG, "getAgent", agent_id)[4] == (plan_a, plan_b)

    receipt = p.send(builder, REG, "addPlanToAgent", agent_id, plan_a)
    assert p.events(receipt) == []
    assert p.call(REG, "getAgent", agent_id)[4] == (plan_a, plan_b)

    err = p.reverts(builder, REG, "addPlanToAgent", agent_id, plan_a ^ 1)
    assert err.error_name == "PlanNotFound" and err.error_args == {"planId": plan_a ^ 1}


def test_remove_plan_from_agent_swaps_and_pops(proto):
    p = proto
    builder = acct(p, "builder")
    plans = [simple_plan(p) for _ in range(3)]
    agent_id, _ = register_agent(p, builder, plans)

    receipt = p.send(builder, REG, "removePlanFromAgent", agent_id, plans[0])
    (event,) = p.events(receipt, "PlanRemovedFromAgent")
    assert event.args == {"agentId": agent_id, "planId": plans[0], "owner": builder.address}
    assert p.call(REG, "getAgent", agent_id)[4] == (plans[2], plans[1])

    err = p.reverts(builder, REG, "removePlanFromAgent", agent_id, plans[0])
    assert err.error_name == "PlanNotInAgent" and err.error_args == {"agentId": agent_id, "planId": plans[0]}


def test_replace_plans_for_agent_requires_strictly_ascending_plans(proto):
    p = proto
    builder = acct(p, "builder")
    plans = sorted(simple_plan(p) for _ in range(3))
    agent_id, _ = register_agent(p, builder, [plans[0]])

    for bad in ([plans[2], plans[1]], [plans[1], plans[1]], [plans[0], plans[2], plans[1]]):
        err = p.reverts(builder, REG, "replacePlansForAgent", agent_id, bad)
        assert err.error_name == "PlansMustBeUnique" and err.error_args == {}

    receipt = p.send(builder, REG, "replacePlansForAgent", agent_id, [plans[1], plans[2]])
    (event,) = p.events(receipt, "AgentPlansReplaced")
    assert event.args == {"agentId": agent_id, "owner": builder.address}
    assert p.call(REG, "getAgent", agent_id)[4] == (plans[1], plans[2])

    p.send(builder, REG, "replacePlansForAgent", agent_id, [])
    assert p.call(REG, "getAgent", agent_id)[4] == ()


def _agent_ops(plan_id: int):
    return {
        "addPlanToAgent": (plan_id,),
        "removePlanFromAgent": (plan_id,),
        "replacePlansForAgent": ([plan_id],),
        "transferAgentOwnership": (STRANGER,),
    }


@pytest.mark.parametrize("fn", sorted(_agent_ops(0)))
def test_agent_management_by_a_stranger_reverts_not_owner(proto, fn):
    builder, stranger = acct(proto, "builder"), acct(proto, "subscriber")
    plan_id = simple_plan(proto)
    agent_id, _ = register_agent(proto, builder, [plan_id])
    err = proto.reverts(stranger, REG, fn, agent_id, *_agent_ops(plan_id)[fn])
    assert err.error_name == "NotOwner"
    assert err.error_args == {"assetId": agent_id, "caller": stranger.address, "owner": builder.address}


@pytest.mark.parametrize("fn", sorted(_agent_ops(0)))
def test_agent_management_of_an_unknown_agent_reverts_agent_not_found(proto, fn):
    builder = acct(proto, "builder")
    plan_id = simple_plan(proto)
    unknown = ids.agent_id(seed(), builder.address)
    err = proto.reverts(builder, REG, fn, unknown, *_agent_ops(plan_id)[fn])
    assert err.error_name == "AgentNotFound" and err.error_args == {"agentId": unknown}


def test_transfer_agent_ownership_moves_the_registry_owner_not_the_nft(proto):
    p = proto
    builder, agent = acct(p, "builder"), acct(p, "agent")
    plan_a, plan_b = simple_plan(p), simple_plan(p)
    agent_id, _ = register_agent(p, builder, [plan_a])

    receipt = p.send(builder, REG, "transferAgentOwnership", agent_id, agent.address)
    (event,) = p.events(receipt, "AgentOwnershipTransferred")
    assert event.args == {"agentId": agent_id, "previousOwner": builder.address, "newOwner": agent.address}
    owner, creator, *_ = p.call(REG, "getAgent", agent_id)
    assert (owner, creator) == (agent.address, builder.address)
    assert p.call(REG, "ownerOf", agent_id) == builder.address

    err = p.reverts(builder, REG, "addPlanToAgent", agent_id, plan_b)
    assert err.error_name == "NotOwner"
    assert err.error_args == {"assetId": agent_id, "caller": builder.address, "owner": agent.address}
    p.send(agent, REG, "addPlanToAgent", agent_id, plan_b)
    assert p.call(REG, "getAgent", agent_id)[4] == (plan_a, plan_b)


@pytest.mark.parametrize("fn,extra", [("transferFrom", ()), ("safeTransferFrom", ()), ("safeTransferFrom", (b"",))])
def test_erc721_transfers_of_agents_revert_transfers_disabled(proto, fn, extra):
    builder, agent = acct(proto, "builder"), acct(proto, "agent")
    agent_id, _ = register_agent(proto, builder)
    err = proto.reverts(builder, REG, fn, builder.address, agent.address, agent_id, *extra)
    assert err.error_name == "TransfersDisabled" and err.error_args == {}
    # even an approved operator cannot move it
    proto.send(builder, REG, "approve", agent.address, agent_id)
    err = proto.reverts(agent, REG, fn, builder.address, agent.address, agent_id, *extra)
    assert err.error_name == "TransfersDisabled"
    assert proto.call(REG, "ownerOf", agent_id) == builder.address


def test_register_agent_and_plan_uses_the_seed_as_plan_nonce(proto):
    p = proto
    builder = acct(p, "builder")
    s = seed()
    price = price_cfg([PRICE], [builder.address], token=p.addr("MockERC20"))
    credits = default_credits(p, mirror=True)
    plan_id = ids.plan_id(price, credits, builder.address, int.from_bytes(s, "big"))
    agent_id = ids.agent_id(s, builder.address)

    receipt = p.send(builder, REG, "registerAgentAndPlan", s, "https://one-shot", price, credits)
    events = p.events(receipt)
    assert events[0].name == "PlanRegistered"
    assert events[0].args == {"planId": plan_id, "creator": builder.address, "onchainMirror": True}
    (registered,) = p.events(receipt, "AgentRegistered")
    assert registered.args == {"agentId": agent_id, "creator": builder.address}
    assert p.call(REG, "getPlan", plan_id)[:3] == (builder.address, price, credits)
    assert p.call(REG, "getAgent", agent_id)[4] == (plan_id,)
    assert p.call(REG, "tokenURI", agent_id) == "https://one-shot"


def test_register_agent_and_plan_reuses_an_existing_plan(proto):
    p = proto
    builder = acct(p, "builder")
    s = seed()
    price = price_cfg([PRICE], [builder.address])
    credits = default_credits(p)
    plan_id = create(p, builder, price, credits, int.from_bytes(s, "big"))
    receipt = p.send(builder, REG, "registerAgentAndPlan", s, "https://x", price, credits)
    assert p.events(receipt, "PlanRegistered") == []
    assert p.call(REG, "getAgent", ids.agent_id(s, builder.address))[4] == (plan_id,)


def test_register_agent_and_plan_applies_the_plan_checks(fee_proto):
    builder = acct(fee_proto, "builder")
    err = fee_proto.reverts(builder, REG, "registerAgentAndPlan", seed(), "https://x",
                            price_cfg([PRICE], [builder.address]), default_credits(fee_proto))
    assert err.error_name == "NeverminedFeesNotIncluded"
    assert err.error_args == {"amounts": (PRICE,), "receivers": (builder.address,)}


def test_erc8004_register_mints_an_identity_without_an_agent_record(proto):
    p = proto
    builder = acct(p, "builder")
    plan_id = simple_plan(p)
    total_before = p.call(REG, "getTotalAgents")
    receipt = p.send(builder, REG, "register", "ipfs://card.json", arity=1)
    (event,) = p.events(receipt, "Registered")
    agent_id = event.args["agentId"]
    assert event.args == {"agentId": agent_id, "tokenURI": "ipfs://card.json", "owner": builder.address}
    (transfer,) = p.events(receipt, "Transfer")
    assert transfer.args == {"from": ZERO, "to": builder.address, "tokenId": agent_id}

    # docs/protocol.md#ids: keccak(abi.encode(msg.sender, block.timestamp, totalAgents)), not predictable before mining
    timestamp = p.w3.eth.get_block(receipt.block_number)["timestamp"]
    expected = int.from_bytes(keccak(encode(["address", "uint256", "uint256"],
                                            [builder.address, timestamp, total_before])), "big")
    assert agent_id == expected
    assert p.call(REG, "ownerOf", agent_id) == builder.address
    assert p.call(REG, "tokenURI", agent_id) == "ipfs://card.json"
    assert p.call(REG, "getTotalAgents") == total_before + 1

    assert p.call(REG, "getAgent", agent_id) == (ZERO, ZERO, "", 0, ())
    err = p.reverts(builder, REG, "addPlanToAgent", agent_id, plan_id)
    assert err.error_name == "AgentNotFound" and err.error_args == {"agentId": agent_id}


def test_get_next_agent_id_reverts_agent_ids_are_hash_based(proto):
    err = proto.reverts(acct(proto, "builder"), REG, "getNextAgentId")
    assert err.error_name == "AgentIdsAreHashBased" and err.error_args == {}


def test_set_metadata_by_the_agent_owner(proto):
    p = proto
    builder = acct(p, "builder")
    agent_id, _ = register_agent(p, builder)
    assert p.call(REG, "getMetadataKeys", agent_id) == ()

    receipt = p.send(builder, REG, "setMetadata", agent_id, "endpoint", b"https://mcp")
    (event,) = p.events(receipt, "MetadataSet")
    assert event.args == {"agentId": agent_id, "indexedKey": keccak(text="endpoint"), "key": "endpoint",
                          "value": b"https://mcp"}
    assert p.call(REG, "getMetadata", agent_id, "endpoint") == b"https://mcp"

    p.send(builder, REG, "setMetadata", agent_id, "endpoint", b"https://v2")
    p.send(builder, REG, "setMetadata", agent_id, "wallet", b"\x01\x02")
    assert p.call(REG, "getMetadata", agent_id, "endpoint") == b"https://v2"
    assert p.call(REG, "getMetadataKeys", agent_id) == ("endpoint", "wallet")
    assert p.call(REG, "getMetadata", agent_id, "missing") == b""


def test_set_metadata_by_a_stranger_reverts_not_authorized_but_an_approved_address_may(proto):
    p = proto
    builder, stranger, operator = acct(p, "builder"), acct(p, "subscriber"), acct(p, "agent")
    agent_id, _ = register_agent(p, builder)
    err = p.reverts(stranger, REG, "setMetadata", agent_id, "k", b"v")
    assert err.error_name == "NotAuthorized" and err.error_args == {}

    p.send(builder, REG, "approve", operator.address, agent_id)
    p.send(operator, REG, "setMetadata", agent_id, "k", b"v")
    assert p.call(REG, "getMetadata", agent_id, "k") == b"v"


def test_set_metadata_follows_the_nft_owner_for_erc8004_identities(proto):
    p = proto
    builder, stranger = acct(p, "builder"), acct(p, "subscriber")
    receipt = p.send(builder, REG, "register", "ipfs://x", arity=1)
    agent_id = p.events(receipt, "Registered")[0].args["agentId"]
    p.send(builder, REG, "setMetadata", agent_id, "k", b"v")
    assert p.call(REG, "getMetadata", agent_id, "k") == b"v"
    err = p.reverts(stranger, REG, "setMetadata", agent_id, "k", b"w")
    assert err.error_name == "NotAuthorized"


def test_register_with_metadata_stores_it_without_metadata_set_events(proto):
    p = proto
    builder = acct(p, "builder")
    s = seed()
    receipt = p.send(builder, REG, "register", s, "https://a", [], [("a", b"1"), ("b", b"2")], arity=4)
    agent_id = ids.agent_id(s, builder.address)
    assert [e.name for e in p.events(receipt)] == ["AgentRegistered", "Transfer", "MetadataUpdate"]
    assert p.call(REG, "getMetadataKeys", agent_id) == ("a", "b")
    assert p.call(REG, "getMetadata", agent_id, "b") == b"2"


# ---------------------------------------------------------------------------------------------- plan ownership, hooks


def test_transfer_plan_ownership_by_the_owner(proto):
    p = proto
    builder, subscriber = acct(p, "builder"), acct(p, "subscriber")
    plan_id = simple_plan(p)
    receipt = p.send(builder, REG, "transferPlanOwnership", plan_id, subscriber.address)
    (event,) = p.events(receipt, "PlanOwnershipTransferred")
    assert event.args == {"planId": plan_id, "previousOwner": builder.address, "newOwner": subscriber.address}
    assert p.call(REG, "getPlan", plan_id)[0] == subscriber.address

    err = p.reverts(builder, REG, "transferPlanOwnership", plan_id, builder.address)
    assert err.error_name == "NotOwner"
    assert err.error_args == {"assetId": plan_id, "caller": builder.address, "owner": subscriber.address}
    p.send(subscriber, REG, "transferPlanOwnership", plan_id, builder.address)
    assert p.call(REG, "getPlan", plan_id)[0] == builder.address


@pytest.mark.parametrize("fn,args", [("transferPlanOwnership", ("subscriber",)), ("setPlanHooks", ([],))])
def test_plan_management_by_a_stranger_or_of_an_unknown_plan_reverts(proto, fn, args):
    builder, stranger = acct(proto, "builder"), acct(proto, "agent")
    args = tuple(acct(proto, a).address if isinstance(a, str) else a for a in args)
    plan_id = simple_plan(proto)
    err = proto.reverts(stranger, REG, fn, plan_id, *args)
    assert err.error_name == "NotOwner"
    assert err.error_args == {"assetId": plan_id, "caller": stranger.address, "owner": builder.address}
    err = proto.reverts(builder, REG, fn, plan_id ^ 1, *args)
    assert err.error_name == "PlanNotFound" and err.error_args == {"planId": plan_id ^ 1}


def test_set_plan_hooks_by_the_owner_replaces_the_hooks_without_an_ordering_check(proto):
    p = proto
    builder = acct(p, "builder")
    plan_id = simple_plan(p)
    assert p.call(REG, "getPlanHooks", plan_id) == ()
    hook = p.addr("OneTimeCreatorHook")
    descending = list(reversed(sorted_addresses(hook, STRANGER)))
    p.send(builder, REG, "setPlanHooks", plan_id, descending)
    assert p.call(REG, "getPlanHooks", plan_id) == tuple(descending)
    p.send(builder, REG, "setPlanHooks", plan_id, [hook])
    assert p.call(REG, "getPlanHooks", plan_id) == (hook,)


@pytest.mark.parametrize("order", ["descending", "duplicate"])
def test_create_plan_with_hooks_not_strictly_ascending_reverts_hooks_must_be_unique(proto, order):
    builder = acct(proto, "builder")
    hook = proto.addr("OneTimeCreatorHook")
    hooks = {"descending": list(reversed(sorted_addresses(hook, STRANGER))), "duplicate": [hook, hook]}[order]
    err = proto.reverts(builder, REG, "createPlanWithHooks", price_cfg(), default_credits(proto), hooks, 1)
    assert err.error_name == "HooksMustBeUnique" and err.error_args == {}


def test_create_plan_with_ascending_hooks_stores_them(proto):
    builder = acct(proto, "builder")
    hooks = sorted_addresses(proto.addr("OneTimeCreatorHook"), STRANGER)
    plan_id = create(proto, builder, price_cfg(), default_credits(proto), hooks=hooks)
    assert proto.call(REG, "getPlanHooks", plan_id) == tuple(hooks)
    assert proto.call(REG, "getPlanHooks", simple_plan(proto)) == ()


# --------------------------------------------------------------------------- trial plans (docs/protocol.md#trial-plans)


def test_one_time_creator_hook_allows_one_order_per_creator(fee_proto):
    p = fee_proto
    builder, subscriber, agent = acct(p, "builder"), acct(p, "subscriber"), acct(p, "agent")
    hook, nft = p.addr("OneTimeCreatorHook"), p.addr("NFT1155Credits")
    credits = credits_cfg(nft, mirror=True, amount=5)
    plan_id = create(p, builder, price_cfg(), credits, 11, hooks=[hook])
    assert p.call(REG, "getPlanHooks", plan_id) == (hook,)

    seed1 = seed()
    receipt = p.send(subscriber, "FixedPaymentTemplate", "order", seed1, plan_id, subscriber.address, 1, [])
    (first,) = p.events(receipt, "FirstAgreementCreated")
    assert first.address == hook
    assert first.args == {"creator": subscriber.address,
                          "agreementId": ids.fixed_agreement_id(subscriber.address, seed1, plan_id, 1, [])}
    assert p.call("NFT1155Credits", "balanceOf", subscriber.address, plan_id) == 5

    seed2 = seed()
    err = p.reverts(subscriber, "FixedPaymentTemplate", "order", seed2, plan_id, subscriber.address, 1, [])
    assert err.error_name == "CreatorAlreadyCreatedAgreement"
    assert err.error_args == {"creator": subscriber.address,
                              "agreementId": ids.fixed_agreement_id(subscriber.address, seed2, plan_id, 1, [])}
    # also when the credits would go to someone else: the creator is the buyer
    err = p.reverts(subscriber, "FixedPaymentTemplate", "order", seed2, plan_id, agent.address, 1, [])
    assert err.error_name == "CreatorAlreadyCreatedAgreement"
    assert p.call("NFT1155Credits", "balanceOf", subscriber.address, plan_id) == 5

    # another buyer still gets its one trial, and the flag is per plan
    receipt = p.send(agent, "FixedPaymentTemplate", "order", seed2, plan_id, agent.address, 1, [])
    assert p.events(receipt, "FirstAgreementCreated")[0].args["creator"] == agent.address
    assert p.call("NFT1155Credits", "balanceOf", agent.address, plan_id) == 5
    other_plan = create(p, builder, price_cfg(), credits, 12, hooks=[hook])
    p.send(subscriber, "FixedPaymentTemplate", "order", seed2, other_plan, subscriber.address, 1, [])
    assert p.call("NFT1155Credits", "balanceOf", subscriber.address, other_plan) == 5
