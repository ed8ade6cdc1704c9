"""Plan reads for the Plans API (services: build calls with nvm_chain.chain.contracts, read with nvm_chain.chain.reads;
never signs or sends).

Plans and hooks from AssetsRegistry, fee receiver and rates from NVMConfig and the default fee controller,
credit balances from a plan's ERC-1155 contract, roles from the AccessManager, and the event-based queries
(plans a creator registered, agents that list a plan) through :mod:`nvm_chain.chain.logscan`: from the address
book's deployment block by default, in ranges the provider accepts, with an on-disk index of what was scanned.

Merged reads: when the client has a REST fallback (``client.rest``), :func:`rest_plan_document` fetches the
plan's off-chain document (name, description, tags…) to add to the on-chain result. It never fails: when the
API is unreachable, times out, answers an error or a malformed document, it emits a
:class:`MetadataUnavailableWarning` and the caller keeps the on-chain result alone. Without ``client.rest`` it
sends nothing and warns nothing (REST is opt-in; nothing is degraded).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from eth_utils import to_checksum_address

from nvm_chain.chain.abi import decode_log, registry, topic0
from nvm_chain.chain.contracts import BoundContract
from nvm_chain.chain.facts import genesis_hash
from nvm_chain.chain.logscan import Log, LogQuery, LogScanner, Progress, open_index
from nvm_chain.chain.multicall import call_many, decode
from nvm_chain.errors import (
    MetadataUnavailableWarning,
    NvmChainError,
    PlanNotFoundError,
)
from nvm_chain.protocol.fees import FeeSchedule
from nvm_chain.protocol.models import (
    ZERO,
    Agent,
    CreditsConfig,
    Plan,
    RedemptionType,
    parse_id,
    to_address,
    to_uint256,
)
from nvm_chain.rest.documents import PlanDocument

if TYPE_CHECKING:
    from nvm_chain.services.context import ServiceContext

#: AccessManager role ids (docs/protocol.md#role-ids): low 64 bits of keccak(abi.encode(name))
CREDITS_MINTER_ROLE = 331619801143826648
CREDITS_BURNER_ROLE = 16934877136143260882

#: seconds a client reuses the fee receiver and rates it read (prices built meanwhile use them)
FEE_TTL = 5.0
#: seconds a client trusts a burn permission it was granted (``canBurn``, CREDITS_BURNER_ROLE) without reading it
#: again; a refusal is never remembered, and a burn the chain refuses for want of it reads it afresh
PERMISSION_TTL = 5.0

CREDIT_CONTRACTS = ("NFT1155Credits", "NFT1155ExpirableCredits", "NFT1155ExpirableCreditsV2")
EXPIRABLE_CONTRACTS = ("NFT1155ExpirableCredits", "NFT1155ExpirableCreditsV2")


def call(ctx: ServiceContext, bound: BoundContract, fn: str, *args: Any, arity: int | None = None) -> Any:
    """``bound.fn(*args)`` on the context's node, decoded (see :meth:`BoundContract.read`).

    Raises:
        ContractRevertError: the call reverted. ConfigurationError: no such contract at that address.
    """
    return bound.read(ctx.w3, fn, *args, arity=arity)


def book_address(ctx: ServiceContext, name: str) -> str | None:
    """The address of contract ``name`` in the client's address book, None if the book lacks it."""
    return ctx.book.contracts.get(name)


# ---------------------------------------------------------------------------------------------- fees


def fee_state(ctx: ServiceContext, *, fresh: bool = False) -> tuple[FeeSchedule, str]:
    """(fee schedule, default fee controller address) from NVMConfig and the default controller: read at most
    once per :data:`FEE_TTL` seconds per client (``fresh``: read now), in one Multicall3 request when the
    controller is the one seen last (or the book's ProtocolStandardFees).

    Raises:
        ContractRevertError: a read reverted (e.g. a wrong address book).
    """
    if fresh:
        ctx.forget("fee_state")
    return ctx.remember("fee_state", lambda: _read_fee_state(ctx), ttl=FEE_TTL)


def _read_fee_state(ctx: ServiceContext) -> tuple[FeeSchedule, str]:
    config = ctx.contracts.NVMConfig
    multicall = book_address(ctx, "Multicall3")
    if multicall is None:
        receiver = call(ctx, config, "getFeeReceiver")
        controller = call(ctx, config, "getDefaultFeeController")
        crypto, fiat, denominator = call(ctx, ctx.contracts.at("ProtocolStandardFees", controller), "getFeeRates")
        return FeeSchedule(receiver, crypto, fiat, denominator), controller
    guess = ctx.cache.get("fee_controller") or book_address(ctx, "ProtocolStandardFees")
    calls: list[tuple[BoundContract, str, tuple[Any, ...]]] = [(config, "getFeeReceiver", ()),
                                                               (config, "getDefaultFeeController", ())]
    if guess is not None:
        calls.append((ctx.contracts.at("ProtocolStandardFees", guess), "getFeeRates", ()))
    results = call_many(ctx.w3, multicall, calls)
    receiver = decode(config, "getFeeReceiver", results[0])
    controller = decode(config, "getDefaultFeeController", results[1])
    fees = ctx.contracts.at("ProtocolStandardFees", controller)
    rates = decode(fees, "getFeeRates", results[2]) if controller == guess else call(ctx, fees, "getFeeRates")
    ctx.cache["fee_controller"] = controller
    crypto, fiat, denominator = rates
    return FeeSchedule(receiver, crypto, fiat, denominator), controller


# ---------------------------------------------------------------------------------------------- plans


def read_plan(ctx: ServiceContext, plan_id: Any, *, hooks: bool = True) -> Plan:
    """The plan as stored on chain (plus its hooks when ``hooks``).

    Raises:
        ValidationError: ``plan_id`` is not an id.
        PlanNotFoundError: no such plan.
    """
    pid = parse_id(plan_id)
    registry_ = ctx.contracts.AssetsRegistry
    record = call(ctx, registry_, "getPlan", pid)
    if record.lastUpdated == 0:
        raise PlanNotFoundError(pid)
    plan_hooks = call(ctx, registry_, "getPlanHooks", pid) if hooks else ()
    return Plan.from_chain(pid, record, plan_hooks)


def plan_terms(ctx: ServiceContext, plan_id: Any) -> Plan:
    """The plan (without hooks) as this client first read it: for its price and credits config, which never
    change once registered. ``owner``, ``last_updated`` and ``price.fee_controller`` may have changed since:
    read them with :func:`read_plan`. A missing plan is not remembered.

    Raises:
        ValidationError: ``plan_id`` is not an id.
        PlanNotFoundError: no such plan.
    """
    pid = parse_id(plan_id)
    return ctx.remember(("plan", pid), lambda: read_plan(ctx, pid, hooks=False))


def remember_plans(ctx: ServiceContext, plans: list[Plan]) -> None:
    """Keep plans read elsewhere (e.g. a batch) for :func:`plan_terms`."""
    for plan in plans:
        ctx.cache[("plan", plan.plan_id)] = (None, plan)


class PlanWithMetadata(Plan):
    """The on-chain plan plus its REST document (``metadata``; None when the API could not provide it).

    Returned by ``PlansAPI.get_plan`` when the client has a REST fallback; a :class:`Plan` in every other respect.
    """

    metadata: PlanDocument | None = None

    @property
    def name(self) -> str:
        """The plan's name from its REST document (``metadata.main.name``, else ``name``); "" when unknown."""
        return (self.metadata.name if self.metadata is not None else None) or ""

    @classmethod
    def merge(cls, plan: Plan, metadata: PlanDocument | None) -> PlanWithMetadata:
        """``plan``'s on-chain fields with ``metadata`` attached."""
        return cls(**{name: getattr(plan, name) for name in Plan.model_fields}, metadata=metadata)


def rest_plan_document(ctx: ServiceContext, plan_id: int, *, stacklevel: int = 3) -> PlanDocument | None:
    """The plan's REST document when ``client.rest`` is set, else None without any request.

    Bounded by the REST client's own timeouts and GET retry policy. Any failure (an
    :class:`~nvm_chain.errors.NvmChainError`, which covers every ``RestError``) becomes a
    :class:`MetadataUnavailableWarning` and None; REST error texts are already free of the API key.
    """
    rest = getattr(ctx, "rest", None)
    if rest is None:
        return None
    try:
        return rest.get_plan(plan_id)
    except NvmChainError as exc:
        warnings.warn(MetadataUnavailableWarning(
            f"plan {plan_id}: no metadata from the REST API, returning on-chain data only ({exc})"),
            stacklevel=stacklevel)
        return None


def credits_artifact(ctx: ServiceContext, nft_address: str) -> str:
    """The artifact name of a credits contract: the book's name for it, else ``NFT1155Credits`` (the
    ERC-1155 surface every credits contract shares)."""
    for name in CREDIT_CONTRACTS:
        if book_address(ctx, name) == nft_address:
            return name
    return "NFT1155Credits"


def credits_contract(ctx: ServiceContext, credits: CreditsConfig) -> BoundContract:
    """The plan's credits contract, bound with its own ABI."""
    address = credits.nft_address or ZERO
    return ctx.contracts.at(credits_artifact(ctx, address), address)


def credits_balance(ctx: ServiceContext, plan: Plan, holder: str) -> int:
    """``balanceOf(holder, planId)`` on the plan's credits contract (expiry-aware on the expirable ones)."""
    return call(ctx, credits_contract(ctx, plan.credits), "balanceOf", holder, plan.plan_id)


def has_role(ctx: ServiceContext, role: int, account: str) -> bool:
    """Whether ``account`` holds AccessManager ``role``."""
    is_member, _delay = call(ctx, ctx.contracts.AccessManager, "hasRole", role, account)
    return bool(is_member)


def token_balance(ctx: ServiceContext, token: str, holder: str) -> int:
    """Native balance (``token`` = zero address) or ERC-20 ``balanceOf``."""
    if token == ZERO:
        return ctx.w3.eth.get_balance(to_checksum_address(holder))
    return call(ctx, ctx.contracts.at("MockERC20", token), "balanceOf", holder)


def credits_to_burn(credits: CreditsConfig, amount: int) -> int:
    """What a burn of ``amount`` takes: ``min_amount`` when fixed, else ``amount`` clamped to [min, max]."""
    if credits.is_redemption_amount_fixed:
        return credits.min_amount
    return min(max(amount, credits.min_amount), credits.max_amount)


def redemption_refusal(ctx: ServiceContext, plan: Plan, holder: str, sender: str, burned: int) -> str | None:
    """Why ``sender`` may not burn ``burned`` credits of ``holder`` (docs/protocol.md#burn), None if it may.

    Mirrors ``_canRedeemCredits``: the holder rule first (the holder may always burn its own credits when it
    holds enough), then the plan's redemption type.
    """
    balance = credits_balance(ctx, plan, holder) if sender == holder else 0  # only the holder's own rule needs it
    if sender == holder and balance >= burned:
        return None
    rtype, owner, pid = plan.credits.redemption_type, plan.owner, plan.plan_id
    head = f"plan {pid} has redemption type {rtype.name}"
    why: str | None  # None: the rule lets ``sender`` burn
    if rtype is RedemptionType.ONLY_SUBSCRIBER:
        why = f"{head}: only the holder may burn its credits"
    elif rtype is RedemptionType.ONLY_OWNER:
        why = None if sender == owner else f"{head}: only the plan owner {owner} may burn, not {sender}"
    elif rtype is RedemptionType.ONLY_PLAN_ROLE:
        allowed = _granted(ctx, ("can_burn", sender, pid),
                           lambda: call(ctx, credits_contract(ctx, plan.credits), "canBurn", sender, pid))
        why = None if allowed else (f"{head}: only burners the plan owner approved with allow_burner may burn, "
                                    f"and {sender} is not one (the owner itself is not implied)")
    elif rtype is RedemptionType.ONLY_GLOBAL_ROLE:
        why = None if _burner_role(ctx, sender) else \
            f"{head}: only CREDITS_BURNER_ROLE holders may burn, and {sender} does not hold that role"
    else:  # OWNER_OR_GLOBAL_ROLE
        why = None if sender == owner or _burner_role(ctx, sender) else \
            f"{head}: only the plan owner {owner} or a CREDITS_BURNER_ROLE holder may burn, not {sender}"
    if why is not None and sender == holder:
        why = f"{holder} holds {balance} credits of plan {pid}, fewer than the {burned} this burn takes; and " + why
    return why


def _granted(ctx: ServiceContext, key: tuple[Any, ...], load: Callable[[], Any]) -> bool:
    """A burn permission, remembered under ``key`` for :data:`PERMISSION_TTL` when granted (never when refused)."""
    allowed = ctx.remember(key, lambda: bool(load()), ttl=PERMISSION_TTL)
    if not allowed:
        ctx.forget(key)
    return allowed


def _burner_role(ctx: ServiceContext, account: str) -> bool:
    return _granted(ctx, ("burner_role", account), lambda: has_role(ctx, CREDITS_BURNER_ROLE, account))


def forget_permissions(ctx: ServiceContext, burner: str, plan_id: int) -> None:
    """Drop the remembered burn permissions of ``burner`` on ``plan_id`` (the next check reads them)."""
    ctx.forget(("can_burn", burner, plan_id))
    ctx.forget(("burner_role", burner))


# ---------------------------------------------------------------------------------------------- events


def _topic0(event: str) -> str:
    return "0x" + topic0(registry()["AssetsRegistry"].entry(event, kind="event")).hex()


def _word(value: int | str) -> str:
    if isinstance(value, str):
        return "0x" + "00" * 12 + value[2:].lower()
    return "0x" + value.to_bytes(32, "big").hex()


def scan_start(ctx: ServiceContext, from_block: Any) -> int:
    """``from_block``, or when None the deployment block of the address book (0 when the book has none).

    Raises:
        ValidationError: not a block number.
    """
    if from_block is None:
        return ctx.book.block_number or 0
    return to_uint256(from_block, "from_block")


def log_scanner(ctx: ServiceContext, progress: Progress | None = None) -> LogScanner:
    """A scanner for one operation: with the on-disk index of ``ctx``'s chain (keyed by chain id and genesis
    hash) unless the context disables it or the chain is the in-process embedded one."""
    if not ctx.scan_index or ctx.network == "embedded":
        return LogScanner(ctx.w3, progress=progress)
    index = open_index(ctx.book.chain_id, genesis_hash(ctx.w3), ctx.state_dir)
    return LogScanner(ctx.w3, index=index, progress=progress)


def _scan(ctx: ServiceContext, queries: list[LogQuery], from_block: Any, to_block: Any,
          progress: Progress | None) -> list[list[Log]]:
    start = scan_start(ctx, from_block)
    end = None if to_block is None else to_uint256(to_block, "to_block")
    return log_scanner(ctx, progress).scan(queries, start, end)


def plans_registered_by(ctx: ServiceContext, creator: Any, from_block: Any = None, to_block: Any = None, *,
                        progress: Progress | None = None) -> list[int]:
    """Plan ids from ``PlanRegistered`` logs whose indexed creator is ``creator``, in registration order, over
    [from_block (None: the book's deployment block), to_block (None: the head)]; ``progress(done, total)``
    follows a long scan.

    Raises:
        ValidationError: bad address or block numbers.
        LogScanError: the node refused the smallest range.
    """
    creator = to_address(creator, "creator")
    query = LogQuery(ctx.contracts.AssetsRegistry.address, (_topic0("PlanRegistered"), None, _word(creator)))
    [logs] = _scan(ctx, [query], from_block, to_block, progress)
    return [int.from_bytes(log["topics"][1], "big") for log in logs]


def agents_listing_plan(ctx: ServiceContext, plan_id: Any, from_block: Any = None, to_block: Any = None, *,
                        progress: Progress | None = None) -> list[int]:
    """Agent ids whose plan list contains ``plan_id`` now.

    Replays ``AgentRegistered`` / ``AgentPlansReplaced`` (candidates: these events do not carry the plans),
    ``PlanAddedToAgent`` (added) and ``PlanRemovedFromAgent`` (dropped) of [from_block (None: the book's
    deployment block), to_block] in block/log order, then confirms each remaining candidate with
    ``AssetsRegistry.getAgent`` (one multicall per chunk of candidates). Order: first appearance in the logs.

    Raises:
        ValidationError: bad id or block numbers.
        LogScanError: the node refused the smallest range.
    """
    pid = parse_id(plan_id)
    registry_ = ctx.contracts.AssetsRegistry
    anywhere = LogQuery(registry_.address, ((_topic0("AgentRegistered"), _topic0("AgentPlansReplaced")),))
    this_plan = LogQuery(registry_.address, ((_topic0("PlanAddedToAgent"), _topic0("PlanRemovedFromAgent")),
                                             None, _word(pid)))
    found = _scan(ctx, [anywhere, this_plan], from_block, to_block, progress)
    candidates: dict[int, None] = {}
    for log in sorted(found[0] + found[1], key=lambda log: (log["blockNumber"], log["logIndex"])):
        event = decode_log(log, contract="AssetsRegistry")
        if event is None:
            continue
        agent = event.args["agentId"]
        if event.name == "PlanRemovedFromAgent":
            candidates.pop(agent, None)
        else:
            candidates[agent] = None
    listed = []
    for agent, record in zip(candidates, agent_records(ctx, list(candidates))):
        if record.lastUpdated != 0 and pid in Agent.from_chain(agent, record).plans:
            listed.append(agent)
    return listed


def agent_records(ctx: ServiceContext, agent_ids: list[int]) -> list[Any]:
    """``AssetsRegistry.getAgent`` of each id (decoded records; ``lastUpdated == 0`` for a missing agent): one
    Multicall3 ``eth_call`` per chunk when the book lists Multicall3, else one read each.

    Raises:
        ContractRevertError: a read reverted.
    """
    registry_ = ctx.contracts.AssetsRegistry
    multicall = book_address(ctx, "Multicall3")
    if multicall is None:
        return [call(ctx, registry_, "getAgent", a) for a in agent_ids]
    results = call_many(ctx.w3, multicall, [(registry_, "getAgent", (a,)) for a in agent_ids])
    return [decode(registry_, "getAgent", r) for r in results]
