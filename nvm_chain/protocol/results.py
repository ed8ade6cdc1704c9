"""Results and errors of the Plans API (pure: frozen models and exception classes, no I/O).

Every write of :class:`nvm_chain.services.plans.PlansAPI` returns one of these frozen models; each carries the
mined transaction as a :class:`~nvm_chain.protocol.results.TxResult` (``.tx``) and the facts the caller needs
(plan id, agreement id, amounts paid, credits received or burned). IDs are ``int`` and dump to decimal
strings in JSON (``model_dump(mode="json")``), as the Nevermined API renders them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

from nvm_chain.protocol.models import (
    CoreModel,
    CreditsConfig,
    Id,
    PlanMetadata,
    PriceConfig,
    Uint256,
)

# ---------------------------------------------------------------------------------------------- errors


# ---------------------------------------------------------------------------------------------- results


class _NamedEvent(Protocol):
    @property
    def name(self) -> str: ...


class _MinedReceipt(Protocol):
    """What :meth:`TxResult.of` reads from a receipt (the chain layer's ``TxReceipt`` has it)."""

    @property
    def tx_hash(self) -> str: ...

    @property
    def block_number(self) -> int: ...

    @property
    def gas_used(self) -> int: ...

    @property
    def events(self) -> Sequence[_NamedEvent]: ...


class TxResult(CoreModel):
    """One mined transaction: hash, block, gas used and the names of the events it emitted (camelCase in JSON)."""

    tx_hash: str
    block_number: int
    gas_used: int
    events: tuple[str, ...] = ()

    @classmethod
    def of(cls, receipt: _MinedReceipt) -> TxResult:
        return cls(tx_hash=receipt.tx_hash, block_number=receipt.block_number, gas_used=receipt.gas_used,
                   events=tuple(e.name for e in receipt.events))


class _Result(CoreModel):

    tx: TxResult

    @property
    def tx_hash(self) -> str:
        """Hash of the (main) transaction, as payments-py's ``txHash``."""
        return self.tx.tx_hash


class PlanRegistration(_Result):
    """A registered plan. ``plan_metadata`` and ``access_limit`` have no on-chain home: they are returned
    as given (or derived) and are NOT stored on chain; register them through the REST API if needed."""

    plan_id: Id
    owner: str
    nonce: Uint256
    price_config: PriceConfig
    credits_config: CreditsConfig
    hooks: tuple[str, ...] = ()
    plan_metadata: PlanMetadata | None = None
    access_limit: Literal["credits", "time"]


class OrderResult(_Result):
    """An order through FixedPaymentTemplate or PayAsYouGoTemplate (directly or with an EIP-3009 authorization).

    ``payer`` paid ``amount_paid`` (Σ amounts × number_of_purchases) in ``token`` (zero address: native);
    ``sender`` signed the transaction (the relayer for gasless orders). ``approval_added`` is how much the
    ERC-20 allowance to PaymentsVault was raised by ``approve_tx`` (0 and None when no approval was needed).
    ``credits_received`` is the receiver's balance after minus before (0 for pay-as-you-go).
    """

    agreement_id: str
    plan_id: Id
    template: Literal["FixedPaymentTemplate", "PayAsYouGoTemplate"]
    payer: str
    sender: str
    credits_receiver: str | None
    number_of_purchases: int
    token: str
    amount_paid: Uint256
    approval_added: Uint256 = 0
    approve_tx: TxResult | None = None
    credits_received: int = 0
    seed: str


class MintResult(_Result):
    """Credits minted directly by the plan owner or a CREDITS_MINTER_ROLE holder.

    ``expires_at`` is the expiry timestamp of an expirable mint on NFT1155ExpirableCreditsV2 (None when the
    credits never expire or the contract does not report it)."""

    plan_id: Id
    credits_receiver: str
    credits_amount: Uint256
    credits_duration: Uint256 = 0
    expires_at: int | None = None
    credits_contract: str


class BurnResult(_Result):
    """Credits burned from ``holder`` by ``burner``: ``burned`` is what the contract actually took
    (``min_amount`` for fixed redemption, the request clamped to [min, max] otherwise)."""

    plan_id: Id
    holder: str
    burner: str
    requested: Uint256
    burned: Uint256
    credits_contract: str


class BurnerResult(_Result):
    """A plan owner's ``allowBurn`` (``allowed=True``) or ``revokeBurn`` for ``burner``."""

    plan_id: Id
    burner: str
    allowed: bool
    credits_contract: str
