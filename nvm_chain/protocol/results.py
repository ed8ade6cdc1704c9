"""Results and errors of the Plans API (pure: frozen models and exception classes, no I/O).

Every write of :class:`nvm_chain.services.plans.PlansAPI` returns one of these frozen models; each carries the
mined transaction as a :class:`~nvm_chain.protocol.results.TxResult` (``.tx``) and the facts the caller needs
(plan id, agreement id, amounts paid, credits received or burned). IDs are ``int`` and dump to decimal
strings in JSON (``model_dump(mode="json")``), as the Nevermined API renders them.
"""

from __future__ import annotations

from typing import Annotated, Literal, Protocol

from pydantic import PlainSerializer

from nvm_chain.protocol.models import (
    Address,
    AgentAPIAttributes,
    AgentMetadata,
    CoreModel,
    CreditsConfig,
    Id,
    PlanMetadata,
    PriceConfig,
    Uint256,
)

#: a tuple of plan or agent ids, decimal strings in JSON
Ids = Annotated[tuple[int, ...], PlainSerializer(lambda v: [str(i) for i in v], when_used="json")]

# ---------------------------------------------------------------------------------------------- results


class _MinedReceipt(Protocol):
    """What :meth:`TxResult.of` reads from a receipt (the chain layer's ``TxReceipt`` has it)."""

    @property
    def tx_hash(self) -> str: ...

    @property
    def block_number(self) -> int: ...

    @property
    def gas_used(self) -> int: ...

    @property
    def event_names(self) -> tuple[str, ...]: ...


class TxResult(CoreModel):
    """One mined transaction: hash, block, gas used and the names of the events it emitted (camelCase in JSON)."""

    tx_hash: str
    block_number: int
    gas_used: int
    events: tuple[str, ...] = ()

    @classmethod
    def of(cls, receipt: _MinedReceipt) -> TxResult:
        """The result of a mined receipt."""
        return cls(tx_hash=receipt.tx_hash, block_number=receipt.block_number, gas_used=receipt.gas_used,
                   events=receipt.event_names)


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
    ``credits_received`` is the receiver's balance after minus before (0 for pay-as-you-go). ``success`` is
    payments-py's ``order_result['success']``: True on every returned order (a failed one raises instead).
    """

    success: bool = True

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
    """Credits burned from ``holder`` by ``burner``: ``requested`` is what the caller asked for, ``burned`` what
    the contract actually took (``min_amount`` for fixed redemption, the request clamped to [min, max]
    otherwise); ``clamped`` says they differ."""

    plan_id: Id
    holder: str
    burner: str
    requested: Uint256
    burned: Uint256
    credits_contract: str
    success: bool = True

    @property
    def clamped(self) -> bool:
        """True when the contract burned another amount than the one requested."""
        return self.burned != self.requested


class BurnerResult(_Result):
    """A plan owner's ``allowBurn`` (``allowed=True``) or ``revokeBurn`` for ``burner``."""

    plan_id: Id
    burner: str
    allowed: bool
    credits_contract: str


# ---------------------------------------------------------------------------------------------- agents


class AgentRegistration(CoreModel):
    """Result of ``AgentsAPI.register_agent`` (payments-py: ``result['agentId']``). ``agent_metadata`` and
    ``agent_api`` are returned as given (validated) and were not sent to the chain; ``url`` is what
    ``AssetsRegistry`` stores."""

    agent_id: Id
    url: str
    plans: Ids
    agent_metadata: AgentMetadata
    agent_api: AgentAPIAttributes
    tx: TxResult

    @property
    def tx_hash(self) -> str:
        return self.tx.tx_hash


class AgentAndPlanRegistration(CoreModel):
    """Result of ``AgentsAPI.register_agent_and_plan`` (payments-py: ``agentId``, ``planId``, ``txHash``).

    ``plan_created`` is False when the plan already existed (same config, creator and seed) and was reused.
    ``price_config``/``credits_config`` are the configs as registered (credits contract filled in).
    """

    agent_id: Id
    plan_id: Id
    plan_created: bool
    url: str
    agent_metadata: AgentMetadata
    agent_api: AgentAPIAttributes
    plan_metadata: PlanMetadata
    price_config: PriceConfig
    credits_config: CreditsConfig
    access_limit: Literal["credits", "time"]
    tx: TxResult

    @property
    def tx_hash(self) -> str:
        return self.tx.tx_hash


class AgentPlanChange(CoreModel):
    """Result of ``AgentsAPI.add_plan_to_agent`` / ``remove_plan_from_agent``.

    ``changed`` is False (and ``tx`` None) when adding a plan the agent already lists: the contract would do
    nothing, so no transaction is sent. ``success`` is payments-py's ``result['success']``.
    """

    agent_id: Id
    plan_id: Id
    changed: bool
    tx: TxResult | None
    success: bool = True

    @property
    def tx_hash(self) -> str | None:
        return self.tx.tx_hash if self.tx is not None else None


class AgentPlansReplacement(CoreModel):
    """Result of ``AgentsAPI.replace_plans_for_agent``: the plan list now stored (ascending)."""

    agent_id: Id
    plans: Ids
    tx: TxResult


class AgentOwnershipTransfer(CoreModel):
    """Result of ``AgentsAPI.transfer_agent_ownership`` (registry owner only; the ERC-721 stays put)."""

    agent_id: Id
    previous_owner: Address
    new_owner: Address
    tx: TxResult


# ---------------------------------------------------------------------------------------------- listings


class PlansPage(CoreModel):
    """One page of plan ids (payments-py ``{total, page, offset, plans}``): ``total`` counts every match,
    ``plans`` holds this page's ids in the requested order."""

    total: int
    page: int
    offset: int
    plans: Ids


class AgentsPage(CoreModel):
    """One page of agent ids (payments-py ``{total, page, offset, agents}``)."""

    total: int
    page: int
    offset: int
    agents: Ids
