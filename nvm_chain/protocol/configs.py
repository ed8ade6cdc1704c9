"""Price and credits config helpers with payments-py's names, arguments and defaults (pure: no I/O).

Each returns a :class:`~nvm_chain.protocol.models.PriceConfig` or a
:class:`~nvm_chain.protocol.models.CreditsConfig`. Like payments-py, prices carry exactly ``[amount]`` / ``[receiver]``
with no fee entry: registration turns such a price into the protocol's fee-inclusive split of the same total
(:func:`nvm_chain.protocol.fees.complete_fees`). Credits default to ``ONLY_SUBSCRIBER`` and no ``nft_address`` (the
client fills in the credits contract from the address book).

One deliberate difference: the credits helpers default to ``onchain_mirror=True`` (payments-py: False). Without a
backend in between, a plan whose credits are kept off chain takes the buyer's payment and mints nothing the buyer
can see on chain; ``set_onchain_mirror(config, False)`` builds payments-py's off-chain plan explicitly. Bad input
raises :class:`nvm_chain.errors.ValidationError`.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

from nvm_chain.errors import ValidationError
from nvm_chain.protocol.models import ZERO, CreditsConfig, PriceConfig, RedemptionType

ONE_DAY_DURATION = 86_400
ONE_WEEK_DURATION = 604_800
ONE_MONTH_DURATION = 2_629_746
ONE_YEAR_DURATION = 31_557_600

#: EURC on Base mainnet and on Base Sepolia (payments-py constants)
EURC_TOKEN_ADDRESS = "0x60a3E35Cc302bFA44Cb288Bc5a4F316Fdb1adb42"
EURC_TOKEN_ADDRESS_TESTNET = "0x808456652fdb597867f38412077A9182bf77359F"


_HEX_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


def _receiver(receiver: Any) -> str:
    if not isinstance(receiver, str) or not _HEX_ADDRESS.fullmatch(receiver):
        raise ValidationError(f"Receiver address {receiver!r} is not a valid Ethereum address")
    return receiver


def _single(amount: Any, receiver: Any, **fields: Any) -> PriceConfig:
    return PriceConfig(amounts=(amount,), receivers=(_receiver(receiver),), **fields)


# ---------------------------------------------------------------------------------------------- prices


def get_fiat_price_config(amount: int, receiver: str, currency: str = "USD") -> PriceConfig:
    """A fiat (Stripe) price: ``amount`` in 6-decimal units (2_000_000 = 2.00) paid to ``receiver``."""
    return _single(amount, receiver, is_crypto=False, currency=str(getattr(currency, "value", currency)))


def get_crypto_price_config(amount: int, receiver: str, token_address: str = ZERO) -> PriceConfig:
    """A crypto price in ``token_address`` (zero address = the native token), in its smallest unit."""
    return _single(amount, receiver, is_crypto=True, token_address=token_address)


def get_erc20_price_config(amount: int, token_address: str, receiver: str) -> PriceConfig:
    """An ERC-20 price (note the argument order: token before receiver, as in payments-py)."""
    return get_crypto_price_config(amount, receiver, token_address)


def get_native_token_price_config(amount: int, receiver: str) -> PriceConfig:
    """A native-token (ETH) price in wei."""
    return get_crypto_price_config(amount, receiver, ZERO)


def get_eurc_price_config(amount: int, receiver: str, eurc_address: str = EURC_TOKEN_ADDRESS) -> PriceConfig:
    """A EURC price (6 decimals); pass :data:`EURC_TOKEN_ADDRESS_TESTNET` on Base Sepolia."""
    return _single(amount, receiver, is_crypto=True, token_address=eurc_address, currency="EURC")


def get_free_price_config() -> PriceConfig:
    """A free crypto price: no amounts, no receivers."""
    return PriceConfig(is_crypto=True)


def get_pay_as_you_go_price_config(amount: int, receiver: str, token_address: str = ZERO,
                                   template_address: str | None = None) -> PriceConfig:
    """A pay-as-you-go price, paid per request through ``template_address`` (the PayAsYouGoTemplate).

    Raises:
        ValidationError: ``template_address`` is missing (the client fills it in from the address book).
    """
    if template_address is None:
        raise ValidationError("template_address (the PayAsYouGoTemplate address) is required for pay-as-you-go")
    return _single(amount, receiver, is_crypto=True, token_address=token_address, template_address=template_address)


# ---------------------------------------------------------------------------------------------- credits


def _credits(fixed: bool, duration: Any, amount: Any, low: Any, high: Any) -> CreditsConfig:
    return CreditsConfig(is_redemption_amount_fixed=fixed, redemption_type=RedemptionType.ONLY_SUBSCRIBER,
                         onchain_mirror=True, duration_secs=duration, amount=amount, min_amount=low,
                         max_amount=high)


def get_fixed_credits_config(credits_granted: int, credits_per_request: int = 1) -> CreditsConfig:
    """``credits_granted`` credits per purchase; every request burns exactly ``credits_per_request``."""
    return _credits(True, 0, credits_granted, credits_per_request, credits_per_request)


def get_dynamic_credits_config(credits_granted: int, min_credits_per_request: int = 1,
                               max_credits_per_request: int = 1) -> CreditsConfig:
    """``credits_granted`` credits per purchase; a request burns between min and max (clamped)."""
    return _credits(False, 0, credits_granted, min_credits_per_request, max_credits_per_request)


def get_expirable_duration_config(duration_of_plan: int) -> CreditsConfig:
    """A time plan: access for ``duration_of_plan`` seconds (0 = never expires)."""
    return _credits(False, duration_of_plan, 1, 1, 1)


def get_non_expirable_duration_config() -> CreditsConfig:
    """A time plan that never expires (``get_expirable_duration_config(0)``)."""
    return get_expirable_duration_config(0)


def get_pay_as_you_go_credits_config() -> CreditsConfig:
    """Placeholder credits for pay-as-you-go plans (no credits are minted upfront)."""
    return _credits(False, 0, 1, 1, 1)


# ---------------------------------------------------------------------------------------------- modifiers


def set_redemption_type(credits_config: CreditsConfig, redemption_type: RedemptionType) -> CreditsConfig:
    """A copy with ``redemption_type`` replaced."""
    return credits_config.replace(redemption_type=redemption_type)


def set_onchain_mirror(credits_config: CreditsConfig, onchain_mirror: bool = True) -> CreditsConfig:
    """A copy with ``onchain_mirror`` replaced (True: orders mint the credits on chain; False: the Nevermined
    backend keeps the ledger, and orders mint nothing on chain)."""
    return credits_config.replace(onchain_mirror=onchain_mirror)


def set_proof_required(credits_config: CreditsConfig, proof_required: bool = True) -> CreditsConfig:
    """Deprecated alias of :func:`set_onchain_mirror` (payments-py renamed it in PR #176)."""
    warnings.warn("set_proof_required is deprecated; use set_onchain_mirror", DeprecationWarning, stacklevel=2)
    return set_onchain_mirror(credits_config, proof_required)
