"""Pure models: validation before signing, ABI tuples, wire shape, chain records."""

from __future__ import annotations

from decimal import Decimal

import pydantic
import pytest

from nvm_chain.errors import ValidationError
from nvm_chain.protocol import ids
from nvm_chain.protocol.models import (
    ZERO,
    Agent,
    AgentAPIAttributes,
    AgentMetadata,
    CreditsConfig,
    Endpoint,
    Plan,
    PlanBalance,
    PlanMetadata,
    PriceConfig,
    RedemptionType,
    format_id,
    parse_id,
)

ALICE = "0x71C7656EC7ab88b098defB751B7401B5f6d8976F"
BOB = "0x1aE0EA34a72D944a8C7603FfB3eC30a6669E454C"
TOKEN = "0x75faf114eafb1BDbe2F0316DF893fd58CE46AA4d"
NFT = "0xF7Fe16718a779010E48859fb1c7Eae9fd540872F"


def price(**kw) -> PriceConfig:
    return PriceConfig(**{"is_crypto": True, "amounts": [1_000_000], "receivers": [ALICE], **kw})


def credits(**kw) -> CreditsConfig:
    fields = {"redemption_type": RedemptionType.ONLY_SUBSCRIBER, "duration_secs": 0, "amount": 100,
              "min_amount": 1, "max_amount": 1}
    return CreditsConfig(**{**fields, **kw})


def test_redemption_type_values():
    assert [(m.name, m.value) for m in RedemptionType] == [
        ("ONLY_GLOBAL_ROLE", 0), ("ONLY_OWNER", 1), ("ONLY_PLAN_ROLE", 2), ("OWNER_OR_GLOBAL_ROLE", 3),
        ("ONLY_SUBSCRIBER", 4)]
    assert credits(redemption_type=1).redemption_type is RedemptionType.ONLY_OWNER
    assert credits(redemption_type="ONLY_PLAN_ROLE").redemption_type is RedemptionType.ONLY_PLAN_ROLE
    assert credits(redemption_type="3").redemption_type is RedemptionType.OWNER_OR_GLOBAL_ROLE
    for bad in (5, True, "ANYONE", 4.0, None):
        with pytest.raises(ValidationError, match="redemption_type must be one of|not a bool"):
            credits(redemption_type=bad)


# ------------------------------------------------------------------------------------------ PriceConfig


def test_price_defaults_and_checksumming():
    p = PriceConfig()
    assert (p.is_crypto, p.token_address, p.amounts, p.receivers) == (False, ZERO, (), ())
    assert p.external_price_address == p.fee_controller == p.template_address == ZERO
    assert p.currency is None and p.contract_address is None
    lower = price(receivers=[ALICE.lower()], token_address=TOKEN.lower())
    assert lower.receivers == (ALICE,) and lower.token_address == TOKEN
    assert price(token_address=None, fee_controller=None).token_address == ZERO  # the API's "unset"


def test_amounts_accept_ints_and_decimal_strings():
    p = price(amounts=["1000000", 5], receivers=[ALICE, BOB])
    assert p.amounts == (1_000_000, 5) and p.total == 1_000_005
    assert price(amounts=[2**256 - 1]).amounts == (2**256 - 1,)


@pytest.mark.parametrize(("bad", "message"), [
    (1.5, r"amounts\[0\]: amounts are integer base units .*not float 1.5"),
    (1.0, "amounts are integer base units"),
    (True, "amounts are integer base units .*not bool"),
    (Decimal("1"), "amounts are integer base units .*not Decimal"),
    (-1, r"amounts\[0\] must not be negative"),
    (2**256, r"amounts\[0\] does not fit in a uint256"),
    ("1.5", "amounts are integer base units"),
    ("1_000", "amounts are integer base units"),
    ("0x10", "amounts are integer base units"),
    ("", "amounts are integer base units"),
    (None, "amounts are integer base units"),
])
def test_amount_refusals(bad, message):
    with pytest.raises(ValidationError, match=message):
        price(amounts=[bad])


def test_amounts_must_be_a_list():
    with pytest.raises(ValidationError, match="amounts must be a list"):
        price(amounts="1000")


@pytest.mark.parametrize("field", ["token_address", "external_price_address", "fee_controller",
                                   "template_address", "contract_address"])
def test_malformed_addresses_name_the_field(field):
    with pytest.raises(ValidationError, match=f"{field} is not a valid address"):
        price(**{field: "0x1234"})


def test_receivers_are_validated():
    with pytest.raises(ValidationError, match=r"receivers\[1\] is not a valid address"):
        price(amounts=[1, 2], receivers=[ALICE, "bob"])
    with pytest.raises(ValidationError, match=r"receivers\[0\] is not a valid address"):
        price(receivers=[ALICE[2:]])  # no 0x prefix
    bad_checksum = ALICE[:-1] + "f"  # mixed case with a wrong EIP-55 checksum
    with pytest.raises(ValidationError, match=r"receivers\[0\] is not a valid address"):
        price(receivers=[bad_checksum])


def test_amounts_and_receivers_lengths_must_match():
    with pytest.raises(ValidationError, match=r"receivers \(2\) and amounts \(1\) must have the same length"):
        price(amounts=[1], receivers=[ALICE, BOB])
    with pytest.raises(ValidationError, match="same length"):
        price(amounts=[1, 2], receivers=[ALICE])


def test_validation_error_is_a_value_error_listing_every_problem():
    with pytest.raises(ValueError) as info:
        PriceConfig(amounts=[1.5], token_address="nope")
    assert isinstance(info.value, ValidationError)
    assert "amounts[0]" in str(info.value) and "token_address" in str(info.value)


def test_price_kind():
    assert price().kind == "crypto"
    assert price(is_crypto=False).kind == "fiat"
    assert PriceConfig(is_crypto=True).kind == "free"
    assert price(amounts=[0]).kind == "free"
    assert price(amounts=[0], external_price_address=TOKEN).kind == "external"


def test_price_as_tuple_order():
    p = price(amounts=[7, 3], receivers=[ALICE, BOB], token_address=TOKEN, external_price_address=BOB,
              fee_controller=NFT, template_address=TOKEN, currency="USDC")
    assert p.as_tuple() == (True, TOKEN, [7, 3], [ALICE, BOB], BOB, NFT, TOKEN)


def test_price_is_frozen_and_copies_are_validated():
    p = price()
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        p.amounts = (1,)  # type: ignore[misc]
    q = p.with_distribution([990_000, 10_000], [ALICE, BOB])
    assert q.amounts == (990_000, 10_000) and p.amounts == (1_000_000,)
    with pytest.raises(ValidationError, match="same length"):
        p.with_distribution([1], [ALICE, BOB])


def test_price_camel_case_dump():
    p = price(currency="USD")
    wire = p.model_dump(mode="json", by_alias=True)
    assert wire == {"isCrypto": True, "tokenAddress": ZERO, "amounts": ["1000000"], "receivers": [ALICE],
                    "externalPriceAddress": ZERO, "feeController": ZERO, "templateAddress": ZERO,
                    "currency": "USD", "contractAddress": None}
    assert p.model_dump(by_alias=True)["amounts"] == (1_000_000,)
    assert PriceConfig.model_validate(wire) == p


# ------------------------------------------------------------------------------------------ CreditsConfig


def test_credits_accept_decimal_strings_from_the_api():
    c = CreditsConfig.model_validate({"isRedemptionAmountFixed": True, "redemptionType": 4, "onchainMirror": True,
                                      "durationSecs": "86400", "amount": "100", "minAmount": "2",
                                      "maxAmount": "2"})
    assert (c.duration_secs, c.amount, c.min_amount, c.max_amount) == (86_400, 100, 2, 2)
    assert c.onchain_mirror and c.is_time_based and c.nft_address is None


def test_credits_accept_the_old_proof_required_name():
    assert credits(proof_required=True).onchain_mirror is True
    assert CreditsConfig.model_validate({"redemptionType": 4, "proofRequired": True, "durationSecs": 0,
                                         "amount": 1, "minAmount": 1, "maxAmount": 1}).onchain_mirror is True
    assert credits().onchain_mirror is False
    assert credits(proof_required=True, onchain_mirror=True).onchain_mirror is True
    with pytest.raises(ValidationError, match="onchain_mirror and its old name proof_required disagree"):
        credits(proofRequired=False, onchainMirror=True)


def test_misspelt_fields_are_refused_not_ignored():
    with pytest.raises(ValidationError, match="ammounts: Extra inputs are not permitted"):
        PriceConfig(ammounts=[1_000_000], receivers=[ALICE])
    with pytest.raises(ValidationError, match="onchain_mirorr: Extra inputs"):
        credits(onchain_mirorr=True)


@pytest.mark.parametrize(("field", "bad", "message"), [
    ("amount", 1.5, "amount must be an integer .*not float"),
    ("duration_secs", True, "duration_secs must be an integer .*not bool"),
    ("max_amount", -1, "max_amount must not be negative"),
    ("min_amount", 2**256, "min_amount does not fit in a uint256"),
    ("nft_address", "0xabc", "nft_address is not a valid address"),
])
def test_credits_refusals(field, bad, message):
    with pytest.raises(ValidationError, match=message):
        credits(**{field: bad})


def test_credits_min_must_not_exceed_max():
    with pytest.raises(ValidationError, match=r"min_amount \(5\) must not exceed max_amount \(2\)"):
        credits(min_amount=5, max_amount=2)
    assert credits(min_amount=2, max_amount=2).max_amount == 2


def test_credits_with_nft_and_as_tuple():
    c = credits(redemption_type=RedemptionType.ONLY_OWNER, onchain_mirror=True, duration_secs=60, amount=10,
                min_amount=1, max_amount=3, is_redemption_amount_fixed=True)
    with pytest.raises(ValidationError, match="no nft_address.*with_nft"):
        c.as_tuple()
    with_nft = c.with_nft(NFT.lower())
    assert c.nft_address is None and with_nft.nft_address == NFT
    assert with_nft.as_tuple() == (True, 1, True, 60, 10, 1, 3, NFT)
    assert type(with_nft.as_tuple()[1]) is int
    with pytest.raises(ValidationError, match="nft_address is not a valid address"):
        c.with_nft("nope")


def test_credits_camel_case_dump_omits_unset_nft():
    wire = credits().model_dump(mode="json", by_alias=True)
    assert wire == {"isRedemptionAmountFixed": False, "redemptionType": 4, "onchainMirror": False,
                    "durationSecs": "0", "amount": "100", "minAmount": "1", "maxAmount": "1"}
    assert credits(nft_address=NFT).model_dump(mode="json", by_alias=True)["nftAddress"] == NFT
    assert credits().model_dump()["nft_address"] is None
    assert CreditsConfig.model_validate(wire) == credits()


def test_as_tuple_matches_the_plan_id_formula():
    p = price(amounts=[990_000, 10_000], receivers=[ALICE, BOB], token_address=TOKEN)
    c = credits(onchain_mirror=True, nft_address=NFT)
    by_hand_price = (True, TOKEN, [990_000, 10_000], [ALICE, BOB], ZERO, ZERO, ZERO)
    by_hand_credits = (False, 4, True, 0, 100, 1, 1, NFT)
    expected = ids.plan_id(by_hand_price, by_hand_credits, ALICE, 7)
    assert ids.plan_id(p.as_tuple(), c.as_tuple(), ALICE, 7) == expected
    assert expected == 104171198816189651592138184314764250860366969725305410958961707147085268267965
    # every field takes part in the hash
    assert ids.plan_id(p.as_tuple(), c.replace(onchain_mirror=False).as_tuple(), ALICE, 7) != expected
    assert ids.plan_id(p.replace(currency="EUR").as_tuple(), c.as_tuple(), ALICE, 7) == expected  # off-chain


# ------------------------------------------------------------------------------------------ IDs


def test_parse_and_format_ids():
    big = 105906633592154016712415751065660953070604027297000423385655551747721326921578
    assert parse_id(big) == parse_id(str(big)) == parse_id(hex(big)) == parse_id(hex(big).upper().replace("X", "x"))
    assert format_id(big) == str(big)
    assert parse_id("0") == 0 and parse_id(2**256 - 1) == 2**256 - 1
    for bad in (-1, 2**256, 1.0, True, "12a", "0x", "0xzz", " 1", None, Decimal(1)):
        with pytest.raises(ValidationError, match="id"):
            parse_id(bad)
    with pytest.raises(ValidationError):
        format_id(-1)


# ------------------------------------------------------------------------------------------ chain records


def chain_plan(last_updated=1_700_000_000, duration=0):
    price_t = (True, TOKEN.lower(), (990_000, 10_000), (ALICE, BOB), ZERO, ZERO, ZERO)
    credits_t = (False, 4, True, duration, 100, 1, 1, NFT)
    return (ALICE, price_t, credits_t, last_updated)


def test_plan_from_chain():
    plan = Plan.from_chain("0x2a", chain_plan(), hooks=[NFT])
    assert plan.plan_id == 42 and plan.owner == ALICE and plan.last_updated == 1_700_000_000
    assert plan.price.token_address == TOKEN and plan.price.amounts == (990_000, 10_000)
    assert plan.credits.redemption_type is RedemptionType.ONLY_SUBSCRIBER and plan.credits.onchain_mirror
    assert plan.hooks == (NFT,) and plan.plan_type == "credits"
    assert Plan.from_chain(1, chain_plan(duration=3600)).plan_type == "time"
    assert plan.price.as_tuple()[2:4] == ([990_000, 10_000], [ALICE, BOB])
    assert plan.model_dump(mode="json", by_alias=True)["planId"] == "42"


def test_plan_from_chain_refuses_empty_or_malformed_records():
    empty = (ZERO, (False, ZERO, (), (), ZERO, ZERO, ZERO), (False, 0, False, 0, 0, 0, 0, ZERO), 0)
    with pytest.raises(ValidationError, match="no plan 7 on chain"):
        Plan.from_chain(7, empty)
    with pytest.raises(ValidationError, match="getPlan record"):
        Plan.from_chain(7, (ALICE, (), (), 1))


def test_nested_errors_carry_their_path():
    with pytest.raises(ValidationError) as info:
        Plan(plan_id=1, owner=ALICE, price={"amounts": [1.5], "receivers": [ALICE]},
             credits={"redemption_type": 4, "duration_secs": 0, "amount": 1, "min_amount": 3, "max_amount": 1},
             last_updated=1)
    assert "price.amounts[0]: amounts are integer base units" in str(info.value)
    assert "credits.min_amount (3) must not exceed max_amount (1)" in str(info.value)


def test_agent_from_chain():
    agent = Agent.from_chain(str(2**255), (ALICE, BOB, "https://agent.example/api", 5, (1, 2**200)))
    assert agent.agent_id == 2**255 and agent.creator == BOB and agent.plans == (1, 2**200)
    assert agent.model_dump(mode="json", by_alias=True)["plans"] == ["1", str(2**200)]
    with pytest.raises(ValidationError, match="no agent 3 on chain"):
        Agent.from_chain(3, (ZERO, ZERO, "", 0, ()))
    with pytest.raises(ValidationError, match="getAgent record"):
        Agent.from_chain(3, (ALICE, BOB))


# ------------------------------------------------------------------------------------------ balance, metadata


def test_plan_balance_wire_names_and_builder():
    wire = {"planId": "42", "planName": "Pro", "planType": "credits", "holderAddress": BOB.lower(),
            "balance": "100", "creditsContract": NFT, "isSubscriber": True, "pricePerCredit": 0.5}
    balance = PlanBalance.model_validate(wire)
    assert (balance.plan_id, balance.balance, balance.holder_address) == (42, 100, BOB)
    assert balance.price_per_credit == Decimal("0.5")
    # batch: the REST endpoint's flag; ledger: where nvm-chain read the balance (unset for a parsed document)
    assert set(balance.model_dump(by_alias=True)) == set(wire) | {"batch", "ledger"}
    assert balance.ledger is None

    plan = Plan.from_chain(42, chain_plan())
    built = PlanBalance.from_plan(plan, BOB, 40)
    assert built.plan_name == "" and built.plan_type == "credits" and built.credits_contract == NFT
    assert built.ledger == "onchain"
    assert built.is_subscriber and built.price_per_credit == Decimal(10_000)  # 1_000_000 / 100 credits
    assert not PlanBalance.from_plan(plan, BOB, 0).is_subscriber
    free = plan.replace(price=PriceConfig(is_crypto=True))
    assert PlanBalance.from_plan(free, BOB, 1).price_per_credit == 0
    no_credits = plan.replace(credits=plan.credits.replace(amount=0))
    assert PlanBalance.from_plan(no_credits, BOB, 1).price_per_credit == 0


def test_metadata_models():
    plan_meta = PlanMetadata(name="Pro plan", tags=["ai"])
    assert plan_meta.is_trial_plan is False and plan_meta.tags == ("ai",)
    assert PlanMetadata.model_validate({"name": "x", "isTrialPlan": True, "sampleLink": "s"}).sample_link == "s"
    with pytest.raises(ValidationError, match="name: Field required"):
        AgentMetadata()
    api = AgentAPIAttributes(endpoints=[{"verb": "POST", "url": "https://a/:agentId"}], api_key="secret",
                             password="pw")
    assert api.endpoints == (Endpoint(verb="POST", url="https://a/:agentId"),)
    assert api.auth_type.value == "none" and "secret" not in repr(api) and "pw" not in repr(api)
    assert api.model_dump(mode="json", by_alias=True, exclude_none=True) == {
        "endpoints": [{"verb": "POST", "url": "https://a/:agentId"}], "authType": "none", "password": "pw",
        "apiKey": "secret"}
