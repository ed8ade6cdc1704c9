"""The client's pure functions against the values recorded from the real v1.5.0 contracts
(tests/data/vectors-v1.5.json): plan, agent and agreement ids, condition ids, the fee rule, the fee views and the
gas-limit table. Every expected value is read from the vector file; none is recomputed here.
"""

from __future__ import annotations

from typing import Any

import pytest

from nvm_chain.chain.contracts import gas_limit
from nvm_chain.errors import FeeError
from nvm_chain.protocol import ids
from nvm_chain.protocol.fees import (
    FeeSchedule,
    fees_included,
    protocol_add_fees,
    protocol_include_fees,
    require_fees_included,
    with_fees,
)
from nvm_chain.protocol.models import PriceConfig
from tests.vector_flow import load_vectors

V = load_vectors()
FEES = V["deployment"]["fees"]
PLAN_VECTORS = V["plan_ids"]["vectors"]
AGENT_VECTORS = V["agent_ids"]["vectors"]
AGREEMENT_VECTORS = V["agreement_ids"]["vectors"]
FEE_CASES = V["fee_splits"]["cases"]
GAS_OPS = V["gas_used"]["operations"]


def _bytes(hex_str: str) -> bytes:
    return bytes.fromhex(hex_str.removeprefix("0x"))


def price_tuple(p: dict[str, Any]) -> tuple:
    """``IAsset.PriceConfig`` of a vector as the ABI tuple."""
    return (p["isCrypto"], p["tokenAddress"], [int(a) for a in p["amounts"]], list(p["receivers"]),
            p["externalPriceAddress"], p["feeController"], p["templateAddress"])


def credits_tuple(c: dict[str, Any]) -> tuple:
    """``IAsset.CreditsConfig`` of a vector as the ABI tuple."""
    return (c["isRedemptionAmountFixed"], c["redemptionType"], c["onchainMirror"], int(c["durationSecs"]),
            int(c["amount"]), int(c["minAmount"]), int(c["maxAmount"]), c["nftAddress"])


# ------------------------------------------------------------------------------------------------ ids


@pytest.mark.parametrize("v", PLAN_VECTORS, ids=[f"plan{v['index']}" for v in PLAN_VECTORS])
def test_plan_id_equals_the_recorded_hash_plan_id(v):
    i = v["inputs"]
    got = ids.plan_id(price_tuple(i["_priceConfig"]), credits_tuple(i["_creditsConfig"]), i["_creator"],
                      int(i["_nonce"]))
    assert got == int(v["hashPlanId"]) == int(v["hashPlanIdHex"], 16)
    if "registeredWith" in v:  # the id the real createPlan / registerAgentAndPlan emitted
        assert got == int(v["registeredWith"]["PlanRegistered.planId"])


@pytest.mark.parametrize("v", [v for v in PLAN_VECTORS if "hashPlanId_3arg_nonce0" in v],
                         ids=lambda v: f"plan{v['index']}")
def test_three_argument_plan_id_is_the_nonce_zero_form(v):
    i = v["inputs"]
    got = ids.plan_id(price_tuple(i["_priceConfig"]), credits_tuple(i["_creditsConfig"]), i["_creator"])
    assert got == int(v["hashPlanId_3arg_nonce0"])


def test_register_agent_and_plan_uses_the_seed_as_plan_nonce():
    (v,) = [v for v in PLAN_VECTORS if v.get("registeredWith", {}).get("function") == "registerAgentAndPlan"]
    assert int(v["inputs"]["_nonce"]) == int(v["registeredWith"]["_seed"], 16)
    assert v["registeredWith"]["PlanRegistered.planId"] == v["hashPlanId"]


@pytest.mark.parametrize("v", AGENT_VECTORS, ids=lambda v: v["hashAgentIdHex"][:10])
def test_agent_id_equals_the_recorded_hash_agent_id(v):
    got = ids.agent_id(_bytes(v["inputs"]["_seed"]), v["inputs"]["_creator"])
    assert got == int(v["hashAgentId"]) == int(v["hashAgentIdHex"], 16)
    if "registeredWith" in v:
        assert got == int(v["registeredWith"]["AgentRegistered.agentId"])


def _agreement_id(v: dict[str, Any]) -> bytes:
    """Our formula for the vector's template and function."""
    i = v["inputs"]
    seed, plan, params = _bytes(i["_seed"]), int(i["_planId"]), [_bytes(p) for p in i["_params"]]
    fn = v["function"].split("(")[0]
    if v["template"] == "FixedPaymentTemplate" and fn == "order":
        return ids.fixed_agreement_id(i["msgSender"], seed, plan, int(i["_numberOfPurchases"]), params)
    if v["template"] == "FixedPaymentTemplate" and fn == "orderWithAuthorization":
        return ids.fixed_authorization_agreement_id(i["_buyer"], seed, plan, i["_creditsReceiver"],
                                                    int(i["_numberOfPurchases"]), params)
    if v["template"] == "PayAsYouGoTemplate":
        return ids.pay_as_you_go_agreement_id(i["msgSender"], seed, plan, params)
    if v["template"] == "FiatPaymentTemplate":
        return ids.fiat_agreement_id(i["msgSender"], seed, plan, i["_creditsReceiver"],
                                     int(i["_numberOfPurchases"]), params)
    raise AssertionError(f"no formula for {v['template']}.{fn}")


@pytest.mark.parametrize("v", AGREEMENT_VECTORS, ids=lambda v: v["label"][:40])
def test_agreement_id_equals_the_recorded_agreement_registered_id(v):
    assert "0x" + _agreement_id(v).hex() == v["AgreementRegistered.agreementId"]


def test_authorization_nonce_is_the_agreement_id():
    (v,) = [v for v in AGREEMENT_VECTORS if v["function"].startswith("orderWithAuthorization")]
    assert v["eip3009NonceAcceptedEqualsAgreementId"] is True
    assert "0x" + _agreement_id(v).hex() == v["inputs"]["authorization"]["nonce"]


# conditions each template registers, in the order of Agreement.conditionIds (v1.5.0 templates)
CONDITIONS_OF = {
    "FixedPaymentTemplate": ("LockPaymentCondition", "TransferCreditsCondition", "DistributePaymentsCondition"),
    "PayAsYouGoTemplate": ("LockPaymentCondition", "DistributePaymentsCondition"),
    "FiatPaymentTemplate": ("FiatSettlementCondition", "TransferCreditsCondition"),
}


@pytest.mark.parametrize("v", AGREEMENT_VECTORS, ids=lambda v: v["label"][:40])
def test_condition_ids_equal_the_stored_condition_ids(v):
    agreement = _bytes(v["AgreementRegistered.agreementId"])
    got = ["0x" + ids.condition_id(agreement, name).hex() for name in CONDITIONS_OF[v["template"]]]
    assert got == v["stored"]["conditionIds"]


def test_contract_name_hashes_equal_the_deployed_nvm_contract_names():
    names = V["deployment"]["NVM_CONTRACT_NAME"]
    assert "0x" + ids.FIXED_PAYMENT_TEMPLATE.hex() == names["FixedPaymentTemplate"]
    assert "0x" + ids.PAY_AS_YOU_GO_TEMPLATE.hex() == names["PayAsYouGoTemplate"]
    assert "0x" + ids.FIAT_PAYMENT_TEMPLATE.hex() == names["FiatPaymentTemplate"]
    for condition, name_hash in ids.CONDITION_NAMES.items():
        assert "0x" + name_hash.hex() == names[condition], condition


# ------------------------------------------------------------------------------------------------ fees


def _schedule(case: dict[str, Any]) -> FeeSchedule:
    rate = int(case["feeRate"])
    return FeeSchedule(fee_receiver=FEES["feeReceiver"], crypto_rate=rate if case["isCrypto"] else 100,
                       fiat_rate=rate if not case["isCrypto"] else 200, denominator=int(case["feeDenominator"]))


def _price(case: dict[str, Any], amounts: list[str], receivers: list[str]) -> PriceConfig:
    return PriceConfig(is_crypto=case["isCrypto"], token_address=case["tokenAddress"],
                       amounts=tuple(int(a) for a in amounts), receivers=tuple(receivers))


def _splits(case: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every split of a case with the real createPlan's verdict: gross as is, both views' outputs, alternatives."""
    gross = {"amounts": case["grossAmounts"], "receivers": case["receivers"], **case["grossAsIs"]}
    out = [("grossAsIs", gross), ("include", case["includeFeesInPaymentsDistribution"]),
           ("add", case["addFeesToPaymentsDistribution"])]
    return out + sorted((case.get("alternatives") or {}).items())


def _case_id(case: dict[str, Any]) -> str:
    return f"{case['kind']}-{'-'.join(case['grossAmounts'])[:40]}"


def test_fee_defaults_equal_the_deployed_rates():
    default = FeeSchedule(fee_receiver=FEES["feeReceiver"])
    assert (default.crypto_rate, default.fiat_rate, default.denominator) == \
        (int(FEES["cryptoFeeRate"]), int(FEES["fiatFeeRate"]), int(FEES["feeDenominator"]))


def test_fee_cases_cover_accepted_and_rejected_splits():
    verdicts = [s["createPlanAccepted"] for c in FEE_CASES for _, s in _splits(c)]
    assert len(FEE_CASES) == 34 and True in verdicts and False in verdicts


@pytest.mark.parametrize("case", FEE_CASES, ids=_case_id)
def test_fee_rule_gives_the_verdict_of_the_real_create_plan(case):
    schedule = _schedule(case)
    for name, split in _splits(case):
        price = _price(case, split["amounts"], split["receivers"])
        assert sum(price.amounts) == int(split["total"]), name
        assert fees_included(price, schedule) is split["createPlanAccepted"], name
        if split["createPlanAccepted"]:
            require_fees_included(price, schedule)
        else:
            assert split["error"] == "NeverminedFeesNotIncluded"
            with pytest.raises(FeeError):
                require_fees_included(price, schedule)


@pytest.mark.parametrize("case", FEE_CASES, ids=_case_id)
def test_protocol_fee_views_equal_the_real_views(case):
    schedule, gross = _schedule(case), _price(case, case["grossAmounts"], case["receivers"])
    for view, recorded in ((protocol_include_fees, case["includeFeesInPaymentsDistribution"]),
                           (protocol_add_fees, case["addFeesToPaymentsDistribution"])):
        got = view(gross, schedule)
        assert [str(a) for a in got.amounts] == recorded["amounts"], view.__name__
        assert list(got.receivers) == recorded["receivers"], view.__name__


@pytest.mark.parametrize("case", FEE_CASES, ids=_case_id)
def test_with_fees_builds_a_split_the_real_create_plan_accepted(case):
    """The builder keeps the buyer's total and appends the fee. Where its split is one the real contract was
    given, that verdict must be "accepted"; otherwise the real contract accepted a split with the same total
    and the same fee-receiver entry (the only two things its check reads)."""
    schedule, gross = _schedule(case), _price(case, case["grossAmounts"], case["receivers"])
    built = with_fees(gross, schedule)
    amounts = [str(a) for a in built.amounts]
    assert sum(built.amounts) == sum(gross.amounts)
    splits = _splits(case)
    same = [s for _, s in splits if s["amounts"] == amounts and s["receivers"] == list(built.receivers)]
    if same:
        assert all(s["createPlanAccepted"] for s in same)
        return
    fee_receiver = FEES["feeReceiver"]
    fee = [a for a, r in zip(amounts, built.receivers) if r == fee_receiver]
    twins = [s for _, s in splits if s["createPlanAccepted"] and int(s["total"]) == sum(built.amounts)
             and [a for a, r in zip(s["amounts"], s["receivers"]) if r == fee_receiver] == fee]
    assert twins, f"no accepted split with total {sum(built.amounts)} and fee entry {fee}"


# ------------------------------------------------------------------------------------------------ gas


@pytest.mark.parametrize("op", GAS_OPS, ids=lambda o: o["op"][:50])
def test_gas_limit_leaves_40_percent_over_the_real_gas_used(op):
    fn = op["function"].split("(")[0]
    assert gas_limit(op["contract"], fn) >= 1.4 * op["gasUsed"]
