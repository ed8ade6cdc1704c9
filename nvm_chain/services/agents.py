"""Agents API (services layer): payments-py's ``AgentsAPI`` on chain, signed with the client's own key.

Reached as ``NvmChain.agents``. Method names and argument order follow payments-py (``add_plan_to_agent(plan_id,
agent_id)``: the plan comes first). Writes go to ``AssetsRegistry`` (docs/protocol.md#agents) through the client's
sender, which simulates every call before signing; everything an argument can get wrong, and every refusal the
client can foresee from a read (unknown agent, caller not the owner, plan not listed), raises a typed error before
anything is signed. IDs are computed offline before sending and checked against the emitted events.

What is NOT on chain: agent and plan metadata (``AgentMetadata``, ``PlanMetadata``, the API attributes other than
one URL, ``access_limit``). ``AssetsRegistry`` stores only the owner, creator, one URL, the plan list and a
timestamp. The methods accept payments-py's metadata arguments, validate them and hand them back in the result
so that they can be published through the REST fallback; they are never sent to the chain.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal

from eth_keys import keys
from pydantic import BaseModel

from nvm_chain.errors import (
    AgentNotFoundError,
    ConfigurationError,
    IdMismatchError,
    NotAgentOwnerError,
    OffchainCreditsWarning,
    PlanNotInAgentError,
    ValidationError,
)
from nvm_chain.protocol import ids
from nvm_chain.protocol.models import (
    ZERO,
    Agent,
    AgentAPIAttributes,
    AgentMetadata,
    CoreModel,
    CreditsConfig,
    PlanMetadata,
    PriceConfig,
    format_id,
    parse_id,
    parse_seed,
    to_address,
    to_uint256,
)
from nvm_chain.protocol.results import (
    AgentAndPlanRegistration,
    AgentOwnershipTransfer,
    AgentPlanChange,
    AgentPlansReplacement,
    AgentRegistration,
    PlansPage,
    TxResult,
)
from nvm_chain.services.context import send_and_wait
from nvm_chain.services.listing import paginate
from nvm_chain.services.plans import PlansAPI

__all__ = ["AgentsAPI", "AgentRegistration", "AgentAndPlanRegistration", "AgentPlanChange", "AgentPlansReplacement",
           "AgentOwnershipTransfer"]

if TYPE_CHECKING:
    from nvm_chain.chain.tx.sender import Sender
    from nvm_chain.chain.tx.types import TxReceipt, TxRequest
    from nvm_chain.rest.models import ApiResult
    from nvm_chain.services.context import ServiceContext

log = logging.getLogger(__name__)

REGISTRY = "AssetsRegistry"

# ---------------------------------------------------------------------------------------------- validation


def _model(value: Any, cls: type[CoreModel], what: str) -> Any:
    """``value`` as ``cls``: an instance, a dict (snake_case or camelCase keys) or another pydantic model of the
    same fields (e.g. payments-py's).

    Raises:
        ValidationError: anything else, or invalid fields.
    """
    if type(value) is cls:
        return value
    if isinstance(value, BaseModel):
        value = value.model_dump(exclude_unset=True)
    if not isinstance(value, dict):
        raise ValidationError(f"{what} must be a {cls.__name__} or a dict, not {type(value).__name__}")
    return cls.model_validate(value)


def _not_the_key(seed: bytes, signer_address: str) -> None:
    """Refuse a seed that is the signing key itself: the seed is published in the transaction's calldata.

    Raises:
        ValidationError: ``seed`` is the private key of ``signer_address`` (the message does not show it).
    """
    try:
        derived = keys.PrivateKey(seed).public_key.to_checksum_address()
    except Exception:  # noqa: BLE001 - not a valid private key at all
        return
    if derived == signer_address:
        raise ValidationError("seed is the signing account's private key; it would be published on chain. "
                              "Use a random seed (seed=None)") from None


def _plan_list(value: Any, what: str) -> tuple[int, ...]:
    """Plan ids (each an int, decimal or 0x-hex string), duplicates dropped, first occurrence kept.

    Raises:
        ValidationError: not a list, or a malformed id (named by its index).
    """
    if value is None:
        return ()
    if isinstance(value, (str, bytes, dict)) or not isinstance(value, Iterable):
        raise ValidationError(f"{what} must be a list of plan ids, not {type(value).__name__}")
    plans = [to_uint256(p, f"{what}[{i}]", hex_ok=True) for i, p in enumerate(value)]
    return tuple(dict.fromkeys(plans))


def _url(agent_api: AgentAPIAttributes) -> str:
    """The URL stored on chain: the first endpoint's URL, else ``agent_definition_url``.

    Raises:
        ValidationError: neither is set (AssetsRegistry would revert ``InvalidURL``).
    """
    candidates: list[str | None] = [agent_api.endpoints[0].url] if agent_api.endpoints else []
    candidates.append(agent_api.agent_definition_url)
    for url in candidates:
        if url and url.strip():
            return url.strip()
    raise ValidationError("agent_api has no URL: set endpoints=[Endpoint(verb=..., url=...)] or "
                          "agent_definition_url (AssetsRegistry stores one URL per agent and refuses an empty one)")


def _access_limit(value: Any) -> Literal["credits", "time"] | None:
    """Raises: ValidationError: not ``"credits"``, ``"time"`` or None."""
    if value is not None and value not in ("credits", "time"):
        raise ValidationError(f"access_limit must be 'credits', 'time' or None, got {value!r}")
    return value


def _event_arg(receipt: TxReceipt, registry: str, event: str, arg: str) -> list[Any]:
    return [e.args[arg] for e in receipt.events if e.name == event and e.address == registry]


# ---------------------------------------------------------------------------------------------- API


class AgentsAPI:
    """Register agents and manage their plans on ``AssetsRegistry`` (payments-py ``AgentsAPI`` names)."""

    def __init__(self, ctx: ServiceContext):
        self._ctx = ctx

    def __repr__(self) -> str:
        return f"AgentsAPI({self._ctx!r})"

    # ------------------------------------------------------------------ plumbing

    @property
    def _registry(self):
        return self._ctx.contracts[REGISTRY]

    def _writer(self) -> Sender:
        """The client's sender, after the chain-id check (so reads that precede a write hit the right chain).

        Raises:
            ConfigurationError: read-only ctx.
            ChainMismatchError: the node is on another chain than the address book.
        """
        sender = self._ctx.sender
        sender.chain_id()
        return sender

    def _read(self, fn: str, *args: Any) -> Any:
        return self._registry.read(self._ctx.w3, fn, *args)

    def _record(self, agent_id: int) -> Agent:
        record = self._read("getAgent", agent_id)
        if record.lastUpdated == 0:  # lastUpdated == 0: no DIDAgent record (never registered, or an ERC-8004 identity)
            raise AgentNotFoundError(agent_id, self._ctx.book.chain_id, self._registry.address)
        return Agent.from_chain(agent_id, record)

    def _owned(self, agent_id: int, action: str) -> tuple[Sender, Agent]:
        """Sender and agent record, after checking that the signer is the agent's registry owner.

        Raises:
            ConfigurationError, ChainMismatchError: see :meth:`_writer`.
            AgentNotFoundError: no such agent.
            NotAgentOwnerError: the signer is not its owner.
        """
        sender = self._writer()
        agent = self._record(agent_id)
        caller = sender.signer.address
        if agent.owner != caller:
            raise NotAgentOwnerError(agent_id, caller, agent.owner, action)
        return sender, agent

    def _send(self, sender: Sender, request: TxRequest) -> TxReceipt:
        log.debug("%s from %s", request.action, sender.signer.address)
        return send_and_wait(sender, request)

    # ------------------------------------------------------------------ registration

    def register_agent(self, agent_metadata: AgentMetadata | dict, agent_api: AgentAPIAttributes | dict,
                       payment_plans: Iterable[int | str] | None, seed: bytes | str | int | None = None
                       ) -> AgentRegistration:
        """Register an agent owned by the signer, listing ``payment_plans`` (``AssetsRegistry.register``).

        The on-chain URL is ``agent_api.endpoints[0].url``, else ``agent_api.agent_definition_url``; the
        metadata is not stored on chain (it is returned in the result). ``payment_plans`` are ids (int, decimal
        or 0x-hex strings); duplicates are dropped. ``seed`` (32 bytes, 0x-hex or uint256; random when None)
        fixes the id: ``agent_id = keccak(seed, signer)``, computed before sending and checked against
        ``AgentRegistered``.

        Raises:
            ValidationError: bad metadata, no URL, malformed plan id or seed, or a seed that is the signing key
                (nothing signed).
            ConfigurationError: read-only ctx.
            ChainMismatchError: the node is on another chain (nothing signed).
            ContractRevertError: refused by the simulation, e.g. ``PlanNotFound`` for an unknown plan or
                ``AgentAlreadyRegistered`` for a reused seed (nothing signed).
            BroadcastError, TransactionPending: see :meth:`nvm_chain.chain.tx.sender.Sender.send`.
            IdMismatchError: ``AgentRegistered`` carries another id (the transaction WAS mined).
        """
        metadata = _model(agent_metadata, AgentMetadata, "agent_metadata")
        api = _model(agent_api, AgentAPIAttributes, "agent_api")
        url = _url(api)
        plans = _plan_list(payment_plans, "payment_plans")
        raw_seed = parse_seed(seed, allow_zero=True)
        sender = self._writer()
        if seed is not None:
            _not_the_key(raw_seed, sender.signer.address)
        agent_id = ids.agent_id(raw_seed, sender.signer.address)
        receipt = self._send(sender, self._registry.tx("register", raw_seed, url, list(plans)))
        self._check_agent_event(receipt, agent_id)
        return AgentRegistration(agent_id=agent_id, url=url, plans=plans, agent_metadata=metadata, agent_api=api,
                                 tx=TxResult.of(receipt))

    def register_agent_and_plan(self, agent_metadata: AgentMetadata | dict, agent_api: AgentAPIAttributes | dict,
                                plan_metadata: PlanMetadata | dict, price_config: PriceConfig,
                                credits_config: CreditsConfig, access_limit: Literal["credits", "time"] | None = None,
                                seed: bytes | str | int | None = None) -> AgentAndPlanRegistration:
        """Create a plan and an agent listing it, in one transaction (``AssetsRegistry.registerAgentAndPlan``).

        ``price_config``/``credits_config`` go through ``client.plans.prepare_plan`` (credits contract filled in
        from the address book, fee rule checked locally): build prices with the fee-inclusive helpers of
        ``client.plans``. The plan id is ``plan_id(price, credits, signer, nonce=uint256(seed))``, the agent id
        ``agent_id(seed, signer)``; both are computed before sending and checked against the events. If that
        plan already exists it is reused (``plan_created=False``). ``plan_metadata``, ``agent_metadata`` and
        ``access_limit`` (default: ``"time"`` when ``duration_secs > 0``, else ``"credits"``) stay off chain.
        Like ``client.plans``, a plan with ``onchain_mirror=False`` (payments-py's default) warns with
        :class:`~nvm_chain.services.plans.OffchainCreditsWarning`: its orders mint no credits on chain.

        Raises:
            ValidationError: bad metadata, configs, access_limit or seed, a seed that is the signing key, or no
                URL (nothing signed).
            FeeError: the price does not carry the Nevermined fee the deployment requires (nothing signed).
            ConfigurationError: read-only ctx.
            ChainMismatchError: the node is on another chain (nothing signed).
            ContractRevertError: refused by the simulation (e.g. ``AgentAlreadyRegistered``).
            BroadcastError, TransactionPending: see :meth:`nvm_chain.chain.tx.sender.Sender.send`.
            IdMismatchError: an event carries another id (the transaction WAS mined).
        """
        metadata = _model(agent_metadata, AgentMetadata, "agent_metadata")
        api = _model(agent_api, AgentAPIAttributes, "agent_api")
        plan_meta = _model(plan_metadata, PlanMetadata, "plan_metadata")
        url = _url(api)
        raw_seed = parse_seed(seed, allow_zero=True)
        limit = _access_limit(access_limit)
        sender = self._writer()
        if seed is not None:
            _not_the_key(raw_seed, sender.signer.address)
        price, credits = PlansAPI(self._ctx).prepare_plan(price_config, credits_config)
        limit = limit or ("time" if credits.duration_secs > 0 else "credits")
        if not credits.onchain_mirror and credits.amount > 0 and \
                price.template_address != self._ctx.book.contracts.get("PayAsYouGoTemplate"):
            warnings.warn("credits_config.onchain_mirror is False: orders of this plan will mint no credits on "
                          "chain (use set_onchain_mirror(credits_config))", OffchainCreditsWarning, stacklevel=2)
        creator = sender.signer.address
        price_t, credits_t = price.as_tuple(), credits.as_tuple()
        plan_id = ids.plan_id(price_t, credits_t, creator, int.from_bytes(raw_seed, "big"))
        agent_id = ids.agent_id(raw_seed, creator)
        receipt = self._send(sender, self._registry.tx("registerAgentAndPlan", raw_seed, url, price_t, credits_t))
        created = _event_arg(receipt, self._registry.address, "PlanRegistered", "planId")
        if created and created != [plan_id]:
            raise IdMismatchError("planId", format_id(plan_id), ", ".join(map(str, created)), receipt.tx_hash)
        self._check_agent_event(receipt, agent_id)
        return AgentAndPlanRegistration(
            agent_id=agent_id, plan_id=plan_id, plan_created=bool(created), url=url, agent_metadata=metadata,
            agent_api=api, plan_metadata=plan_meta, price_config=price, credits_config=credits, access_limit=limit,
            tx=TxResult.of(receipt))

    def _check_agent_event(self, receipt: TxReceipt, agent_id: int) -> None:
        emitted = _event_arg(receipt, self._registry.address, "AgentRegistered", "agentId")
        if emitted != [agent_id]:
            raise IdMismatchError("agentId", format_id(agent_id), ", ".join(map(str, emitted)) or "none",
                                  receipt.tx_hash)

    # ------------------------------------------------------------------ reads

    def get_agent(self, agent_id: int | str) -> Agent:
        """The agent's on-chain record: owner, creator, URL, last update and plan ids.

        Raises:
            ValidationError: malformed id.
            AgentNotFoundError: no agent with this id on this deployment.
        """
        return self._record(parse_id(agent_id))

    def get_agents(self, agent_ids: Iterable[int | str]) -> list[Agent]:
        """Many agents' on-chain records, in order: one Multicall3 request per chunk of agents.

        Raises:
            ValidationError: a malformed id.
            AgentNotFoundError: one of the agents does not exist (the first missing one).
        """
        from nvm_chain.services.plans.reads import agent_records

        wanted = [parse_id(a) for a in agent_ids]
        agents = []
        for agent_id, record in zip(wanted, agent_records(self._ctx, wanted)):
            if record.lastUpdated == 0:
                raise AgentNotFoundError(agent_id, self._ctx.book.chain_id, self._registry.address)
            agents.append(Agent.from_chain(agent_id, record))
        return agents

    def get_agent_plans(self, agent_id: int | str, pagination: Any = None) -> PlansPage:
        """The plans the agent lists, as a ``{total, page, offset, plans}`` page of ids (one ``getAgent`` call;
        use ``plans.get_plan`` for a plan's details). Without ``pagination`` (payments-py's
        ``PaginationOptions``; sort_by ``created``, the on-chain list order, or ``id``) every plan in on-chain
        order.

        Raises:
            ValidationError: malformed id or pagination.
            AgentNotFoundError: no agent with this id on this deployment.
        """
        page = paginate(self.get_agent(agent_id).plans, pagination)
        return PlansPage(total=page["total"], page=page["page"], offset=page["offset"], plans=page["items"])

    def update_agent_metadata(self, agent_id: int | str, agent_metadata: AgentMetadata | dict,
                              agent_api: AgentAPIAttributes | dict) -> ApiResult:
        """payments-py's ``update_agent_metadata``: ``PUT /api/v1/protocol/agents/{agentId}`` through the REST
        fallback (metadata has no on-chain home; only agents the backend knows can be updated).

        Raises:
            ValidationError: bad id or metadata.
            ConfigurationError: no REST fallback.
            RestError: the API refused or failed.
        """
        agent_ref = parse_id(agent_id)
        metadata = _model(agent_metadata, AgentMetadata, "agent_metadata")
        api = _model(agent_api, AgentAPIAttributes, "agent_api")
        if self._ctx.rest is None:
            raise ConfigurationError("update_agent_metadata goes through the Nevermined API (agent metadata is not "
                                     "stored on chain): configure the REST fallback (nvm_api_key= / rest=)")
        return self._ctx.rest.update_agent_metadata(agent_ref, metadata, api)

    # ------------------------------------------------------------------ plan management (agent owner)

    def add_plan_to_agent(self, plan_id: int | str, agent_id: int | str) -> AgentPlanChange:
        """List ``plan_id`` on the agent (``addPlanToAgent``). A plan already listed sends nothing
        (``changed=False``, ``tx=None``).

        Raises:
            ValidationError: malformed id.
            ConfigurationError: read-only ctx.
            ChainMismatchError: wrong chain (nothing signed).
            AgentNotFoundError / NotAgentOwnerError: unknown agent, or the signer is not its owner (nothing signed).
            ContractRevertError: ``PlanNotFound`` from the simulation for an unknown plan (nothing signed).
            BroadcastError, TransactionPending: see :meth:`nvm_chain.chain.tx.sender.Sender.send`.
        """
        plan, agent_ref = parse_id(plan_id), parse_id(agent_id)
        sender, agent = self._owned(agent_ref, "add_plan_to_agent")
        if plan in agent.plans:
            return AgentPlanChange(agent_id=agent_ref, plan_id=plan, changed=False, tx=None)
        receipt = self._send(sender, self._registry.tx("addPlanToAgent", agent_ref, plan))
        return AgentPlanChange(agent_id=agent_ref, plan_id=plan, changed=True, tx=TxResult.of(receipt))

    def remove_plan_from_agent(self, plan_id: int | str, agent_id: int | str) -> AgentPlanChange:
        """Remove ``plan_id`` from the agent (``removePlanFromAgent``; the contract swaps the last plan into
        its place, so the order of the others may change).

        Raises:
            ValidationError: malformed id.
            ConfigurationError: read-only ctx.
            ChainMismatchError: wrong chain (nothing signed).
            AgentNotFoundError / NotAgentOwnerError: unknown agent, or the signer is not its owner (nothing signed).
            PlanNotInAgentError: the agent does not list the plan (nothing signed).
            BroadcastError, TransactionPending: see :meth:`nvm_chain.chain.tx.sender.Sender.send`.
        """
        plan, agent_ref = parse_id(plan_id), parse_id(agent_id)
        sender, agent = self._owned(agent_ref, "remove_plan_from_agent")
        if plan not in agent.plans:
            raise PlanNotInAgentError(agent_ref, plan, agent.plans)
        receipt = self._send(sender, self._registry.tx("removePlanFromAgent", agent_ref, plan))
        return AgentPlanChange(agent_id=agent_ref, plan_id=plan, changed=True, tx=TxResult.of(receipt))

    def replace_plans_for_agent(self, agent_id: int | str, plan_ids: Iterable[int | str]) -> AgentPlansReplacement:
        """Replace the agent's plan list (``replacePlansForAgent``). The ids are sorted ascending and
        deduplicated first, as the contract requires; an empty list removes every plan.

        Raises:
            ValidationError: malformed id or list.
            ConfigurationError: read-only ctx.
            ChainMismatchError: wrong chain (nothing signed).
            AgentNotFoundError / NotAgentOwnerError: unknown agent, or the signer is not its owner (nothing signed).
            ContractRevertError: ``PlanNotFound`` from the simulation for an unknown plan (nothing signed).
            BroadcastError, TransactionPending: see :meth:`nvm_chain.chain.tx.sender.Sender.send`.
        """
        agent_ref = parse_id(agent_id)
        plans = tuple(sorted(_plan_list(plan_ids, "plan_ids")))
        sender, _ = self._owned(agent_ref, "replace_plans_for_agent")
        receipt = self._send(sender, self._registry.tx("replacePlansForAgent", agent_ref, list(plans)))
        return AgentPlansReplacement(agent_id=agent_ref, plans=plans, tx=TxResult.of(receipt))

    def transfer_agent_ownership(self, agent_id: int | str, new_owner: str) -> AgentOwnershipTransfer:
        """Make ``new_owner`` the agent's registry owner (``transferAgentOwnership``); the ERC-721 identity
        token does not move (agent NFTs are not transferable).

        Raises:
            ValidationError: malformed id, or ``new_owner`` is not an address or is the zero address.
            ConfigurationError: read-only ctx.
            ChainMismatchError: wrong chain (nothing signed).
            AgentNotFoundError / NotAgentOwnerError: unknown agent, or the signer is not its owner (nothing signed).
            BroadcastError, TransactionPending: see :meth:`nvm_chain.chain.tx.sender.Sender.send`.
        """
        agent_ref = parse_id(agent_id)
        owner = to_address(new_owner, "new_owner")
        if owner == ZERO:
            raise ValidationError("new_owner must not be the zero address (the contract reverts InvalidAddress)")
        sender, agent = self._owned(agent_ref, "transfer_agent_ownership")
        receipt = self._send(sender, self._registry.tx("transferAgentOwnership", agent_ref, owner))
        return AgentOwnershipTransfer(agent_id=agent_ref, previous_owner=agent.owner, new_owner=owner,
                                      tx=TxResult.of(receipt))
