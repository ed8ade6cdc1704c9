"""The Nevermined fee rule and fee-inclusive price splits (pure: no I/O; docs/protocol.md#fees).

``createPlan`` (and every Fixed/PAYG order) requires ``AssetsRegistry.areNeverminedFeesIncluded``: when a fee
receiver is set and the fee on the plan's gross total is non-zero, the LAST entry paid to the fee receiver must
equal ``floor(gross * rate / denominator)`` exactly, where gross is Σ amounts including that entry.

:class:`FeeSchedule` models the default fee controller (``ProtocolStandardFees``) and ``NVMConfig``'s fee
receiver; a plan with a custom ``fee_controller`` needs that controller's rates instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from nvm_chain.errors import FeeError, ValidationError
from nvm_chain.protocol.models import ZERO, PriceConfig, to_address, to_uint256


@dataclass(frozen=True)
class FeeSchedule:
    """Fee receiver and rates: crypto 1%, fiat 2%, external-price 0% by default (rate / denominator).

    Raises:
        ValidationError: a malformed receiver, a non-integer or negative rate, a rate above the denominator,
            or a zero denominator.
    """

    fee_receiver: str = ZERO
    crypto_rate: int = 100
    fiat_rate: int = 200
    denominator: int = 10_000

    def __post_init__(self) -> None:
        object.__setattr__(self, "fee_receiver", to_address(self.fee_receiver, "fee_receiver"))
        den = to_uint256(self.denominator, "denominator")
        if den == 0:
            raise ValidationError("denominator must be positive")
        object.__setattr__(self, "denominator", den)
        for name in ("crypto_rate", "fiat_rate"):
            rate = to_uint256(getattr(self, name), name)
            if rate > den:
                raise ValidationError(f"{name} ({rate}) must not exceed the denominator ({den})")
            object.__setattr__(self, name, rate)

    @property
    def enabled(self) -> bool:
        """False when no fee receiver is set (a fresh local deployment): no fee is ever required."""
        return self.fee_receiver != ZERO

    def rate_for(self, price: PriceConfig) -> int:
        """ProtocolStandardFees' rate: 0 for an external (contract) price, crypto rate for crypto, else fiat."""
        if price.is_crypto:
            return 0 if price.external_price_address != ZERO else self.crypto_rate
        return self.fiat_rate

    def fee_for(self, price: PriceConfig) -> int:
        """The fee the protocol requires on ``price``'s gross total (0 when no fee receiver is set)."""
        if not self.enabled:
            return 0
        return price.total * self.rate_for(price) // self.denominator


def _fee_entry(price: PriceConfig, receiver: str) -> int | None:
    """Amount of the LAST entry paid to ``receiver`` (None if there is none)."""
    found = None
    for amount, to in zip(price.amounts, price.receivers):
        if to.lower() == receiver.lower():
            found = amount
    return found


def fees_included(price: PriceConfig, schedule: FeeSchedule) -> bool:
    """``areNeverminedFeesIncluded`` exactly: True if the fee receiver is unset, the total or fee is 0, or the
    last entry paid to the fee receiver equals ``floor(total * rate / denominator)``."""
    fee = schedule.fee_for(price)
    return fee == 0 or _fee_entry(price, schedule.fee_receiver) == fee


def require_fees_included(price: PriceConfig, schedule: FeeSchedule) -> None:
    """Check the fee rule before signing.

    Raises:
        FeeError: naming the expected fee and the fee-receiver entry found (if any).
    """
    if fees_included(price, schedule):
        return
    fee, entry = schedule.fee_for(price), _fee_entry(price, schedule.fee_receiver)
    found = "no entry for it" if entry is None else f"its last entry is {entry}"
    raise FeeError(
        f"Nevermined fee not included: fee receiver {schedule.fee_receiver} must get exactly {fee} "
        f"({schedule.rate_for(price)}/{schedule.denominator} of the total {price.total}), but {found}; "
        "build the split with nvm_chain.protocol.fees.with_fees()"
    )


def _protocol_split(price: PriceConfig, schedule: FeeSchedule, deduct: bool) -> PriceConfig:
    fee = schedule.fee_for(price)
    if fee == 0:
        return price
    rate, den = schedule.rate_for(price), schedule.denominator
    amounts = [a - a * rate // den if deduct else a for a in price.amounts]
    return price.with_distribution([*amounts, fee], [*price.receivers, schedule.fee_receiver])


def protocol_include_fees(price: PriceConfig, schedule: FeeSchedule) -> PriceConfig:
    """The contract view ``includeFeesInPaymentsDistribution``, flaws included: each amount loses
    ``floor(a * rate / den)`` and ``(fee_receiver, floor(total * rate / den))`` is appended. Its output can fail
    :func:`fees_included` (e.g. ``[340, 3197, 2062]`` at 1%)."""
    return _protocol_split(price, schedule, deduct=True)


def protocol_add_fees(price: PriceConfig, schedule: FeeSchedule) -> PriceConfig:
    """The contract view ``addFeesToPaymentsDistribution``: keeps the amounts and appends the fee on top. Its
    output is rejected whenever the fee on the larger total differs (e.g. ``[1_000_000]`` at 1%)."""
    return _protocol_split(price, schedule, deduct=False)


def complete_fees(price: PriceConfig, schedule: FeeSchedule) -> PriceConfig:
    """``price`` as a registration uses it: when it has no entry for the fee receiver at all (payments-py's
    helpers build ``[amount]``/``[receiver]``), the fee-inclusive split of :func:`with_fees` (the buyer pays the
    same total, as the backend does); otherwise unchanged, so a wrong fee entry is still refused by
    :func:`require_fees_included`."""
    if _fee_entry(price, schedule.fee_receiver) is None:
        return with_fees(price, schedule)
    return price


def with_fees(price: PriceConfig, schedule: FeeSchedule) -> PriceConfig:
    """Make ``price`` fee-inclusive without changing what the buyer pays; the result always passes
    :func:`fees_included`.

    Σ amounts is the gross price G. With ``fee = G * rate // den``, the net entries are scaled to sum to
    ``G - fee`` (each ``floor(a * (G - fee) / G)``, the leftover units one each to the entries with the
    largest fractional parts, earlier entries first on ties, so no receiver gains from the fee) and
    ``(fee_receiver, fee)`` is appended as the last entry. The price comes back unchanged when the fee is 0,
    no fee receiver is set, or the fee rule already holds (so calling this twice never charges twice).

    Why the protocol's own ``includeFeesInPaymentsDistribution`` can be rejected: it floors each receiver's
    deduction separately, and Σ floor(a_i·r) ≤ floor(Σ a_i·r), so its output total can exceed G; the fee the
    contract then recomputes on that larger total can be one unit more than the appended entry
    (``[340, 3197, 2062]`` → ``[337, 3166, 2042, 55]``: total 5600 wants 56). Here the total stays exactly G,
    so the recomputed fee is ``G * rate // den``, the very amount appended last.
    """
    fee = schedule.fee_for(price)
    if fee == 0 or fees_included(price, schedule):
        return price
    gross = price.total
    net = gross - fee
    amounts = [a * net // gross for a in price.amounts]
    by_fraction = sorted(range(len(amounts)), key=lambda i: (-(price.amounts[i] * net % gross), i))
    for i in by_fraction[: net - sum(amounts)]:
        amounts[i] += 1
    result = price.with_distribution([*amounts, fee], [*price.receivers, schedule.fee_receiver])
    assert result.total == gross and fees_included(result, schedule)
    return result
