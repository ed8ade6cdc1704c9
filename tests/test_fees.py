"""The fee rule (docs/protocol.md#fees) on the documented vectors, the protocol's own helpers, and with_fees."""

from __future__ import annotations

import random

import pytest

from nvm_chain.errors import FeeError, ValidationError
from nvm_chain.protocol.fees import (
    FeeSchedule,
    fees_included,
    protocol_add_fees,
    protocol_include_fees,
    require_fees_included,
    with_fees,
)
from nvm_chain.protocol.models import ZERO, PriceConfig

FEE = "0x0000000000000000000000000000000000000FEE"
ALICE = "0x71C7656EC7ab88b098defB751B7401B5f6d8976F"
BOB = "0x1aE0EA34a72D944a8C7603FfB3eC30a6669E454C"
CAROL = "0x75faf114eafb1BDbe2F0316DF893fd58CE46AA4d"
PRICER = "0x000000000000000000000000000000000000bEEF"

ON = FeeSchedule(fee_receiver=FEE)
OFF = FeeSchedule()


def crypto(*amounts: int, receivers=None, **kw) -> PriceConfig:
    receivers = receivers or [ALICE, BOB, CAROL, PRICER, FEE][: len(amounts)]
    return PriceConfig(is_crypto=True, amounts=list(amounts), receivers=receivers, **kw)


def fiat(*amounts: int) -> PriceConfig:
    return crypto(*amounts).replace(is_crypto=False, currency="USD")


def test_schedule_defaults_and_rates():
    assert (OFF.fee_receiver, OFF.crypto_rate, OFF.fiat_rate, OFF.denominator) == (ZERO, 100, 200, 10_000)
    assert not OFF.enabled and ON.enabled
    assert ON.rate_for(crypto(1)) == 100 and ON.rate_for(fiat(1)) == 200
    assert ON.rate_for(crypto(0, external_price_address=PRICER)) == 0
    assert FeeSchedule(fee_receiver=FEE.lower()).fee_receiver == FEE
    assert ON.fee_for(crypto(1_000_000)) == 10_000 and OFF.fee_for(crypto(1_000_000)) == 0


@pytest.mark.parametrize(("kw", "message"), [
    ({"fee_receiver": "0x12"}, "fee_receiver is not a valid address"),
    ({"crypto_rate": 10_001}, r"crypto_rate \(10001\) must not exceed the denominator"),
    ({"fiat_rate": -1}, "fiat_rate must not be negative"),
    ({"crypto_rate": 1.5}, "crypto_rate must be an integer"),
    ({"denominator": 0}, "denominator must be positive"),
])
def test_schedule_refusals(kw, message):
    with pytest.raises(ValidationError, match=message):
        FeeSchedule(**kw)


# ------------------------------------------------------------------------------------------ the rule


def test_no_fee_receiver_or_zero_total_or_zero_fee_always_pass():
    assert fees_included(crypto(1_000_000), OFF)
    assert fees_included(PriceConfig(is_crypto=True), ON)  # free: total 0
    assert fees_included(crypto(0, 0), ON)
    assert fees_included(crypto(99), ON)  # 1% of 99 floors to 0


def test_the_last_fee_receiver_entry_must_equal_the_fee_exactly():
    assert fees_included(crypto(990_000, 10_000, receivers=[ALICE, FEE]), ON)
    assert not fees_included(crypto(990_001, 9_999, receivers=[ALICE, FEE]), ON)  # off by one
    assert not fees_included(crypto(1_000_000), ON)  # no fee entry at all
    # only the LAST entry paid to the fee receiver counts
    assert fees_included(crypto(5, 989_995, 10_000, receivers=[FEE, ALICE, FEE]), ON)
    assert not fees_included(crypto(10_000, 989_995, 5, receivers=[FEE, ALICE, FEE]), ON)
    assert fees_included(crypto(990_000, 10_000, receivers=[ALICE, FEE.lower()]), ON)


def test_external_price_pays_no_fee():
    external = crypto(0, 0, external_price_address=PRICER)
    assert ON.rate_for(external) == 0 and fees_included(external, ON)
    assert fees_included(crypto(1_000_000, external_price_address=PRICER), ON)
    assert with_fees(external, ON) == external and protocol_include_fees(external, ON) == external


def test_require_fees_included_names_expected_and_found():
    with pytest.raises(FeeError, match=r"must get exactly 10000 \(100/10000 of the total 1000000\), but no entry"):
        require_fees_included(crypto(1_000_000), ON)
    with pytest.raises(FeeError, match="exactly 10100 .*its last entry is 10000"):
        require_fees_included(crypto(1_000_000, 10_000, receivers=[ALICE, FEE]), ON)
    require_fees_included(crypto(990_000, 10_000, receivers=[ALICE, FEE]), ON)
    assert issubclass(FeeError, ValidationError) and issubclass(FeeError, ValueError)


# ------------------------------------------------------------------------------------------ documented vectors


def test_single_receiver_include_is_accepted_and_add_is_rejected():
    included = protocol_include_fees(crypto(1_000_000), ON)
    assert (included.amounts, included.receivers) == ((990_000, 10_000), (ALICE, FEE))
    assert fees_included(included, ON)
    added = protocol_add_fees(crypto(1_000_000), ON)
    assert (added.amounts, added.receivers) == ((1_000_000, 10_000), (ALICE, FEE))
    assert not fees_included(added, ON)  # 1% of 1_010_000 is 10_100
    assert with_fees(crypto(1_000_000), ON) == included


def test_fiat_takes_two_percent():
    assert protocol_include_fees(fiat(1_000_000), ON).amounts == (980_000, 20_000)
    result = with_fees(fiat(1_000_000), ON)
    assert result.amounts == (980_000, 20_000) and result.currency == "USD" and fees_included(result, ON)


def test_three_receivers_protocol_include_fails_where_with_fees_does_not():
    price = crypto(340, 3197, 2062)
    included = protocol_include_fees(price, ON)
    assert included.amounts == (337, 3166, 2042, 55) and included.total == 5600
    assert not fees_included(included, ON)  # 1% of 5600 is 56
    ours = with_fees(price, ON)
    assert ours.total == 5599 and fees_included(ours, ON)
    assert ours.amounts == (337, 3165, 2042, 55)  # largest remainders of 336.9, 3165.3, 2041.8
    assert ours.receivers == (ALICE, BOB, CAROL, FEE)


def test_fee_rounding_to_zero_leaves_the_price_unchanged():
    price = crypto(99)
    assert protocol_include_fees(price, ON) == price == protocol_add_fees(price, ON) == with_fees(price, ON)


def test_protocol_include_rejected_on_99_99_1():
    included = protocol_include_fees(crypto(99, 99, 1), ON)
    assert included.amounts == (99, 99, 1, 1) and not fees_included(included, ON)  # total 200 wants 2
    ours = with_fees(crypto(99, 99, 1), ON)
    assert ours.total == 199 and fees_included(ours, ON) and ours.amounts[-1] == 1


def test_with_fees_is_idempotent_and_keeps_other_fields():
    price = crypto(340, 3197, 2062, token_address=CAROL, template_address=PRICER)
    once = with_fees(price, ON)
    assert with_fees(once, ON) == once
    assert (once.token_address, once.template_address, once.is_crypto) == (CAROL, PRICER, True)
    assert with_fees(price, OFF) == price


def test_governance_rate_change_breaks_an_existing_split():
    split = with_fees(crypto(1_000_000), ON)
    raised = FeeSchedule(fee_receiver=FEE, crypto_rate=250)
    assert not fees_included(split, raised)
    assert with_fees(crypto(1_000_000), raised).amounts == (975_000, 25_000)


def test_fee_receiver_that_is_also_a_seller():
    result = with_fees(crypto(1_000_000, receivers=[FEE]), ON)
    assert result.amounts == (990_000, 10_000) and result.receivers == (FEE, FEE) and fees_included(result, ON)


# ------------------------------------------------------------------------------------------ brute force


RATES = (100, 200, 250, 1, 37, 333, 999, 5_000, 9_999, 10_000)
POOL = [f"0x{random.Random(i).getrandbits(160):040x}" for i in range(64)]


def random_price(rng: random.Random, n: int) -> PriceConfig:
    scale = rng.choice((10, 1_000, 10**6, 10**18, 10**30))
    amounts = [rng.randrange(0, scale) for _ in range(n)]
    if not any(amounts):
        amounts[0] = 1
    receivers = rng.sample(POOL, n)
    return PriceConfig(is_crypto=rng.random() < 0.8, amounts=amounts, receivers=receivers)


def test_brute_force_with_fees_always_passes_and_keeps_the_total():
    rng = random.Random(1505)
    include_failures = 0
    for _ in range(4_000):
        rate = rng.choice(RATES)
        schedule = FeeSchedule(fee_receiver=FEE, crypto_rate=rate, fiat_rate=rate)
        price = random_price(rng, rng.randint(1, 5))
        result = with_fees(price, schedule)
        fee = price.total * rate // 10_000
        assert fees_included(result, schedule), (price.amounts, rate)
        assert result.total == price.total
        assert all(a >= 0 for a in result.amounts)
        if fee:
            assert result.receivers == (*price.receivers, FEE) and result.amounts[-1] == fee
        else:
            assert result == price
        include_failures += not fees_included(protocol_include_fees(price, schedule), schedule)
    assert include_failures > 0  # the protocol's own helper does fail on some of these


def test_brute_force_small_three_receiver_prices_at_one_percent():
    failures = 0
    for a in range(0, 400, 7):
        for b in range(0, 400, 11):
            for c in (1, 50, 99, 250):
                price = crypto(a, b, c)
                assert fees_included(with_fees(price, ON), ON)
                failures += not fees_included(protocol_include_fees(price, ON), ON)
    assert failures > 0
