"""Ordering and payment behave like the v1.5.0 contracts (docs/protocol.md#ids, #orders, #fees, #roles;
docs/observed.md#quirks).

Every revert is checked by its decoded custom-error name and arguments. ``fee_proto`` runs with fees on
(1% crypto / 2% fiat to ``fee_receiver``), ``proto`` with no fee receiver.
"""

from __future__ import annotations

import os

import pytest

from nvm_chain.chain.reads import eth_call
from nvm_chain.chain.tx.sender import Sender
from nvm_chain.chain.tx.types import TxRequest
from nvm_chain.errors import ContractRevertError
from nvm_chain.protocol import ids
from tests.support import ZERO

FIAT_SETTLEMENT_ROLE = 3860893312041324254
DEPOSITOR_ROLE = 14314970521567793544
WITHDRAW_ROLE = 8393396895733992431

PRICE = 1_000_000
ERC20_SPLIT = [990_000, 10_000]  # 1% of 1_000_000 to the fee receiver
NATIVE_SPLIT = [9_900_000_000_000_000, 100_000_000_000_000]  # 0.01 ETH, 1% fee
PAYG_SPLIT = [198_000, 2_000]
FIAT_SPLIT = [980_000, 20_000]  # 2% fiat fee
CREDITS = 100
FULFILLED = 2

RECEIVE_WITH_AUTHORIZATION = [
    {"name": "from", "type": "address"},
    {"name": "to", "type": "address"},
    {"name": "value", "type": "uint256"},
    {"name": "validAfter", "type": "uint256"},
    {"name": "validBefore", "type": "uint256"},
    {"name": "nonce", "type": "bytes32"},
]


# ---------------------------------------------------------------------------------------------- helpers


def acct(p, name):
    return p.sim.account(name)


def seed() -> bytes:
    return os.urandom(32)


def create_plan(p, *, amounts=(), receivers=(), token=ZERO, is_crypto=True, template=ZERO, onchain=True,
                duration=0, amount=CREDITS, nft="NFT1155Credits", owner="builder", nonce=None) -> int:
    """Register a plan as ``owner`` and return its id (checked against the PlanRegistered event)."""
    owner = acct(p, owner)
    template = template if template.startswith("0x") else p.addr(template)  # an address or a contract name
    price = (is_crypto, token, list(amounts), list(receivers), ZERO, ZERO, template)
    credits = (False, 1, onchain, duration, amount, 1, 1, p.addr(nft))
    nonce = int.from_bytes(os.urandom(8), "big") if nonce is None else nonce
    receipt = p.send(owner, "AssetsRegistry", "createPlan", price, credits, nonce)
    plan = ids.plan_id(price, credits, owner.address, nonce)
    assert [e.args["planId"] for e in p.events(receipt, "PlanRegistered")] == [plan]
    return plan


def split_plan(p, split, *, token="MockERC20", **kw) -> int:
    """A plan paying split[0] to the builder and split[1] to the fee receiver in ``token`` (ZERO = native)."""
    token_addr = ZERO if token == ZERO else p.addr(token)
    return create_plan(p, amounts=split, receivers=[acct(p, "builder").address, acct(p, "fee_receiver").address],
                       token=token_addr, **kw)


def token_balance(p, who, token="MockERC20") -> int:
    address = who if isinstance(who, str) else who.address
    return p.call(token, "balanceOf", address)


def credits_of(p, who, plan, nft="NFT1155Credits") -> int:
    address = who if isinstance(who, str) else who.address
    return p.call(nft, "balanceOf", address, plan)


def gas_cost(p, receipt) -> int:
    return receipt.gas_used * p.w3.eth.get_transaction_receipt(receipt.tx_hash)["effectiveGasPrice"]


def approve_vault(p, who, amount, token="MockERC20"):
    p.send(who, token, "approve", p.addr("PaymentsVault"), amount)


def agreement(p, agreement_id):
    planId, creator, condition_ids, states, params, last_updated, n = p.call("AgreementsStore", "getAgreement",
                                                                           agreement_id)
    return dict(planId=planId, creator=creator, conditionIds=list(condition_ids), states=list(states),
                params=list(params), lastUpdated=last_updated, numberOfPurchases=n)


def order(p, who, plan, *, receiver=None, n=1, value=0, s=None):
    who = acct(p, who) if isinstance(who, str) else who
    receiver = receiver or who.address
    return p.send(who, "FixedPaymentTemplate", "order", s or seed(), plan, receiver, n, [], value=value)


def sign_receive_authorization(p, signer, *, to, value, nonce, valid_after=0, valid_before=None,
                               token="MockEIP3009Token"):
    """EIP-3009 ReceiveWithAuthorization on the token's own EIP-712 domain; returns the auth tuple."""
    valid_before = p.sim.chain.now() + 3600 if valid_before is None else valid_before
    domain = {"name": p.call(token, "name"), "version": "1", "chainId": p.w3.eth.chain_id,
              "verifyingContract": p.addr(token)}
    message = {"from": signer.address, "to": to, "value": value, "validAfter": valid_after,
               "validBefore": valid_before, "nonce": nonce}
    v, r, s = signer.sign_typed_data(domain, {"ReceiveWithAuthorization": RECEIVE_WITH_AUTHORIZATION}, message)
    return (valid_after, valid_before, v, r, s)


# ------------------------------------------------------------------------------ fixed ERC-20 order (fees on)


def test_fixed_erc20_order_pays_every_receiver_mints_credits_and_registers_the_agreement(fee_proto):
    p = fee_proto
    buyer, builder, fee = acct(p, "subscriber"), acct(p, "builder"), acct(p, "fee_receiver")
    vault = p.addr("PaymentsVault")
    plan = split_plan(p, ERC20_SPLIT)
    approve_vault(p, buyer, PRICE)
    before = {a.name: token_balance(p, a) for a in (buyer, builder, fee)}
    s = seed()

    receipt = order(p, buyer, plan, s=s)

    assert token_balance(p, buyer) == before["subscriber"] - PRICE
    assert token_balance(p, builder) == before["builder"] + 990_000
    assert token_balance(p, fee) == before["fee_receiver"] + 10_000
    assert token_balance(p, vault) == 0
    assert p.call("MockERC20", "allowance", buyer.address, vault) == 0
    assert credits_of(p, buyer, plan) == CREDITS

    agreement_id = ids.fixed_agreement_id(buyer.address, s, plan, 1, [])
    registered = p.events(receipt, "AgreementRegistered")
    assert [(e.args["agreementId"], e.args["creator"]) for e in registered] == [(agreement_id, buyer.address)]
    expected_conditions = [ids.condition_id(agreement_id, c) for c in
                           ("LockPaymentCondition", "TransferCreditsCondition", "DistributePaymentsCondition")]
    updated = p.events(receipt, "ConditionUpdated")
    assert [e.args["conditionId"] for e in updated] == expected_conditions
    assert {e.args["agreementId"] for e in updated} == {agreement_id}
    assert all(e.args["state"] == FULFILLED for e in updated)

    stored = agreement(p, agreement_id)
    assert stored["creator"] == buyer.address
    assert stored["planId"] == plan
    assert stored["numberOfPurchases"] == 1
    assert stored["conditionIds"] == expected_conditions
    assert stored["states"] == [FULFILLED] * 3
    assert stored["params"] == []
    assert stored["lastUpdated"] > 0
    assert p.call("AgreementsStore", "agreementExists", agreement_id) is True

    # the vault pulled from the buyer, then paid each receiver (only the roled conditions can do this)
    deposits = p.events(receipt, "ReceivedERC20")
    assert [(e.args["erc20TokenAddress"], e.args["from"], e.args["amount"]) for e in deposits] == \
        [(p.addr("MockERC20"), buyer.address, PRICE)]
    payouts = p.events(receipt, "WithdrawERC20")
    assert [(e.args["receiver"], e.args["amount"]) for e in payouts] == \
        [(builder.address, 990_000), (fee.address, 10_000)]


@pytest.mark.parametrize("spender", [None, "FixedPaymentTemplate", "LockPaymentCondition"])
def test_erc20_allowance_must_be_given_to_the_vault(fee_proto, spender):
    p = fee_proto
    buyer = acct(p, "subscriber")
    plan = split_plan(p, ERC20_SPLIT)
    if spender:
        p.send(buyer, "MockERC20", "approve", p.addr(spender), PRICE)

    err = p.reverts(buyer, "FixedPaymentTemplate", "order", seed(), plan, buyer.address, 1, [])

    assert err.error_name == "ERC20InsufficientAllowance"
    assert err.error_args == {"spender": p.addr("PaymentsVault"), "allowance": 0, "needed": PRICE}


def test_erc20_allowance_one_below_the_price_reverts_and_the_exact_price_is_enough(fee_proto):
    p = fee_proto
    buyer = acct(p, "subscriber")
    plan = split_plan(p, ERC20_SPLIT)
    approve_vault(p, buyer, PRICE - 1)

    err = p.reverts(buyer, "FixedPaymentTemplate", "order", seed(), plan, buyer.address, 1, [])
    assert err.error_name == "ERC20InsufficientAllowance"
    assert err.error_args == {"spender": p.addr("PaymentsVault"), "allowance": PRICE - 1, "needed": PRICE}

    approve_vault(p, buyer, PRICE)
    order(p, buyer, plan)
    assert credits_of(p, buyer, plan) == CREDITS


def test_erc20_plan_rejects_any_msg_value(fee_proto):
    p = fee_proto
    buyer = acct(p, "subscriber")
    plan = split_plan(p, ERC20_SPLIT)
    approve_vault(p, buyer, PRICE)

    err = p.reverts(buyer, "FixedPaymentTemplate", "order", seed(), plan, buyer.address, 1, [], value=1)

    assert err.error_name == "MsgValueMustBeZeroForERC20Payments"
    assert err.error_args == {}


# --------------------------------------------------------------------------------------------- native orders


def test_native_order_for_two_purchases_pays_double_and_mints_double(fee_proto):
    p = fee_proto
    buyer, builder, fee = acct(p, "subscriber"), acct(p, "builder"), acct(p, "fee_receiver")
    plan = split_plan(p, NATIVE_SPLIT, token=ZERO)
    total = sum(NATIVE_SPLIT) * 2
    builder_before, fee_before = p.balance(builder.address), p.balance(fee.address)
    s = seed()

    order(p, buyer, plan, n=2, value=total, s=s)

    assert p.balance(builder.address) == builder_before + NATIVE_SPLIT[0] * 2
    assert p.balance(fee.address) == fee_before + NATIVE_SPLIT[1] * 2
    assert p.balance(p.addr("PaymentsVault")) == 0
    assert credits_of(p, buyer, plan) == CREDITS * 2
    assert agreement(p, ids.fixed_agreement_id(buyer.address, s, plan, 2, []))["numberOfPurchases"] == 2


@pytest.mark.parametrize("delta", [-1, "zero", +1], ids=["one-wei-short", "zero", "one-wei-too-much"])
def test_native_order_needs_the_exact_total_as_msg_value(fee_proto, delta):
    p = fee_proto
    buyer = acct(p, "subscriber")
    plan = split_plan(p, NATIVE_SPLIT, token=ZERO)
    total = sum(NATIVE_SPLIT) * 2
    value = 0 if delta == "zero" else total + delta

    err = p.reverts(buyer, "FixedPaymentTemplate", "order", seed(), plan, buyer.address, 2, [], value=value)

    assert err.error_name == "InvalidTransactionAmount"
    assert err.error_args == {"msgValue": value, "amount": total}


# ------------------------------------------------------------------------------- mirror flag, receivers


def test_plan_without_onchain_mirror_takes_the_payment_but_mints_nothing(fee_proto):
    p = fee_proto
    buyer, builder, fee = acct(p, "subscriber"), acct(p, "builder"), acct(p, "fee_receiver")
    plan = split_plan(p, ERC20_SPLIT, onchain=False)
    approve_vault(p, buyer, PRICE)
    buyer_before, builder_before, fee_before = (token_balance(p, a) for a in (buyer, builder, fee))

    receipt = order(p, buyer, plan)

    assert token_balance(p, buyer) == buyer_before - PRICE
    assert token_balance(p, builder) == builder_before + 990_000
    assert token_balance(p, fee) == fee_before + 10_000
    assert credits_of(p, buyer, plan) == 0
    assert p.events(receipt, "TransferSingle") == []


def test_third_party_credits_receiver_gets_the_credits_and_the_buyer_is_the_creator(fee_proto):
    p = fee_proto
    buyer, agent = acct(p, "subscriber"), acct(p, "agent")
    plan = split_plan(p, NATIVE_SPLIT, token=ZERO)
    agent_eth = p.balance(agent.address)
    s = seed()

    receipt = order(p, buyer, plan, receiver=agent.address, value=sum(NATIVE_SPLIT), s=s)

    assert credits_of(p, agent, plan) == CREDITS
    assert credits_of(p, buyer, plan) == 0
    assert p.balance(agent.address) == agent_eth  # the receiver pays nothing
    agreement_id = ids.fixed_agreement_id(buyer.address, s, plan, 1, [])  # receiver is not part of the id
    assert [e.args["creator"] for e in p.events(receipt, "AgreementRegistered")] == [buyer.address]
    assert agreement(p, agreement_id)["creator"] == buyer.address


# ------------------------------------------------------------------------------------ order validation


def test_reusing_a_seed_for_the_same_plan_reverts_agreement_already_registered(proto):
    p = proto
    buyer = acct(p, "subscriber")
    plan = create_plan(p)  # free plan: no payment needed
    s = seed()
    order(p, buyer, plan, s=s)

    # the credits receiver is not part of the id, so changing it does not help
    err = p.reverts(buyer, "FixedPaymentTemplate", "order", s, plan, acct(p, "agent").address, 1, [])

    assert err.error_name == "AgreementAlreadyRegistered"
    assert err.error_args == {"agreementId": ids.fixed_agreement_id(buyer.address, s, plan, 1, [])}


UNKNOWN_PLAN = 0xDEAD


@pytest.mark.parametrize(
    "override, expected",
    [
        ({"seed": b"\x00" * 32}, ("InvalidSeed", {"seed": b"\x00" * 32})),
        ({"receiver": ZERO}, ("InvalidReceiver", {"receiver": ZERO})),
        ({"n": 0}, ("InvalidNumberOfPurchases", {})),
        ({"plan": UNKNOWN_PLAN}, ("PlanNotFound", {"planId": UNKNOWN_PLAN})),
        ({"plan": 0}, ("InvalidPlanId", {"planId": 0})),
    ],
    ids=["zero-seed", "zero-receiver", "zero-purchases", "unknown-plan", "plan-id-zero"],
)
def test_fixed_order_argument_checks(proto, override, expected):
    p = proto
    buyer = acct(p, "subscriber")
    args = {"seed": seed(), "plan": create_plan(p), "receiver": buyer.address, "n": 1, **override}

    err = p.reverts(buyer, "FixedPaymentTemplate", "order", args["seed"], args["plan"], args["receiver"],
                    args["n"], [])

    assert (err.error_name, err.error_args) == expected


def test_fixed_template_rejects_a_pay_as_you_go_plan(fee_proto):
    p = fee_proto
    buyer = acct(p, "subscriber")
    plan = split_plan(p, PAYG_SPLIT, template="PayAsYouGoTemplate")
    approve_vault(p, buyer, sum(PAYG_SPLIT))

    err = p.reverts(buyer, "FixedPaymentTemplate", "order", seed(), plan, buyer.address, 1, [])

    assert err.error_name == "PlanWithInvalidTemplate"
    assert err.error_args == {"planId": plan, "expectedTemplate": p.addr("FixedPaymentTemplate")}


def test_plan_naming_the_fixed_template_is_orderable_through_it(fee_proto):
    p = fee_proto
    buyer = acct(p, "subscriber")
    plan = split_plan(p, ERC20_SPLIT, template="FixedPaymentTemplate")
    approve_vault(p, buyer, PRICE)

    order(p, buyer, plan)

    assert credits_of(p, buyer, plan) == CREDITS


def test_fiat_plan_cannot_be_ordered_through_the_fixed_template(fee_proto):
    p = fee_proto
    buyer = acct(p, "subscriber")
    plan = split_plan(p, FIAT_SPLIT, token=ZERO, is_crypto=False)

    err = p.reverts(buyer, "FixedPaymentTemplate", "order", seed(), plan, buyer.address, 1, [])

    assert err.error_name == "UnsupportedPriceTypeOption"
    assert err.error_args == {}


# --------------------------------------------------------------------------- fee re-check at order time


def test_plan_registered_without_fees_becomes_unorderable_once_a_fee_receiver_is_set(proto):
    p = proto
    buyer, builder = acct(p, "subscriber"), acct(p, "builder")
    plan = create_plan(p, amounts=[PRICE], receivers=[builder.address], token=p.addr("MockERC20"))
    approve_vault(p, buyer, PRICE)
    s = seed()
    p.call("FixedPaymentTemplate", "order", s, plan, buyer.address, 1, [], sender=buyer.address)  # orderable

    p.send(acct(p, "governor"), "NVMConfig", "setFeeReceiver", acct(p, "fee_receiver").address)
    err = p.reverts(buyer, "FixedPaymentTemplate", "order", s, plan, buyer.address, 1, [])

    assert err.error_name == "NeverminedFeesNotIncluded"
    assert err.error_args == {"amounts": (PRICE,), "receivers": (builder.address,)}


def test_one_percent_plan_becomes_unorderable_after_the_crypto_rate_is_raised(fee_proto):
    p = fee_proto
    buyer = acct(p, "subscriber")
    plan = split_plan(p, ERC20_SPLIT)
    approve_vault(p, buyer, PRICE)
    s = seed()
    p.call("FixedPaymentTemplate", "order", s, plan, buyer.address, 1, [], sender=buyer.address)  # orderable

    p.send(acct(p, "governor"), "ProtocolStandardFees", "updateFeeRates", 250, 200)
    err = p.reverts(buyer, "FixedPaymentTemplate", "order", s, plan, buyer.address, 1, [])

    assert err.error_name == "NeverminedFeesNotIncluded"
    assert err.error_args == {"amounts": tuple(ERC20_SPLIT),
                              "receivers": (acct(p, "builder").address, acct(p, "fee_receiver").address)}


# ------------------------------------------------------------------------------------ time and free plans


@pytest.mark.parametrize("n", [1, 2])
def test_time_plan_mints_credits_that_expire_after_duration_times_purchases(fee_proto, n):
    p = fee_proto
    buyer = acct(p, "subscriber")
    nft = "NFT1155ExpirableCreditsV2"
    plan = split_plan(p, ERC20_SPLIT, duration=3600, nft=nft)
    approve_vault(p, buyer, PRICE * n)

    order(p, buyer, plan, n=n)
    assert credits_of(p, buyer, plan, nft) == CREDITS * n

    p.sim.chain.travel(3600 * n - 10)  # still valid shortly before expiry
    assert credits_of(p, buyer, plan, nft) == CREDITS * n
    p.sim.chain.travel(11)  # order block + 3600·n + 1
    assert credits_of(p, buyer, plan, nft) == 0


def test_time_plan_on_the_non_expirable_contract_reverts_at_mint(fee_proto):
    """NFT1155Credits has no 5-argument mint and no fallback: our chain gives an empty revert."""
    p = fee_proto
    buyer = acct(p, "subscriber")
    plan = split_plan(p, ERC20_SPLIT, duration=3600, nft="NFT1155Credits")  # registration does not object
    approve_vault(p, buyer, PRICE)

    err = p.reverts(buyer, "FixedPaymentTemplate", "order", seed(), plan, buyer.address, 1, [])

    assert err.error_name == "UnknownError"
    assert err.data == b""
    assert err.error_args == {}


def test_free_plan_orders_without_payment_and_mints(fee_proto):
    p = fee_proto
    buyer = acct(p, "subscriber")
    plan = create_plan(p, amounts=[], receivers=[])
    eth_before = p.balance(buyer.address)

    receipt = order(p, buyer, plan, value=0)

    assert credits_of(p, buyer, plan) == CREDITS
    assert p.events(receipt, "ReceivedNativeToken") == [] and p.events(receipt, "ReceivedERC20") == []
    assert eth_before - p.balance(buyer.address) == gas_cost(p, receipt)  # nothing but gas was spent


def test_free_plan_does_not_check_msg_value_and_the_value_stays_in_the_lock_condition(fee_proto):
    p = fee_proto
    buyer = acct(p, "subscriber")
    plan = create_plan(p, amounts=[], receivers=[])
    lock_before = p.balance(p.addr("LockPaymentCondition"))

    order(p, buyer, plan, value=5)

    assert credits_of(p, buyer, plan) == CREDITS
    assert p.balance(p.addr("LockPaymentCondition")) == lock_before + 5
    assert p.balance(p.addr("PaymentsVault")) == 0


# ---------------------------------------------------------------------------------------- pay-as-you-go


def test_pay_as_you_go_order_pays_straight_through_and_mints_nothing(fee_proto):
    p = fee_proto
    buyer, builder, fee = acct(p, "subscriber"), acct(p, "builder"), acct(p, "fee_receiver")
    plan = split_plan(p, PAYG_SPLIT, template="PayAsYouGoTemplate")
    approve_vault(p, buyer, sum(PAYG_SPLIT))
    buyer_before, builder_before, fee_before = (token_balance(p, a) for a in (buyer, builder, fee))
    s = seed()

    receipt = p.send(buyer, "PayAsYouGoTemplate", "order", s, plan, [])

    assert token_balance(p, buyer) == buyer_before - 200_000
    assert token_balance(p, builder) == builder_before + 198_000
    assert token_balance(p, fee) == fee_before + 2_000
    assert token_balance(p, p.addr("PaymentsVault")) == 0
    assert credits_of(p, buyer, plan) == 0
    assert p.events(receipt, "TransferSingle") == []

    agreement_id = ids.pay_as_you_go_agreement_id(buyer.address, s, plan, [])
    assert [e.args["agreementId"] for e in p.events(receipt, "AgreementRegistered")] == [agreement_id]
    stored = agreement(p, agreement_id)
    assert stored["conditionIds"] == [ids.condition_id(agreement_id, "LockPaymentCondition"),
                                      ids.condition_id(agreement_id, "DistributePaymentsCondition")]
    assert stored["states"] == [FULFILLED, FULFILLED]
    assert stored["creator"] == buyer.address
    assert stored["numberOfPurchases"] == 1


def test_pay_as_you_go_requires_its_own_template_address(fee_proto):
    p = fee_proto
    buyer = acct(p, "subscriber")
    plan = split_plan(p, PAYG_SPLIT)  # templateAddress 0
    approve_vault(p, buyer, sum(PAYG_SPLIT))

    err = p.reverts(buyer, "PayAsYouGoTemplate", "order", seed(), plan, [])

    assert err.error_name == "PlanWithInvalidTemplate"
    assert err.error_args == {"planId": plan, "expectedTemplate": p.addr("PayAsYouGoTemplate")}


@pytest.mark.parametrize("case", ["zero-seed", "unknown-plan", "reused-seed"])
def test_pay_as_you_go_argument_checks(fee_proto, case):
    p = fee_proto
    buyer = acct(p, "subscriber")
    plan = split_plan(p, PAYG_SPLIT, template="PayAsYouGoTemplate")
    approve_vault(p, buyer, sum(PAYG_SPLIT) * 2)
    s = seed()
    if case == "reused-seed":
        p.send(buyer, "PayAsYouGoTemplate", "order", s, plan, [])
        expected = ("AgreementAlreadyRegistered", {"agreementId": ids.pay_as_you_go_agreement_id(buyer.address, s,
                                                                                                 plan, [])})
    elif case == "zero-seed":
        s = b"\x00" * 32
        expected = ("InvalidSeed", {"seed": s})
    else:
        plan = UNKNOWN_PLAN
        expected = ("PlanNotFound", {"planId": UNKNOWN_PLAN})

    err = p.reverts(buyer, "PayAsYouGoTemplate", "order", s, plan, [])

    assert (err.error_name, err.error_args) == expected


@pytest.mark.parametrize("delta", [0, -1, "zero", +1], ids=["exact", "one-wei-short", "zero", "one-wei-too-much"])
def test_native_pay_as_you_go_needs_the_exact_value(fee_proto, delta):
    p = fee_proto
    buyer, builder = acct(p, "subscriber"), acct(p, "builder")
    plan = split_plan(p, NATIVE_SPLIT, token=ZERO, template="PayAsYouGoTemplate")
    total = sum(NATIVE_SPLIT)
    value = 0 if delta == "zero" else total + delta

    if delta == 0:
        builder_before = p.balance(builder.address)
        p.send(buyer, "PayAsYouGoTemplate", "order", seed(), plan, [], value=value)
        assert p.balance(builder.address) == builder_before + NATIVE_SPLIT[0]
        assert p.balance(p.addr("PaymentsVault")) == 0
    else:
        err = p.reverts(buyer, "PayAsYouGoTemplate", "order", seed(), plan, [], value=value)
        assert err.error_name == "InvalidTransactionAmount"
        assert err.error_args == {"msgValue": value, "amount": total}


# ------------------------------------------------------------------------------------- EIP-3009 orders


def _auth_order_args(p, template, plan, buyer, receiver, s, auth, n=1):
    if template == "FixedPaymentTemplate":
        return (s, plan, buyer, receiver, n, [], auth)
    return (s, plan, buyer, [], auth)


def _auth_nonce(template, buyer, s, plan, receiver, n=1):
    """The EIP-3009 nonce of an orderWithAuthorization: its agreementId (docs/protocol.md#ids)."""
    if template == "FixedPaymentTemplate":
        return ids.fixed_authorization_agreement_id(buyer, s, plan, receiver, n, [])
    return ids.pay_as_you_go_agreement_id(buyer, s, plan, [])


def _auth_plan(p, template, split=ERC20_SPLIT, token="MockEIP3009Token"):
    return split_plan(p, split, token=token, template=ZERO if template == "FixedPaymentTemplate" else template)


TEMPLATES_3009 = ["FixedPaymentTemplate", "PayAsYouGoTemplate"]


@pytest.mark.parametrize("template, n", [("FixedPaymentTemplate", 1), ("FixedPaymentTemplate", 2),
                                         ("PayAsYouGoTemplate", 1)])
def test_order_with_authorization_is_paid_by_the_signing_buyer(fee_proto, template, n):
    p = fee_proto
    buyer, agent, relayer = acct(p, "subscriber"), acct(p, "agent"), acct(p, "relayer")
    builder, fee = acct(p, "builder"), acct(p, "fee_receiver")
    token = "MockEIP3009Token"
    plan = _auth_plan(p, template)
    s = seed()
    nonce = _auth_nonce(template, buyer.address, s, plan, agent.address, n)
    auth = sign_receive_authorization(p, buyer.signer, to=p.addr("PaymentsVault"), value=PRICE * n, nonce=nonce)
    before = {a.name: token_balance(p, a, token) for a in (buyer, builder, fee, relayer)}

    receipt = p.send(relayer, template, "orderWithAuthorization",
                     *_auth_order_args(p, template, plan, buyer.address, agent.address, s, auth, n))

    assert token_balance(p, buyer, token) == before["subscriber"] - PRICE * n
    assert token_balance(p, builder, token) == before["builder"] + 990_000 * n
    assert token_balance(p, fee, token) == before["fee_receiver"] + 10_000 * n
    assert token_balance(p, relayer, token) == before["relayer"]
    assert token_balance(p, p.addr("PaymentsVault"), token) == 0
    assert p.call(token, "authorizationState", buyer.address, nonce) is True
    assert [e.args["creator"] for e in p.events(receipt, "AgreementRegistered")] == [buyer.address]
    stored = agreement(p, nonce)  # the nonce is the agreement id
    assert (stored["creator"], stored["planId"], stored["numberOfPurchases"]) == (buyer.address, plan, n)
    assert [(e.args["authorizer"], e.args["nonce"]) for e in p.events(receipt, "AuthorizationUsed")] == \
        [(buyer.address, nonce)]
    expected_credits = CREDITS * n if template == "FixedPaymentTemplate" else 0
    assert credits_of(p, agent, plan) == expected_credits
    assert credits_of(p, buyer, plan) == 0


@pytest.mark.parametrize("template", TEMPLATES_3009)
@pytest.mark.parametrize("bad", ["other-signer", "wrong-value", "payee-is-template", "nonce-of-another-formula"])
def test_order_with_a_bad_authorization_reverts_invalid_signature(fee_proto, template, bad):
    p = fee_proto
    buyer, agent = acct(p, "subscriber"), acct(p, "agent")
    plan = _auth_plan(p, template)
    s = seed()
    nonce = _auth_nonce(template, buyer.address, s, plan, agent.address)
    signer, to, value = buyer.signer, p.addr("PaymentsVault"), PRICE
    if bad == "other-signer":
        signer = agent.signer
    elif bad == "wrong-value":
        value = PRICE - 1
    elif bad == "payee-is-template":
        to = p.addr(template)
    elif template == "FixedPaymentTemplate":  # the plain-order id leaves the receiver out
        nonce = ids.fixed_agreement_id(buyer.address, s, plan, 1, [])
    else:
        nonce = ids.fixed_authorization_agreement_id(buyer.address, s, plan, buyer.address, 1, [])
    forged = sign_receive_authorization(p, signer, to=to, value=value, nonce=nonce)

    err = p.reverts(acct(p, "relayer"), template, "orderWithAuthorization",
                    *_auth_order_args(p, template, plan, buyer.address, agent.address, s, forged))

    assert err.error_name == "InvalidSignature"
    assert err.error_args == {}


@pytest.mark.parametrize("template", TEMPLATES_3009)
def test_order_with_authorization_whose_nonce_was_already_used_reverts_in_the_token(fee_proto, template):
    """The nonce is the agreementId: a replayed order hits AgreementAlreadyRegistered first; a nonce spent
    directly on the token (agreement not yet registered) reaches the token's AuthorizationUsedOrCanceled."""
    p = fee_proto
    buyer, agent, relayer = acct(p, "subscriber"), acct(p, "agent"), acct(p, "relayer")
    token = "MockEIP3009Token"
    plan = _auth_plan(p, template)
    vault = p.addr("PaymentsVault")

    # 1. replay of a completed order
    s = seed()
    nonce = _auth_nonce(template, buyer.address, s, plan, agent.address)
    auth = sign_receive_authorization(p, buyer.signer, to=vault, value=PRICE, nonce=nonce)
    args = _auth_order_args(p, template, plan, buyer.address, agent.address, s, auth)
    p.send(relayer, template, "orderWithAuthorization", *args)
    err = p.reverts(relayer, template, "orderWithAuthorization", *args)
    assert (err.error_name, err.error_args) == ("AgreementAlreadyRegistered", {"agreementId": nonce})

    # 2. the buyer's nonce is burnt on the token before the order
    s = seed()
    nonce = _auth_nonce(template, buyer.address, s, plan, agent.address)
    spent = sign_receive_authorization(p, buyer.signer, to=relayer.address, value=1, nonce=nonce)
    p.send(relayer, token, "receiveWithAuthorization", buyer.address, relayer.address, 1, spent[0], spent[1],
           nonce, *spent[2:])
    auth = sign_receive_authorization(p, buyer.signer, to=vault, value=PRICE, nonce=nonce)
    err = p.reverts(relayer, template, "orderWithAuthorization",
                    *_auth_order_args(p, template, plan, buyer.address, agent.address, s, auth))
    assert err.error_name == "AuthorizationUsedOrCanceled"
    assert err.error_args == {"authorizer": buyer.address, "nonce": nonce}


@pytest.mark.parametrize("template", TEMPLATES_3009)
def test_order_with_an_expired_authorization_reverts_in_the_token(fee_proto, template):
    p = fee_proto
    buyer, agent = acct(p, "subscriber"), acct(p, "agent")
    plan = _auth_plan(p, template)
    s = seed()
    nonce = _auth_nonce(template, buyer.address, s, plan, agent.address)
    auth = sign_receive_authorization(p, buyer.signer, to=p.addr("PaymentsVault"), value=PRICE, nonce=nonce,
                                      valid_before=p.sim.chain.now() - 1)

    err = p.reverts(acct(p, "relayer"), template, "orderWithAuthorization",
                    *_auth_order_args(p, template, plan, buyer.address, agent.address, s, auth))

    assert (err.error_name, err.error_args) == ("AuthorizationExpired", {})


@pytest.mark.parametrize("template", TEMPLATES_3009)
@pytest.mark.parametrize(
    "case, expected",
    [
        ("native-plan", ("NativeTokenNotSupportedForAuthorization", {})),
        ("free-plan", ("ZeroAmountNotSupportedForAuthorization", {})),
        ("zero-buyer", ("InvalidAddress", {})),
    ],
)
def test_order_with_authorization_rejections(fee_proto, template, case, expected):
    p = fee_proto
    buyer, agent = acct(p, "subscriber"), acct(p, "agent")
    if case == "native-plan":
        plan = _auth_plan(p, template, NATIVE_SPLIT, token=ZERO)
        value = sum(NATIVE_SPLIT)
    elif case == "free-plan":
        plan = create_plan(p, token=p.addr("MockEIP3009Token"),
                           template=ZERO if template == "FixedPaymentTemplate" else template)
        value = 0
    else:
        plan = _auth_plan(p, template)
        value = PRICE
    payer = ZERO if case == "zero-buyer" else buyer.address
    s = seed()
    nonce = _auth_nonce(template, payer, s, plan, agent.address)
    auth = sign_receive_authorization(p, buyer.signer, to=p.addr("PaymentsVault"), value=value, nonce=nonce)

    err = p.reverts(acct(p, "relayer"), template, "orderWithAuthorization",
                    *_auth_order_args(p, template, plan, payer, agent.address, s, auth))

    assert (err.error_name, err.error_args) == expected


# ------------------------------------------------------------------------------------------------- fiat


def _fiat_plan(p):
    return split_plan(p, FIAT_SPLIT, token=ZERO, is_crypto=False)


def test_fiat_order_by_the_settler_mints_credits_to_the_receiver(fee_proto):
    p = fee_proto
    settler, buyer = acct(p, "settler"), acct(p, "subscriber")
    plan = _fiat_plan(p)
    s = seed()
    settler_eth = p.balance(settler.address)

    receipt = p.send(settler, "FiatPaymentTemplate", "order", s, plan, buyer.address, 2, [])

    assert credits_of(p, buyer, plan) == CREDITS * 2
    agreement_id = ids.fiat_agreement_id(settler.address, s, plan, buyer.address, 2, [])
    assert [(e.args["agreementId"], e.args["creator"]) for e in p.events(receipt, "AgreementRegistered")] == \
        [(agreement_id, settler.address)]
    stored = agreement(p, agreement_id)
    assert stored["conditionIds"] == [ids.condition_id(agreement_id, "FiatSettlementCondition"),
                                      ids.condition_id(agreement_id, "TransferCreditsCondition")]
    assert stored["states"] == [FULFILLED, FULFILLED]
    assert stored["numberOfPurchases"] == 2
    assert p.events(receipt, "ReceivedNativeToken") == [] and p.events(receipt, "ReceivedERC20") == []
    assert settler_eth - p.balance(settler.address) == gas_cost(p, receipt)  # no funds move on chain


def test_fiat_order_without_the_settlement_role_reverts(fee_proto):
    p = fee_proto
    buyer = acct(p, "subscriber")
    plan = _fiat_plan(p)

    err = p.reverts(buyer, "FiatPaymentTemplate", "order", seed(), plan, buyer.address, 1, [])

    assert err.reason.signature == "InvalidRole(address,uint64)"
    assert list(err.error_args.values()) == [buyer.address, FIAT_SETTLEMENT_ROLE]  # (addr, expectedRole)


def test_plan_owner_cannot_settle_its_own_fiat_plan_even_with_the_role(fee_proto):
    p = fee_proto
    builder, buyer = acct(p, "builder"), acct(p, "subscriber")
    plan = _fiat_plan(p)
    p.send(p.sim.owner, "AccessManager", "grantRole", FIAT_SETTLEMENT_ROLE, builder.address, 0)
    assert p.call("AccessManager", "hasRole", FIAT_SETTLEMENT_ROLE, builder.address)[0] is True

    err = p.reverts(builder, "FiatPaymentTemplate", "order", seed(), plan, buyer.address, 1, [])

    assert err.error_name == "SelfSettlementNotAllowed"
    assert list(err.error_args.values()) == [builder.address]


def test_crypto_plan_cannot_be_settled_in_fiat(fee_proto):
    p = fee_proto
    plan = split_plan(p, ERC20_SPLIT)

    err = p.reverts(acct(p, "settler"), "FiatPaymentTemplate", "order", seed(), plan,
                    acct(p, "subscriber").address, 1, [])

    assert err.error_name == "OnlyPlanWithFiatPrice"
    assert err.error_args == {"planId": plan}


# ------------------------------------------------------------------------------------- guarded internals


def test_lock_payment_condition_cannot_be_fulfilled_directly(fee_proto):
    p = fee_proto
    stranger = acct(p, "subscriber")
    plan = split_plan(p, NATIVE_SPLIT, token=ZERO)

    err = p.reverts(stranger, "LockPaymentCondition", "fulfill", seed(), seed(), plan, stranger.address,
                    value=sum(NATIVE_SPLIT))

    assert err.error_name == "AccessManagedUnauthorized"
    assert err.error_args == {"caller": stranger.address}


def test_vault_withdrawal_needs_the_withdraw_role(fee_proto):
    p = fee_proto
    stranger = acct(p, "agent")

    err = p.reverts(stranger, "PaymentsVault", "withdrawNativeToken", 0, stranger.address)
    assert err.error_name == "AccessManagedUnauthorized"
    assert err.error_args == {"caller": stranger.address}

    p.send(p.sim.owner, "AccessManager", "grantRole", WITHDRAW_ROLE, stranger.address, 0)
    receipt = p.send(stranger, "PaymentsVault", "withdrawNativeToken", 0, stranger.address)
    assert [(e.args["from"], e.args["receiver"], e.args["amount"])
            for e in p.events(receipt, "WithdrawNativeToken")] == [(stranger.address, stranger.address, 0)]


def test_plain_eth_transfer_to_the_vault_needs_the_depositor_role(fee_proto):
    p = fee_proto
    sender = acct(p, "subscriber")
    vault = p.addr("PaymentsVault")

    with pytest.raises(ContractRevertError) as info:
        eth_call(p.w3, vault, b"", sender=sender.address, value=1, gas=100_000)
    assert info.value.reason.signature == "InvalidRole(address,uint64)"
    assert list(info.value.error_args.values()) == [sender.address, DEPOSITOR_ROLE]  # (sender, role)

    p.send(p.sim.owner, "AccessManager", "grantRole", DEPOSITOR_ROLE, sender.address, 0)
    receipt = Sender(p.w3, sender.signer).send(TxRequest(vault, b"", 100_000, value=7, action="plain transfer"))
    assert [(e.args["from"], e.args["value"]) for e in p.events(receipt, "ReceivedNativeToken")] == \
        [(sender.address, 7)]
    assert p.balance(vault) == 7


def test_condition_status_can_only_be_updated_by_templates_or_conditions(fee_proto):
    p = fee_proto
    buyer = acct(p, "subscriber")
    plan = create_plan(p)
    s = seed()
    receipt = order(p, buyer, plan, s=s)  # the roled template/conditions do update it
    agreement_id = ids.fixed_agreement_id(buyer.address, s, plan, 1, [])
    lock_id = ids.condition_id(agreement_id, "LockPaymentCondition")
    assert lock_id in [e.args["conditionId"] for e in p.events(receipt, "ConditionUpdated")]

    err = p.reverts(buyer, "AgreementsStore", "updateConditionStatus", agreement_id, lock_id, 3)

    assert err.error_name == "OnlyTemplateOrConditionRole"
    assert err.error_args == {"caller": buyer.address}
