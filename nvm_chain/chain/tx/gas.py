"""EIP-1559 fee policy (pure functions over block data)."""

from __future__ import annotations

from dataclasses import dataclass

from nvm_chain.errors import ValidationError

GWEI = 10**9


@dataclass(frozen=True)
class Fees:
    """The two EIP-1559 fee fields of a type-2 transaction, in wei."""

    max_fee_per_gas: int
    max_priority_fee_per_gas: int


def eip1559_fees(
    base_fee: int,
    *,
    priority_fee: int = GWEI // 1000,
    headroom_blocks: int = 3,
    max_fee_ceiling: int | None = None,
) -> Fees:
    """Fees that stay valid while the base fee rises for ``headroom_blocks`` full blocks (+12.5% each).

    Raises:
        ValidationError: the resulting max fee exceeds ``max_fee_ceiling``.
    """
    grown = base_fee
    for _ in range(headroom_blocks):
        grown += -(-grown // 8)  # ceil(grown * 1.125)
    max_fee = grown + priority_fee
    if max_fee_ceiling is not None and max_fee > max_fee_ceiling:
        raise ValidationError(
            f"max fee {max_fee} wei/gas (base fee {base_fee}) exceeds the ceiling of {max_fee_ceiling} wei/gas"
        )
    return Fees(max_fee, priority_fee)
