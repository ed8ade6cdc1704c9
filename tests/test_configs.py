"""payments-py-named config helpers: every field per docs/rest.md#config-helpers."""

from __future__ import annotations

import inspect
from enum import Enum

import pytest

from nvm_chain.errors import ValidationError
from nvm_chain.protocol import configs
from nvm_chain.protocol.configs import (
    EURC_TOKEN_ADDRESS,
    ONE_DAY_DURATION,
    ONE_MONTH_DURATION,
    ONE_WEEK_DURATION,
    ONE_YEAR_DURATION,
    get_crypto_price_config,
    get_dynamic_credits_config,
    get_erc20_price_config,
    get_eurc_price_config,
    get_expirable_duration_config,
    get_fiat_price_config,
    get_fixed_credits_config,
    get_free_price_config,
    get_native_token_price_config,
    get_non_expirable_duration_config,
    get_pay_as_you_go_credits_config,
    get_pay_as_you_go_price_config,
    set_onchain_mirror,
    set_proof_required,
    set_redemption_type,
)
from nvm_chain.protocol.models import ZERO, CreditsConfig, PriceConfig, RedemptionType

ALICE = "0x71C7656EC7ab88b098defB751B7401B5f6d8976F"
TOKEN = "0x75faf114eafb1BDbe2F0316DF893fd58CE46AA4d"
PAYG = "0x5e852077b30099106Aa65B4d329FFF9b5C9a8e7C"
NFT = "0xF7Fe16718a779010E48859fb1c7Eae9fd540872F"


def fields(p: PriceConfig) -> tuple:
    return (p.token_address, p.amounts, p.receivers, p.contract_address, p.fee_controller,
            p.external_price_address, p.template_address, p.is_crypto, p.currency)


def test_durations():
    assert (ONE_DAY_DURATION, ONE_WEEK_DURATION, ONE_MONTH_DURATION, ONE_YEAR_DURATION) == (
        86_400, 604_800, 2_629_746, 31_557_600)


def test_signatures_follow_payments_py():
    def params(fn):
        return [(p.name, p.default) for p in inspect.signature(fn).parameters.values()]

    empty = inspect.Parameter.empty
    assert params(get_fiat_price_config) == [("amount", empty), ("receiver", empty), ("currency", "USD")]
    assert params(get_crypto_price_config) == [("amount", empty), ("receiver", empty), ("token_address", ZERO)]
    assert params(get_erc20_price_config) == [("amount", empty), ("token_address", empty), ("receiver", empty)]
    assert params(get_native_token_price_config) == [("amount", empty), ("receiver", empty)]
    assert params(get_pay_as_you_go_price_config) == [("amount", empty), ("receiver", empty),
                                                      ("token_address", ZERO), ("template_address", None)]
    assert params(get_fixed_credits_config) == [("credits_granted", empty), ("credits_per_request", 1)]
    assert params(get_dynamic_credits_config) == [("credits_granted", empty), ("min_credits_per_request", 1),
                                                  ("max_credits_per_request", 1)]
    assert params(get_expirable_duration_config) == [("duration_of_plan", empty)]
    assert params(set_redemption_type) == [("credits_config", empty), ("redemption_type", empty)]
    assert params(set_onchain_mirror) == [("credits_config", empty), ("onchain_mirror", True)]


# ------------------------------------------------------------------------------------------ prices


def test_fiat_price_config():
    assert fields(get_fiat_price_config(2_000_000, ALICE)) == (
        ZERO, (2_000_000,), (ALICE,), None, ZERO, ZERO, ZERO, False, "USD")
    assert get_fiat_price_config(1_000_000, ALICE, "EUR").currency == "EUR"

    class Currency(str, Enum):  # payments-py's enum
        EUR = "EUR"

    assert get_fiat_price_config(1_000_000, ALICE, Currency.EUR).currency == "EUR"


def test_crypto_erc20_native_and_eurc_price_configs():
    assert fields(get_crypto_price_config(5, ALICE)) == (ZERO, (5,), (ALICE,), None, ZERO, ZERO, ZERO, True, None)
    assert get_crypto_price_config(5, ALICE, TOKEN).token_address == TOKEN
    erc20 = get_erc20_price_config(1_000_000, TOKEN, ALICE)  # token before receiver
    assert fields(erc20) == (TOKEN, (1_000_000,), (ALICE,), None, ZERO, ZERO, ZERO, True, None)
    assert fields(get_native_token_price_config(10**16, ALICE)) == (
        ZERO, (10**16,), (ALICE,), None, ZERO, ZERO, ZERO, True, None)
    eurc = get_eurc_price_config(1_000_000, ALICE)
    assert (eurc.token_address, eurc.currency, eurc.is_crypto) == (EURC_TOKEN_ADDRESS, "EURC", True)


def test_free_price_config():
    assert fields(get_free_price_config()) == (ZERO, (), (), None, ZERO, ZERO, ZERO, True, None)
    assert get_free_price_config().kind == "free"


def test_pay_as_you_go_price_config_needs_the_template():
    p = get_pay_as_you_go_price_config(200_000, ALICE, TOKEN, PAYG.lower())
    assert fields(p) == (TOKEN, (200_000,), (ALICE,), None, ZERO, ZERO, PAYG, True, None)
    with pytest.raises(ValidationError, match="template_address .* is required"):
        get_pay_as_you_go_price_config(200_000, ALICE, TOKEN)


@pytest.mark.parametrize("helper", [
    lambda r: get_fiat_price_config(1, r), lambda r: get_crypto_price_config(1, r),
    lambda r: get_erc20_price_config(1, TOKEN, r), lambda r: get_native_token_price_config(1, r),
    lambda r: get_eurc_price_config(1, r), lambda r: get_pay_as_you_go_price_config(1, r, ZERO, PAYG),
])
def test_receiver_check(helper):
    for bad in ("0x1234", "alice.eth", None, ALICE[2:]):
        with pytest.raises(ValidationError, match="Receiver address .* is not a valid Ethereum address"):
            helper(bad)


def test_price_helpers_refuse_float_amounts_and_bad_tokens():
    with pytest.raises(ValidationError, match="amounts are integer base units"):
        get_erc20_price_config(1.5, TOKEN, ALICE)
    assert get_erc20_price_config("1000000", TOKEN, ALICE).amounts == (1_000_000,)
    with pytest.raises(ValidationError, match="token_address is not a valid address"):
        get_erc20_price_config(1, "USDC", ALICE)


# ------------------------------------------------------------------------------------------ credits


def credit_fields(c: CreditsConfig) -> tuple:
    return (c.is_redemption_amount_fixed, c.duration_secs, c.amount, c.min_amount, c.max_amount)


def assert_defaults(c: CreditsConfig) -> None:
    assert c.redemption_type is RedemptionType.ONLY_SUBSCRIBER
    # nvm-chain's helpers keep the credits on chain by default (payments-py's keep them in the backend)
    assert c.onchain_mirror is True and c.nft_address is None


@pytest.mark.parametrize(("config", "expected"), [
    (get_fixed_credits_config(100), (True, 0, 100, 1, 1)),
    (get_fixed_credits_config(100, 5), (True, 0, 100, 5, 5)),
    (get_dynamic_credits_config(100), (False, 0, 100, 1, 1)),
    (get_dynamic_credits_config(100, 2, 10), (False, 0, 100, 2, 10)),
    (get_expirable_duration_config(ONE_DAY_DURATION), (False, 86_400, 1, 1, 1)),
    (get_non_expirable_duration_config(), (False, 0, 1, 1, 1)),
    (get_pay_as_you_go_credits_config(), (False, 0, 1, 1, 1)),
])
def test_credits_helpers(config, expected):
    assert credit_fields(config) == expected
    assert_defaults(config)


def test_time_based():
    assert get_expirable_duration_config(ONE_WEEK_DURATION).is_time_based
    assert not get_non_expirable_duration_config().is_time_based
    assert get_non_expirable_duration_config() == get_expirable_duration_config(0)


def test_credits_helpers_validate():
    with pytest.raises(ValidationError, match=r"min_amount \(10\) must not exceed max_amount \(2\)"):
        get_dynamic_credits_config(100, 10, 2)
    with pytest.raises(ValidationError, match="amount must be an integer"):
        get_fixed_credits_config(1.5)
    with pytest.raises(ValidationError, match="duration_secs must not be negative"):
        get_expirable_duration_config(-1)


# ------------------------------------------------------------------------------------------ modifiers


def test_modifiers_return_new_configs_keeping_every_field():
    base = get_dynamic_credits_config(100, 2, 10).with_nft(NFT)
    owner = set_redemption_type(base, RedemptionType.ONLY_OWNER)
    assert owner.redemption_type is RedemptionType.ONLY_OWNER and base.redemption_type is RedemptionType.ONLY_SUBSCRIBER
    assert credit_fields(owner) == credit_fields(base) and owner.nft_address == NFT
    assert set_redemption_type(base, 3).redemption_type is RedemptionType.OWNER_OR_GLOBAL_ROLE
    with pytest.raises(ValidationError, match="redemption_type"):
        set_redemption_type(base, 9)

    offchain = set_onchain_mirror(base, False)
    assert offchain.onchain_mirror is False and base.onchain_mirror is True and offchain.nft_address == NFT
    assert set_onchain_mirror(offchain) == base


def test_set_proof_required_is_a_deprecated_alias():
    base = get_fixed_credits_config(10)
    with pytest.warns(DeprecationWarning, match="set_onchain_mirror"):
        result = set_proof_required(base, False)
    assert result == set_onchain_mirror(base, False) and result.onchain_mirror is False
    with pytest.warns(DeprecationWarning):
        assert set_proof_required(result) == base


def test_module_has_no_io():
    source = inspect.getsource(configs)
    assert "import httpx" not in source and "web3" not in source
