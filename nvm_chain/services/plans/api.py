"""The Plans API: payments-py's ``PlansAPI`` names and argument order, done on chain with the user's own key
(services: build calls with nvm_chain.chain.contracts, send through ctx.sender).

    >>> plans = NvmChain.connect("embedded", private_key=key).plans
    >>> price = plans.get_erc20_price_config(1_000_000, token, builder)      # fee-inclusive
    >>> credits = plans.set_onchain_mirror(plans.get_fixed_credits_config(100))
    >>> plan = plans.register_credits_plan(PlanMetadata(name="Basic"), price, credits)
    >>> plans.order_plan(plan.plan_id).credits_received
    100

Differences from payments-py, all because there is no backend in between:

- Writes return frozen result models (:mod:`nvm_chain.protocol.results`) with ``plan_id``/``agreement_id``, the
  mined transactions and the amounts, instead of dicts.
- Plan metadata and ``access_limit`` have no on-chain home: they are accepted, checked and returned in the
  result, but not stored; ``organization_id`` and ``agent_request_id`` are accepted and ignored.
- Price helpers are instance methods that read the chain's current fee receiver and rates and return
  fee-inclusive splits (``amount`` is the gross price the buyer pays); a plan built by them is never rejected
  with ``NeverminedFeesNotIncluded``. Any other price is checked locally against the same rule and refused
  with :class:`~nvm_chain.protocol.fees.FeeError` before anything is signed.
- Credits configs keep payments-py's defaults, including ``onchain_mirror=False``: such a plan's orders mint
  nothing on chain (the backend keeps that ledger), so registering one warns with
  :class:`OffchainCreditsWarning`; use :meth:`PlansAPI.set_onchain_mirror`.
- Merged reads: with a REST fallback (``NvmChain.connect(..., rest=RestClient(...))``) ``get_plan`` returns a
  :class:`PlanWithMetadata` and ``get_plan_balance`` fills ``plan_name`` from the plan's REST document; when the
  API fails they return the on-chain data with a :class:`MetadataUnavailableWarning` instead of failing.
"""

from __future__ import annotations

import secrets
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import BaseModel

from nvm_chain.errors import (
    IdMismatchError,
    MetadataUnavailableWarning,
    OffchainCreditsWarning,
    ValidationError,
)
from nvm_chain.protocol import configs, ids
from nvm_chain.protocol.fees import FeeSchedule, require_fees_included, with_fees
from nvm_chain.protocol.models import (
    ZERO,
    CreditsConfig,
    Plan,
    PlanBalance,
    PlanMetadata,
    PriceConfig,
    to_address,
    to_uint256,
)
from nvm_chain.protocol.results import (
    BurnerResult,
    BurnResult,
    MintResult,
    OrderResult,
    PlanRegistration,
    TxResult,
)
from nvm_chain.services.plans.batch import balances, plan_balances, read_plans
from nvm_chain.services.plans.credits import burn, mint, set_burner
from nvm_chain.services.plans.orders import (
    order_fixed,
    order_fixed_with_authorization,
    order_payg,
    order_payg_with_authorization,
    orderable_plan,
    purchases,
)
from nvm_chain.services.plans.reads import (
    PlanWithMetadata,
    agents_listing_plan,
    credits_balance,
    fee_state,
    plans_registered_by,
    read_plan,
    rest_plan_document,
)

if TYPE_CHECKING:
    from nvm_chain.services.context import ServiceContext

AccessLimit = Literal["credits", "time"]
_Model = TypeVar("_Model", bound=BaseModel)


def _as_model(model: type[_Model], value: Any, what: str) -> _Model:
    """``value`` as ``model``: the model itself, a mapping, or another pydantic model (e.g. payments-py's)."""
    if isinstance(value, model):
        return value
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if isinstance(value, Mapping):
        return model.model_validate(dict(value))
    raise ValidationError(f"{what} must be a {model.__name__} (or a mapping of its fields), not {type(value).__name__}")


def _metadata(plan_metadata: Any) -> PlanMetadata | None:
    return None if plan_metadata is None else _as_model(PlanMetadata, plan_metadata, "plan_metadata")


def _access_limit(access_limit: Any, credits: CreditsConfig) -> AccessLimit:
    if access_limit is None:
        return "time" if credits.duration_secs > 0 else "credits"
    if access_limit not in ("credits", "time"):
        raise ValidationError(f"access_limit must be 'credits' or 'time', got {access_limit!r}")
    return access_limit


__all__ = ["PlansAPI", "MetadataUnavailableWarning", "PlanWithMetadata"]


class PlansAPI:
    """Plans on chain, acting as the client's account. Construct through ``NvmChain.plans``."""

    ONE_DAY_DURATION = configs.ONE_DAY_DURATION
    ONE_WEEK_DURATION = configs.ONE_WEEK_DURATION
    ONE_MONTH_DURATION = configs.ONE_MONTH_DURATION
    ONE_YEAR_DURATION = configs.ONE_YEAR_DURATION

    # credits configs and modifiers: pure, payments-py's static helpers
    get_fixed_credits_config = staticmethod(configs.get_fixed_credits_config)
    get_dynamic_credits_config = staticmethod(configs.get_dynamic_credits_config)
    get_expirable_duration_config = staticmethod(configs.get_expirable_duration_config)
    get_non_expirable_duration_config = staticmethod(configs.get_non_expirable_duration_config)
    get_pay_as_you_go_credits_config = staticmethod(configs.get_pay_as_you_go_credits_config)
    set_redemption_type = staticmethod(configs.set_redemption_type)
    set_onchain_mirror = staticmethod(configs.set_onchain_mirror)
    set_proof_required = staticmethod(configs.set_proof_required)

    def __init__(self, ctx: ServiceContext):
        self._ctx = ctx

    def __repr__(self) -> str:
        return f"PlansAPI({self._ctx!r})"

    # ------------------------------------------------------------------------------------------ fees

    def fee_schedule(self) -> FeeSchedule:
        """The fee receiver (``NVMConfig.getFeeReceiver``) and the default fee controller's rates
        (``getFeeRates``), read now. ``enabled`` is False when no fee receiver is set.

        Raises:
            ContractRevertError: a read reverted (e.g. a wrong address book).
        """
        return fee_state(self._ctx)[0]

    def prepare_plan(self, price_config: Any, credits_config: Any) -> tuple[PriceConfig, CreditsConfig]:
        """The configs exactly as they will be registered: ``credits.nft_address`` filled from the address
        book when None (NFT1155ExpirableCreditsV2 for ``duration_secs > 0``, else NFT1155Credits), and the fee
        rule checked against the chain's current :meth:`fee_schedule` (plans with a custom fee controller are
        left to the chain). Sends nothing.

        Raises:
            ValidationError: malformed configs, or a time plan on the non-expirable NFT1155Credits (every
                order would revert).
            FeeError: the price does not carry the exact Nevermined fee (names the expected fee).
        """
        price = _as_model(PriceConfig, price_config, "price_config")
        credits = _as_model(CreditsConfig, credits_config, "credits_config")
        book = self._ctx.book
        if credits.nft_address is None:
            kind = "NFT1155ExpirableCreditsV2" if credits.duration_secs > 0 else "NFT1155Credits"
            credits = credits.with_nft(book[kind])
        elif credits.duration_secs > 0 and credits.nft_address == book.contracts.get("NFT1155Credits"):
            raise ValidationError(
                "a time plan (duration_secs > 0) cannot keep its credits in NFT1155Credits, which cannot mint "
                "expiring credits (every order would revert): use NFT1155ExpirableCreditsV2 or leave nft_address unset")
        schedule, default_controller = fee_state(self._ctx)
        if price.fee_controller in (ZERO, default_controller):
            require_fees_included(price, schedule)
        return price, credits

    # ------------------------------------------------------------------------------------------ price helpers

    def _inclusive(self, price: PriceConfig) -> PriceConfig:
        return with_fees(price, self.fee_schedule())

    def get_erc20_price_config(self, amount: int, token_address: str, receiver: str) -> PriceConfig:
        """An ERC-20 price of gross ``amount`` (what the buyer pays), fee split included.

        Raises:
            ValidationError: bad amount or addresses.
        """
        return self._inclusive(configs.get_erc20_price_config(amount, token_address, receiver))

    def get_native_token_price_config(self, amount: int, receiver: str) -> PriceConfig:
        """A native-token price of gross ``amount`` wei, fee split included.

        Raises:
            ValidationError: bad amount or receiver.
        """
        return self._inclusive(configs.get_native_token_price_config(amount, receiver))

    def get_crypto_price_config(self, amount: int, receiver: str, token_address: str = ZERO) -> PriceConfig:
        """A crypto price (zero ``token_address``: native) of gross ``amount``, fee split included.

        Raises:
            ValidationError: bad amount or addresses.
        """
        return self._inclusive(configs.get_crypto_price_config(amount, receiver, token_address))

    def get_eurc_price_config(self, amount: int, receiver: str,
                              eurc_address: str = configs.EURC_TOKEN_ADDRESS) -> PriceConfig:
        """A EURC price of gross ``amount``, fee split included.

        Raises:
            ValidationError: bad amount or addresses.
        """
        return self._inclusive(configs.get_eurc_price_config(amount, receiver, eurc_address))

    def get_fiat_price_config(self, amount: int, receiver: str, currency: str = "USD") -> PriceConfig:
        """A fiat price of gross ``amount`` (6-decimal units), fiat fee split included.

        Raises:
            ValidationError: bad amount or receiver.
        """
        return self._inclusive(configs.get_fiat_price_config(amount, receiver, currency))

    def get_free_price_config(self) -> PriceConfig:
        """A free crypto price (no amounts, so no fee)."""
        return configs.get_free_price_config()

    def get_pay_as_you_go_price_config(self, amount: int, receiver: str, token_address: str = ZERO) -> PriceConfig:
        """A pay-as-you-go price of gross ``amount`` per request through this deployment's PayAsYouGoTemplate,
        fee split included.

        Raises:
            ValidationError: bad amount or addresses.
            ConfigurationError: the address book has no PayAsYouGoTemplate.
        """
        template = self._ctx.book["PayAsYouGoTemplate"]
        return self._inclusive(configs.get_pay_as_you_go_price_config(amount, receiver, token_address, template))

    # ------------------------------------------------------------------------------------------ registration

    def register_plan(self, plan_metadata: Any, price_config: Any, credits_config: Any, nonce: int | None = None,
                      access_limit: AccessLimit | None = None, organization_id: str | None = None) -> PlanRegistration:
        """Register a plan with ``AssetsRegistry.createPlan``; the client's account becomes its owner.

        The plan id is computed offline (``ids.plan_id``) before sending and checked against the
        ``PlanRegistered`` event. ``nonce`` defaults to a random 128-bit number. ``plan_metadata`` and
        ``access_limit`` (default: "time" when ``duration_secs > 0``, else "credits") are returned in the
        result but NOT stored on chain (use the REST API for metadata); ``organization_id`` is ignored.

        Raises:
            ValidationError: bad configs, metadata, nonce or access_limit (nothing sent).
            FeeError: the price does not carry the Nevermined fee (nothing sent).
            ConfigurationError: read-only ctx.
            ContractRevertError: the registry refused it (e.g. ``PlanAlreadyRegistered``; nothing sent).
            IdMismatchError: the emitted plan id differs from the computed one (the tx was mined).
        """
        return self._register(plan_metadata, price_config, credits_config, nonce, access_limit)

    def _register(self, plan_metadata: Any, price_config: Any, credits_config: Any, nonce: Any, access_limit: Any,
                  hooks: tuple[str, ...] = (), kind: str | None = None) -> PlanRegistration:
        owner = self._ctx.address
        metadata = _metadata(plan_metadata)
        nonce = secrets.randbits(128) if nonce is None else to_uint256(nonce, "nonce")
        price, credits = _as_model(PriceConfig, price_config, "price_config"), \
            _as_model(CreditsConfig, credits_config, "credits_config")
        if kind == "credits" and credits.duration_secs != 0:
            raise ValidationError(f"a credits plan needs duration_secs 0 (got {credits.duration_secs}): "
                                  "use register_time_plan for expiring access")
        if kind == "time" and credits.duration_secs == 0:
            raise ValidationError("a time plan needs duration_secs > 0: use get_expirable_duration_config(seconds), "
                                  "or register_credits_plan for credits that never expire")
        limit = _access_limit(access_limit, credits)
        if hooks and metadata is not None:
            metadata = metadata.replace(is_trial_plan=True)
        price, credits = self.prepare_plan(price, credits)
        if not credits.onchain_mirror and credits.amount > 0 and \
                price.template_address != self._ctx.book.contracts.get("PayAsYouGoTemplate"):
            warnings.warn("credits_config.onchain_mirror is False: orders of this plan will mint no credits on "
                          "chain (use set_onchain_mirror(credits_config))", OffchainCreditsWarning, stacklevel=3)
        hooks = tuple(sorted(hooks, key=lambda a: int(a, 16)))  # the registry wants them strictly ascending
        plan_id = ids.plan_id(price.as_tuple(), credits.as_tuple(), owner, nonce)
        registry = self._ctx.contracts.AssetsRegistry
        if hooks:
            request = registry.tx("createPlanWithHooks", price.as_tuple(), credits.as_tuple(), list(hooks), nonce)
        else:
            request = registry.tx("createPlan", price.as_tuple(), credits.as_tuple(), nonce)
        receipt = self._ctx.send(request)
        emitted = [e.args["planId"] for e in receipt.events_named("PlanRegistered")]
        if emitted != [plan_id]:
            raise IdMismatchError("planId", str(plan_id), ", ".join(map(str, emitted)) or "none", receipt.tx_hash)
        return PlanRegistration(plan_id=plan_id, owner=owner, nonce=nonce, price_config=price, credits_config=credits,
                                hooks=hooks, plan_metadata=metadata, access_limit=limit, tx=TxResult.of(receipt))

    def register_credits_plan(self, plan_metadata: Any, price_config: Any, credits_config: Any,
                              nonce: int | None = None, organization_id: str | None = None) -> PlanRegistration:
        """Register a credits plan: credits that never expire (``duration_secs == 0``, min ≤ max).

        Raises:
            ValidationError: ``duration_secs > 0`` or min > max; otherwise as :meth:`register_plan`.
        """
        return self._register(plan_metadata, price_config, credits_config, nonce, "credits", kind="credits")

    def register_time_plan(self, plan_metadata: Any, price_config: Any, credits_config: Any,
                           nonce: int | None = None, organization_id: str | None = None) -> PlanRegistration:
        """Register a time plan: credits that expire ``duration_secs`` (> 0) after each order.

        Raises:
            ValidationError: ``duration_secs == 0``; otherwise as :meth:`register_plan`.
        """
        return self._register(plan_metadata, price_config, credits_config, nonce, "time", kind="time")

    def register_credits_trial_plan(self, plan_metadata: Any, price_config: Any, credits_config: Any,
                                    nonce: int | None = None, organization_id: str | None = None) -> PlanRegistration:
        """A credits plan each account may order only once (``createPlanWithHooks`` with OneTimeCreatorHook);
        the returned metadata has ``is_trial_plan=True`` (the argument is not mutated).

        Raises:
            as :meth:`register_credits_plan`.
        """
        return self._register(plan_metadata, price_config, credits_config, nonce, "credits",
                              hooks=(self._ctx.book["OneTimeCreatorHook"],), kind="credits")

    def register_time_trial_plan(self, plan_metadata: Any, price_config: Any, credits_config: Any,
                                 nonce: int | None = None, organization_id: str | None = None) -> PlanRegistration:
        """A time plan each account may order only once (OneTimeCreatorHook).

        Raises:
            as :meth:`register_time_plan`.
        """
        return self._register(plan_metadata, price_config, credits_config, nonce, "time",
                              hooks=(self._ctx.book["OneTimeCreatorHook"],), kind="time")

    def register_pay_as_you_go_plan(self, plan_metadata: Any, price_config: Any, credits_config: Any = None,
                                    nonce: int | None = None, organization_id: str | None = None) -> PlanRegistration:
        """Register a pay-as-you-go plan (template PayAsYouGoTemplate, filled in when the price has none;
        ``credits_config`` defaults to :meth:`get_pay_as_you_go_credits_config`).

        Raises:
            ValidationError: the price names another template; otherwise as :meth:`register_plan`.
        """
        template = self._ctx.book["PayAsYouGoTemplate"]
        price = _as_model(PriceConfig, price_config, "price_config")
        if price.template_address == ZERO:
            price = price.replace(template_address=template)
        elif price.template_address != template:
            raise ValidationError(f"a pay-as-you-go plan must use PayAsYouGoTemplate {template}, "
                                  f"not {price.template_address}")
        credits = configs.get_pay_as_you_go_credits_config() if credits_config is None else credits_config
        return self._register(plan_metadata, price, credits, nonce, None)

    # ------------------------------------------------------------------------------------------ reads

    def get_plan(self, plan_id: Any) -> Plan:
        """The plan as stored on chain (``AssetsRegistry.getPlan``) with its hooks (``getPlanHooks``).

        With a REST fallback (``client.rest``) the result is a :class:`PlanWithMetadata` (a :class:`Plan`)
        whose ``metadata`` is the plan's REST document (``GET /api/v1/protocol/plans/{id}``, public); when
        that fetch fails the on-chain plan comes back with ``metadata=None`` and a
        :class:`MetadataUnavailableWarning`, never an error. Without ``client.rest`` nothing is sent to REST.

        Raises:
            ValidationError: ``plan_id`` is not an id (int, decimal or 0x-hex string).
            PlanNotFoundError: no such plan on chain (a LookupError; REST is not consulted).
        """
        plan = read_plan(self._ctx, plan_id)
        if self._ctx.rest is None:
            return plan
        return PlanWithMetadata.merge(plan, rest_plan_document(self._ctx, plan.plan_id))

    def get_plan_balance(self, plan_id: Any, account_address: str | None = None) -> PlanBalance:
        """Credits ``account_address`` (default: the client's account) holds in the plan, read from the plan's
        credits contract (expired credits excluded for time plans).

        ``plan_name`` comes from the plan's REST document when the client has a REST fallback (``client.rest``;
        ``metadata.main.name``, else the document's ``name``); otherwise, or when the API fails (a
        :class:`MetadataUnavailableWarning`, never an error), it is "". The balance itself is always on-chain.

        Raises:
            ValidationError: bad id or address.
            PlanNotFoundError: no such plan.
            ConfigurationError: no address given on a read-only ctx.
        """
        holder = self._ctx.address if account_address is None else to_address(account_address, "account_address")
        plan = read_plan(self._ctx, plan_id, hooks=False)
        balance = credits_balance(self._ctx, plan, holder)
        document = rest_plan_document(self._ctx, plan.plan_id)
        name = (document.name if document is not None else None) or ""
        return PlanBalance.from_plan(plan, holder, balance, plan_name=name)

    def get_plans(self, plan_ids: Any) -> list[Plan]:
        """Many plans with their hooks, in the order given, read through Multicall3: one request per chunk of
        plans instead of two per plan. With a REST fallback each comes back as in :meth:`get_plan`.

        Raises:
            ValidationError: an id is malformed.
            PlanNotFoundError: one of the plans does not exist.
        """
        plans = read_plans(self._ctx, plan_ids)
        if self._ctx.rest is None:
            return plans
        return [PlanWithMetadata.merge(p, rest_plan_document(self._ctx, p.plan_id)) for p in plans]

    def get_plan_balances(self, plan_id: Any, holders: Any) -> list[PlanBalance]:
        """:meth:`get_plan_balance` for many holders, in order: the plan is read once, then one
        ``balanceOfBatch`` per chunk of holders (expired credits excluded for time plans).

        Raises:
            ValidationError: bad id or address.
            PlanNotFoundError: no such plan.
        """
        return plan_balances(self._ctx, plan_id, holders)

    def get_balances(self, pairs: Any) -> list[PlanBalance]:
        """The balance of each ``(plan_id, holder)`` pair, in order, across many plans: the distinct plans in one
        multicall per chunk, then one ``balanceOfBatch`` per credits contract and chunk of holders.

        Raises:
            ValidationError: bad id or address.
            PlanNotFoundError: one of the plans does not exist.
        """
        return balances(self._ctx, pairs)

    def get_plans_registered_by(self, creator: str, from_block: int = 0, to_block: int | None = None) -> list[int]:
        """Ids of the plans ``creator`` registered in blocks [from_block, to_block] (default: up to the latest),
        from ``PlanRegistered`` logs, oldest first.

        Raises:
            ValidationError: bad address or block numbers.
        """
        return plans_registered_by(self._ctx, creator, from_block, to_block)

    def get_agents_associated_to_plan(self, plan_id: Any, from_block: int = 0,
                                      to_block: int | None = None) -> list[int]:
        """Ids of the agents whose plan list contains ``plan_id`` now: agent events replayed from the logs of
        [from_block, to_block], each candidate confirmed with ``AssetsRegistry.getAgent``.

        Raises:
            ValidationError: bad id or block numbers.
        """
        return agents_listing_plan(self._ctx, plan_id, from_block, to_block)

    # ------------------------------------------------------------------------------------------ orders

    def order_quote(self, plan_id: Any, number_of_purchases: Any = 1,
                    template: str = "FixedPaymentTemplate") -> tuple[Plan, int]:
        """The plan and what ordering it ``number_of_purchases`` times through ``template`` costs (its total price,
        in base units of its token), so a caller can confirm the spend first. Sends nothing.

        Raises:
            PlanNotFoundError: no such plan.
            ValidationError: the plan cannot be ordered through ``template`` (fiat, external price, or the other
                template), or ``number_of_purchases`` is below 1.
        """
        n = purchases(number_of_purchases)
        plan = orderable_plan(self._ctx, plan_id, template)
        return plan, plan.price.total * n

    def order_plan(self, plan_id: Any, number_of_purchases: int = 1, credits_receiver: str | None = None,
                   seed: Any = None) -> OrderResult:
        """Buy ``number_of_purchases`` of a crypto plan through FixedPaymentTemplate, paying from the client's
        account; credits go to ``credits_receiver`` (default: the buyer).

        Native plans send exactly Σ amounts × n as value; ERC-20 plans approve PaymentsVault for exactly the
        missing allowance (never more than the total) after a simulation of the order; free plans pay nothing.
        ``seed`` (default: fresh random) makes the agreement id, which is computed offline and checked against
        ``AgreementRegistered``.

        Raises:
            ValidationError: bad arguments; a fiat plan (ordered off-chain: payments-py ``order_fiat_plan``); a
                pay-as-you-go plan (use :meth:`order_pay_as_you_go_plan`); an external-price plan.
            PlanNotFoundError: no such plan.
            InsufficientBalanceError: the buyer cannot pay (nothing signed).
            ContractRevertError: the order would revert, e.g. ``CreatorAlreadyCreatedAgreement`` on a used trial
                or ``PlanWithInvalidTemplate`` (decoded; nothing sent, no approval left behind).
            IdMismatchError: the emitted agreement id differs (the tx was mined).
        """
        return order_fixed(self._ctx, plan_id, number_of_purchases, credits_receiver, seed)

    def order_pay_as_you_go_plan(self, plan_id: Any, seed: Any = None) -> OrderResult:
        """Pay one request of a pay-as-you-go plan through PayAsYouGoTemplate (no credits are minted; the
        receivers are paid in the same transaction). Same payment and approval rules as :meth:`order_plan`.

        Raises:
            ValidationError: bad arguments, or the plan is not a pay-as-you-go plan (use :meth:`order_plan`).
            PlanNotFoundError, InsufficientBalanceError, ContractRevertError, IdMismatchError: as order_plan.
        """
        return order_payg(self._ctx, plan_id, seed)

    def order_plan_with_authorization(self, plan_id: Any, buyer_signer: Any, number_of_purchases: int = 1,
                                      credits_receiver: str | None = None, valid_for: int = 3600,
                                      seed: Any = None) -> OrderResult:
        """A gasless ERC-20 order: ``buyer_signer`` (a LocalSigner or key) signs an EIP-3009
        ``ReceiveWithAuthorization`` for Σ amounts × n to PaymentsVault on the token's own EIP-712 domain
        (nonce = the agreement id, valid until latest block time + ``valid_for``); the client's account relays
        ``FixedPaymentTemplate.orderWithAuthorization`` and pays the gas. No approval is needed.

        Raises:
            ValidationError: bad arguments; a native-token or free plan (nothing to authorize); fiat, PAYG or
                external-price plans.
            PlanNotFoundError: no such plan.
            InsufficientBalanceError: the buyer cannot pay (nothing signed).
            ContractRevertError: the order would revert (decoded; nothing sent).
            IdMismatchError: the emitted agreement id differs (the tx was mined).
        """
        return order_fixed_with_authorization(self._ctx, plan_id, buyer_signer, number_of_purchases,
                                              credits_receiver, valid_for, seed)

    def order_pay_as_you_go_plan_with_authorization(self, plan_id: Any, buyer_signer: Any, valid_for: int = 3600,
                                                    seed: Any = None) -> OrderResult:
        """The gasless variant of :meth:`order_pay_as_you_go_plan` (``PayAsYouGoTemplate.orderWithAuthorization``).

        Raises:
            as :meth:`order_plan_with_authorization` (a non-PAYG plan is refused, use order_plan_with_authorization).
        """
        return order_payg_with_authorization(self._ctx, plan_id, buyer_signer, valid_for, seed)

    # ------------------------------------------------------------------------------------------ credits

    def mint_plan_credits(self, plan_id: Any, credits_amount: int, credits_receiver: str) -> MintResult:
        """Mint ``credits_amount`` non-expiring credits of the plan to ``credits_receiver`` (4-argument
        ``mint`` on the plan's credits contract; the plan owner or a CREDITS_MINTER_ROLE holder).

        Raises:
            ValidationError: bad arguments (amount must be ≥ 1).
            PlanNotFoundError: no such plan.
            ContractRevertError: ``InvalidRole(sender, CREDITS_MINTER_ROLE)`` for anyone else (nothing sent).
        """
        return mint(self._ctx, plan_id, credits_amount, credits_receiver)

    def mint_plan_expirable(self, plan_id: Any, credits_amount: int, credits_receiver: str,
                            credits_duration: int = 0) -> MintResult:
        """Mint credits that expire ``credits_duration`` seconds from now (0: never), with the 5-argument
        ``mint`` of the plan's expirable credits contract.

        Raises:
            ValidationError: bad arguments, or the plan's credits contract is not expirable.
            PlanNotFoundError, ContractRevertError: as :meth:`mint_plan_credits`.
        """
        return mint(self._ctx, plan_id, credits_amount, credits_receiver, credits_duration)

    def burn_credits(self, plan_id: Any, credits_amount: int | str) -> BurnResult:
        """Burn the client's own credits of the plan (``burned`` reports what the contract took: ``min_amount``
        for fixed redemption, the request clamped to [min, max] otherwise).

        Raises:
            ValidationError: bad arguments.
            PlanNotFoundError: no such plan.
            RedemptionRefused: the account holds fewer credits than the burn takes and the plan's redemption
                type does not otherwise allow it (nothing sent).
        """
        return burn(self._ctx, plan_id, self._ctx.address, credits_amount)

    def redeem_credits(self, plan_id: Any, redeem_from: str, credits_amount: int | str, *legacy: Any,
                       agent_request_id: str | None = None) -> BurnResult:
        """Burn ``credits_amount`` credits of ``redeem_from`` as the client's account (an agent or the plan
        owner), after checking the plan's redemption rule with reads: the holder itself, the plan owner
        (ONLY_OWNER, OWNER_OR_GLOBAL_ROLE), a CREDITS_BURNER_ROLE holder (ONLY_GLOBAL_ROLE,
        OWNER_OR_GLOBAL_ROLE) or an allowed burner (ONLY_PLAN_ROLE); ONLY_SUBSCRIBER lets only the holder burn.

        payments-py's order ``redeem_credits(agent_request_id, plan_id, redeem_from, credits_amount)`` (four
        positional arguments) is accepted too; ``agent_request_id`` is ignored on chain (it only tags the
        request in the Nevermined backend).

        Raises:
            ValidationError: bad arguments.
            PlanNotFoundError: no such plan.
            RedemptionRefused: the rule does not let the caller burn; the message says why (nothing sent).
            ContractRevertError: e.g. ``ERC1155InsufficientBalance`` when the holder has too few credits.
        """
        holder: Any = redeem_from
        amount: Any = credits_amount
        if legacy:
            if len(legacy) != 1 or agent_request_id is not None:
                raise TypeError("redeem_credits takes (plan_id, redeem_from, credits_amount) or payments-py's "
                                "(agent_request_id, plan_id, redeem_from, credits_amount)")
            plan_id, holder, amount = redeem_from, credits_amount, legacy[0]
        return burn(self._ctx, plan_id, holder, amount)

    def allow_burner(self, plan_id: Any, burner: str) -> BurnerResult:
        """Let ``burner`` redeem anyone's credits of the plan (``allowBurn``; used by ONLY_PLAN_ROLE plans).

        Raises:
            ValidationError: bad arguments.
            PlanNotFoundError: no such plan.
            ContractRevertError: ``OnlyOwnerCanAllowBurn`` unless the client owns the plan (nothing sent).
        """
        return set_burner(self._ctx, plan_id, burner, True)

    def revoke_burner(self, plan_id: Any, burner: str) -> BurnerResult:
        """Withdraw a permission given with :meth:`allow_burner` (``revokeBurn``).

        Raises:
            as :meth:`allow_burner`.
        """
        return set_burner(self._ctx, plan_id, burner, False)
