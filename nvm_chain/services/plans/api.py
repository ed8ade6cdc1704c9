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
  with ``NeverminedFeesNotIncluded``. A price with no entry for the fee receiver (payments-py's helpers, the
  module helpers) is turned into the same fee-inclusive split at registration, so the buyer pays the advertised
  total, as the backend does; a price with a wrong fee entry is refused with
  :class:`~nvm_chain.protocol.fees.FeeError` before anything is signed.
- nvm-chain's credits helpers default to ``onchain_mirror=True`` (payments-py's to False). A plan registered with
  ``onchain_mirror=False`` warns with :class:`OffchainCreditsWarning`: its orders mint nothing on chain (the
  backend keeps that ledger). Ordering such a plan is refused before signing unless the REST fallback is
  configured or ``allow_offchain_credits=True`` is passed, and its ``get_plan_balance`` reads the backend's
  ledger (REST) or raises :class:`~nvm_chain.errors.OffchainCreditsError` instead of reporting 0.
- ``order_plan`` routes a pay-as-you-go plan to :meth:`PlansAPI.order_pay_as_you_go_plan` (as payments-py
  does); a fiat plan is refused with a pointer to :meth:`PlansAPI.order_fiat_plan`.
- Burns and redemptions report ``requested`` and ``burned`` (the contract clamps to the plan's per-request
  amount); ``strict=True`` refuses a burn that would be clamped (:class:`~nvm_chain.errors.ClampedAmountError`).
- Listings take payments-py's ``PaginationOptions`` and return ``{total, page, offset, plans|agents}`` pages.
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
    ClampedAmountError,
    ConfigurationError,
    IdMismatchError,
    MetadataUnavailableWarning,
    OffchainCreditsError,
    OffchainCreditsWarning,
    ValidationError,
)
from nvm_chain.protocol import configs, ids
from nvm_chain.protocol.fees import FeeSchedule, complete_fees, require_fees_included, with_fees
from nvm_chain.protocol.models import (
    ZERO,
    CreditsConfig,
    Plan,
    PlanBalance,
    PlanMetadata,
    PriceConfig,
    parse_id,
    to_address,
    to_uint256,
)
from nvm_chain.protocol.results import (
    AgentsPage,
    BurnerResult,
    BurnResult,
    MintResult,
    OrderResult,
    PlanRegistration,
    PlansPage,
    TxResult,
)
from nvm_chain.services.listing import paginate
from nvm_chain.services.plans.batch import balances, plan_balances, read_plans
from nvm_chain.services.plans.credits import burn, mint, set_burner
from nvm_chain.services.plans.orders import (
    FIXED,
    PAYG,
    is_pay_as_you_go,
    keeps_credits_off_chain,
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
    credits_to_burn,
    fee_state,
    plan_terms,
    plans_registered_by,
    read_plan,
    rest_plan_document,
)

if TYPE_CHECKING:
    from nvm_chain.chain.logscan import Progress
    from nvm_chain.rest.models import FiatCheckout
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
        return fee_state(self._ctx, fresh=True)[0]

    def prepare_plan(self, price_config: Any, credits_config: Any) -> tuple[PriceConfig, CreditsConfig]:
        """The configs exactly as they will be registered: ``credits.nft_address`` filled from the address
        book when None (NFT1155ExpirableCreditsV2 for ``duration_secs > 0``, else NFT1155Credits); a price with
        no entry for the fee receiver made fee-inclusive (:func:`~nvm_chain.protocol.fees.with_fees`: the buyer
        pays the same total), and the fee rule checked against the chain's :meth:`fee_schedule` (plans with a
        custom fee controller are left to the chain); a schedule this client read less than 5 s ago (e.g. by the
        price helper that built the price) is reused. Sends nothing.

        Raises:
            ValidationError: malformed configs, or a time plan on the non-expirable NFT1155Credits (every
                order would revert).
            FeeError: the price has a fee-receiver entry of the wrong amount (names the expected fee).
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
            price = complete_fees(price, schedule)
            require_fees_included(price, schedule)
        return price, credits

    # ------------------------------------------------------------------------------------------ price helpers

    def _inclusive(self, price: PriceConfig) -> PriceConfig:
        return with_fees(price, self.fee_schedule())  # read now; the registration that follows reuses it

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

    def get_plan_balance(self, plan_id: Any, account_address: str | None = None, *,
                         ledger: Literal["auto", "onchain", "backend"] = "auto") -> PlanBalance:
        """Credits ``account_address`` (default: the client's account) holds in the plan; ``ledger`` on the
        result says where it was read.

        ``ledger="auto"`` reads the plan's credits contract (expired credits excluded for time plans), except for
        a plan that keeps its credits off chain (``onchain_mirror=False``, not pay-as-you-go): its ledger is the
        Nevermined backend's, read over REST (``GET …/balance/{holder}``) when the REST fallback is configured;
        without REST that is an :class:`~nvm_chain.errors.OffchainCreditsError`, not a misleading 0.
        ``ledger="onchain"`` / ``"backend"`` force one ledger.

        ``plan_name`` of an on-chain read comes from the plan's REST document when the client has a REST
        fallback (``metadata.main.name``, else the document's ``name``); otherwise, or when the API fails (a
        :class:`MetadataUnavailableWarning`, never an error), it is "".

        Raises:
            ValidationError: bad id, address or ledger.
            PlanNotFoundError: no such plan.
            OffchainCreditsError: the plan's credits are off chain and there is no REST fallback.
            ConfigurationError: no address given on a read-only ctx; ``ledger="backend"`` without REST.
            RestError: the backend's balance could not be read.
        """
        if ledger not in ("auto", "onchain", "backend"):
            raise ValidationError(f"ledger must be 'auto', 'onchain' or 'backend', got {ledger!r}")
        holder = self._ctx.address if account_address is None else to_address(account_address, "account_address")
        plan = plan_terms(self._ctx, plan_id)
        if ledger == "auto" and keeps_credits_off_chain(self._ctx, plan):
            if self._ctx.rest is None:
                raise OffchainCreditsError(plan.plan_id, "its on-chain balance is always 0 and its orders mint "
                                                         "nothing on chain; the balance lives in the backend")
            ledger = "backend"
        if ledger == "backend":
            if self._ctx.rest is None:
                raise ConfigurationError("ledger='backend' reads the Nevermined API: configure the REST fallback")
            return self._ctx.rest.get_plan_balance(plan.plan_id, holder).replace(ledger="backend")
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

    def get_plans_registered_by(self, creator: str, from_block: int | None = None, to_block: int | None = None,
                                pagination: Any = None, *, progress: Progress | None = None) -> PlansPage:
        """The plans ``creator`` registered in blocks [from_block, to_block], from ``PlanRegistered`` logs: a
        ``{total, page, offset, plans}`` page of ids, oldest first without ``pagination`` (payments-py's
        ``PaginationOptions``; sort_by ``created`` or ``id``). ``from_block`` defaults to the address book's
        deployment block (pass 0 to scan the whole chain: the same proxies served earlier protocol versions),
        ``to_block`` to the head. Ranges scanned before come from the on-disk index; ``progress(done, total)``
        (blocks) follows a long scan.

        Raises:
            ValidationError: bad address, block numbers or pagination.
            LogScanError: the node refused even the smallest ``eth_getLogs`` range.
        """
        found = plans_registered_by(self._ctx, creator, from_block, to_block, progress=progress)
        page = paginate(found, pagination)
        return PlansPage(total=page["total"], page=page["page"], offset=page["offset"], plans=page["items"])

    def get_user_plans(self, org_id: str | None = None, pagination: Any = None) -> PlansPage:
        """payments-py's ``get_user_plans``: the plans the client's account registered, one page
        (``PaginationOptions()`` defaults: page 1 of 10, newest first). ``org_id`` has no on-chain meaning and
        is ignored.

        Raises:
            ConfigurationError: read-only ctx.
            ValidationError: bad pagination.
        """
        from nvm_chain.rest.documents import PaginationOptions

        return self.get_plans_registered_by(self._ctx.address,
                                            pagination=PaginationOptions() if pagination is None else pagination)

    def get_agents_associated_to_plan(self, plan_id: Any, pagination: Any = None, *, from_block: int | None = None,
                                      to_block: int | None = None, progress: Progress | None = None) -> AgentsPage:
        """The agents whose plan list contains ``plan_id`` now, as a ``{total, page, offset, agents}`` page of
        ids: agent events replayed from the logs of [from_block, to_block] (defaults and index as in
        :meth:`get_plans_registered_by`), each candidate confirmed with ``AssetsRegistry.getAgent``; in order of
        first appearance without ``pagination``.

        Raises:
            ValidationError: bad id, block numbers or pagination.
            LogScanError: the node refused even the smallest ``eth_getLogs`` range.
        """
        found = agents_listing_plan(self._ctx, plan_id, from_block, to_block, progress=progress)
        page = paginate(found, pagination)
        return AgentsPage(total=page["total"], page=page["page"], offset=page["offset"], agents=page["items"])

    # ------------------------------------------------------------------------------------------ orders

    def order_quote(self, plan_id: Any, number_of_purchases: Any = 1, template: str | None = None, *,
                    allow_offchain_credits: bool = False) -> tuple[Plan, int]:
        """The plan and what ordering it ``number_of_purchases`` times through ``template`` (None: the one
        :meth:`order_plan` picks, PayAsYouGoTemplate for a pay-as-you-go plan, else FixedPaymentTemplate) costs
        (its total price, in base units of its token), so a caller can confirm the spend first. Sends nothing.

        Raises:
            PlanNotFoundError: no such plan.
            ValidationError: the plan cannot be ordered through ``template`` (fiat, external price, or the other
                template), or ``number_of_purchases`` is below 1.
            OffchainCreditsError: the plan keeps its credits off chain, with no REST fallback and no
                ``allow_offchain_credits``.
        """
        n = purchases(number_of_purchases)
        if template is None:
            template = PAYG if is_pay_as_you_go(self._ctx, read_plan(self._ctx, plan_id, hooks=False)) else FIXED
        plan = orderable_plan(self._ctx, plan_id, template)
        if template == FIXED:
            self._require_ledger(plan, allow_offchain_credits)
        return plan, plan.price.total * n

    def _require_ledger(self, plan: Plan, allow_offchain_credits: bool) -> None:
        if not allow_offchain_credits and self._ctx.rest is None and keeps_credits_off_chain(self._ctx, plan):
            raise OffchainCreditsError(plan.plan_id, "an order would take the payment and mint 0 credits on chain")

    def order_plan(self, plan_id: Any, number_of_purchases: int = 1, credits_receiver: str | None = None,
                   seed: Any = None, *, allow_offchain_credits: bool = False) -> OrderResult:
        """Buy ``number_of_purchases`` of a crypto plan through FixedPaymentTemplate, paying from the client's
        account; credits go to ``credits_receiver`` (default: the buyer). A pay-as-you-go plan is routed to
        :meth:`order_pay_as_you_go_plan` (one request, no credits), as payments-py does.

        Native plans send exactly Σ amounts × n as value; ERC-20 plans approve PaymentsVault for exactly the
        missing allowance (never more than the total) after a simulation of the order; free plans pay nothing.
        ``seed`` (default: fresh random) makes the agreement id, which is computed offline and checked against
        ``AgreementRegistered``.

        A plan that keeps its credits off chain (``onchain_mirror=False``) is refused before signing unless the
        REST fallback is configured (the backend then keeps the ledger) or ``allow_offchain_credits=True``.

        Raises:
            ValidationError: bad arguments; a fiat plan (use :meth:`order_fiat_plan`); a pay-as-you-go plan with
                ``number_of_purchases`` or ``credits_receiver``; an external-price plan.
            OffchainCreditsError: the credits would not land on chain and nothing else keeps them (nothing signed).
            PlanNotFoundError: no such plan.
            InsufficientBalanceError: the buyer cannot pay (nothing signed).
            ContractRevertError: the order would revert, e.g. ``CreatorAlreadyCreatedAgreement`` on a used trial
                or ``PlanWithInvalidTemplate`` (decoded; nothing sent, no approval left behind).
            IdMismatchError: the emitted agreement id differs (the tx was mined).
        """
        plan = plan_terms(self._ctx, plan_id)  # its price and credits config never change once registered
        if is_pay_as_you_go(self._ctx, plan):
            if purchases(number_of_purchases) != 1 or credits_receiver is not None:
                raise ValidationError(f"plan {plan.plan_id} is pay-as-you-go: an order pays one request and mints "
                                      "no credits, so number_of_purchases and credits_receiver do not apply")
            return order_payg(self._ctx, plan.plan_id, seed)
        orderable_plan(self._ctx, plan.plan_id, FIXED)
        self._require_ledger(plan, allow_offchain_credits)
        return order_fixed(self._ctx, plan.plan_id, number_of_purchases, credits_receiver, seed)

    def order_fiat_plan(self, plan_id: Any) -> FiatCheckout:
        """Start a Stripe checkout for a fiat plan through the REST fallback (payments-py ``order_fiat_plan``):
        open ``checkout['checkoutUrl']`` to pay; the backend grants the credits after the payment.

        Raises:
            ValidationError: bad id.
            ConfigurationError: no REST fallback (a fiat payment has no on-chain path for a buyer).
            RestError: the API refused or failed.
        """
        pid = parse_id(plan_id)
        if self._ctx.rest is None:
            raise ConfigurationError("order_fiat_plan is a Stripe checkout through the Nevermined API: configure the "
                                     "REST fallback (nvm_api_key= / rest=)")
        return self._ctx.rest.order_fiat_plan(pid)

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
                                      seed: Any = None, *, allow_offchain_credits: bool = False) -> OrderResult:
        """A gasless ERC-20 order: ``buyer_signer`` (a LocalSigner or key) signs an EIP-3009
        ``ReceiveWithAuthorization`` for Σ amounts × n to PaymentsVault on the token's own EIP-712 domain
        (nonce = the agreement id, valid until latest block time + ``valid_for``); the client's account relays
        ``FixedPaymentTemplate.orderWithAuthorization`` and pays the gas. No approval is needed.

        Raises:
            ValidationError: bad arguments; a native-token or free plan (nothing to authorize); fiat, PAYG or
                external-price plans.
            OffchainCreditsError: as :meth:`order_plan` (nothing signed).
            PlanNotFoundError: no such plan.
            InsufficientBalanceError: the buyer cannot pay (nothing signed).
            ContractRevertError: the order would revert (decoded; nothing sent).
            IdMismatchError: the emitted agreement id differs (the tx was mined).
        """
        self._require_ledger(orderable_plan(self._ctx, plan_id, FIXED), allow_offchain_credits)
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

    def burn_quote(self, plan_id: Any, credits_amount: Any) -> tuple[int, int]:
        """``(requested, will_burn)``: what a burn of ``credits_amount`` of the plan takes, before signing (the
        contract takes ``min_amount`` on a fixed plan, else the request clamped to [min, max]). Sends nothing.

        Raises:
            ValidationError: bad id or amount.
            PlanNotFoundError: no such plan.
        """
        requested = to_uint256(credits_amount, "credits_amount", units=True)
        return requested, credits_to_burn(read_plan(self._ctx, plan_id, hooks=False).credits, requested)

    def _check_clamp(self, plan_id: Any, credits_amount: Any, strict: bool) -> None:
        if strict:
            requested, will_burn = self.burn_quote(plan_id, credits_amount)
            if requested != will_burn:
                raise ClampedAmountError(parse_id(plan_id), requested, will_burn)

    def burn_credits(self, plan_id: Any, credits_amount: int | str, *, strict: bool = False) -> BurnResult:
        """Burn the client's own credits of the plan. The result reports ``requested`` and ``burned`` (what the
        contract took: ``min_amount`` for fixed redemption, the request clamped to [min, max] otherwise); with
        ``strict=True`` a burn that would be clamped is refused before signing.

        Raises:
            ValidationError: bad arguments.
            ClampedAmountError: ``strict`` and the contract would burn another amount (nothing sent).
            PlanNotFoundError: no such plan.
            RedemptionRefused: the account holds fewer credits than the burn takes and the plan's redemption
                type does not otherwise allow it (nothing sent).
        """
        self._check_clamp(plan_id, credits_amount, strict)
        return burn(self._ctx, plan_id, self._ctx.address, credits_amount)

    def redeem_credits(self, *args: Any, plan_id: Any = None, redeem_from: str | None = None,
                       credits_amount: Any = None, credits_amount_to_redeem: Any = None,
                       agent_request_id: str | None = None, strict: bool = False) -> BurnResult:
        """Burn credits of ``redeem_from`` as the client's account (an agent or the plan owner), after checking
        the plan's redemption rule with reads: the holder itself, the plan owner (ONLY_OWNER,
        OWNER_OR_GLOBAL_ROLE), a CREDITS_BURNER_ROLE holder (ONLY_GLOBAL_ROLE, OWNER_OR_GLOBAL_ROLE) or an allowed
        burner (ONLY_PLAN_ROLE); ONLY_SUBSCRIBER lets only the holder burn.

        Two call forms: nvm-chain's ``redeem_credits(plan_id, redeem_from, credits_amount)`` and payments-py's
        ``redeem_credits(agent_request_id, plan_id, redeem_from, credits_amount_to_redeem)``, positionally or by
        keyword. ``agent_request_id`` only tags the request in the Nevermined backend and is ignored on chain.
        The result reports ``requested`` and ``burned``; ``strict=True`` refuses a redemption the contract would
        clamp.

        Raises:
            TypeError: arguments that fit neither form.
            ValidationError: bad arguments.
            ClampedAmountError: ``strict`` and the contract would burn another amount (nothing sent).
            PlanNotFoundError: no such plan.
            RedemptionRefused: the rule does not let the caller burn; the message says why (nothing sent).
            ContractRevertError: e.g. ``ERC1155InsufficientBalance`` when the holder has too few credits.
        """
        names = ("plan_id", "redeem_from", "credits_amount")
        given = {"plan_id": plan_id, "redeem_from": redeem_from,
                 "credits_amount": credits_amount if credits_amount is not None else credits_amount_to_redeem}
        if credits_amount is not None and credits_amount_to_redeem is not None:
            raise TypeError("give credits_amount or credits_amount_to_redeem, not both")
        if args and agent_request_id is None and len(args) + sum(v is not None for v in given.values()) == 4:
            agent_request_id, *rest = args  # payments-py's form: the request id comes first
            args = tuple(rest)
        if len(args) > 3:
            raise TypeError("redeem_credits takes (plan_id, redeem_from, credits_amount) or payments-py's "
                            "(agent_request_id, plan_id, redeem_from, credits_amount_to_redeem)")
        for name, value in zip(names, args):
            if given[name] is not None:
                raise TypeError(f"redeem_credits got {name} twice")
            given[name] = value
        missing = [n for n in names if given[n] is None]
        if missing:
            raise TypeError(f"redeem_credits is missing {', '.join(missing)}")
        self._check_clamp(given["plan_id"], given["credits_amount"], strict)
        return burn(self._ctx, given["plan_id"], given["redeem_from"], given["credits_amount"])

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
