"""Batch reads for the Plans API (services: read through :mod:`nvm_chain.chain.multicall`; never signs or
sends).

Many plans (with their hooks) in one Multicall3 ``eth_call`` per chunk, and many credit balances in
one ``balanceOfBatch`` per chunk of holders. The Multicall3 address comes from the address book
(``"Multicall3"``); with a book that lacks it the plan reads fall back to two calls per plan.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from nvm_chain.chain.multicall import balances_of_batch, plan_records
from nvm_chain.errors import PlanNotFoundError, ValidationError
from nvm_chain.protocol.models import Plan, PlanBalance, parse_id, to_address
from nvm_chain.services.plans.reads import book_address, plan_terms, read_plan, remember_plans, rest_plan_document

if TYPE_CHECKING:
    from nvm_chain.services.context import ServiceContext


def read_plans(ctx: ServiceContext, plan_ids: Iterable[Any], *, hooks: bool = True) -> list[Plan]:
    """The plans as stored on chain (with their hooks when ``hooks``), in the order of ``plan_ids``: one
    Multicall3 ``eth_call`` per chunk of plans instead of two reads per plan.

    Raises:
        ValidationError: an id is malformed.
        PlanNotFoundError: one of the plans does not exist (the first missing one is named).
    """
    pids = [parse_id(p) for p in plan_ids]
    multicall = book_address(ctx, "Multicall3")
    if multicall is None:
        return [read_plan(ctx, pid, hooks=hooks) for pid in pids]
    records = plan_records(ctx.w3, multicall, ctx.contracts.AssetsRegistry, pids, hooks=hooks)
    plans = []
    for pid, (record, plan_hooks) in zip(pids, records):
        if record.lastUpdated == 0:
            raise PlanNotFoundError(pid)
        plans.append(Plan.from_chain(pid, record, plan_hooks))
    return plans


def _credits_contract(plan: Plan) -> str:
    if plan.credits.nft_address is None:
        raise ValidationError(f"plan {plan.plan_id} has no credits contract (nft_address)")
    return plan.credits.nft_address


def _plan_name(ctx: ServiceContext, plan_id: int) -> str:
    document = rest_plan_document(ctx, plan_id, stacklevel=5)  # user → PlansAPI → plan_batch → here
    return (document.name if document is not None else None) or ""


def plan_balances(ctx: ServiceContext, plan_id: Any, holders: Iterable[Any]) -> list[PlanBalance]:
    """The credits each holder has in the plan: the plan is read once, then one ``balanceOfBatch`` per chunk of
    holders on its credits contract (expired credits excluded on the expirable ones).

    Raises:
        ValidationError: bad id or holder address, or the plan has no credits contract.
        PlanNotFoundError: no such plan.
    """
    owners = [to_address(h, "holder") for h in holders]
    plan = plan_terms(ctx, plan_id)
    nft = _credits_contract(plan)
    if not owners:
        return []
    balances = balances_of_batch(ctx.w3, nft, owners, plan.plan_id)
    name = _plan_name(ctx, plan.plan_id)
    first = PlanBalance.from_plan(plan, owners[0], balances[0], plan_name=name)  # validated once; the rest
    return [first] + [first.model_copy(update={"holder_address": h, "balance": b, "is_subscriber": b > 0})
                      for h, b in zip(owners[1:], balances[1:])]  # differ only in checked holder and balance


def balances(ctx: ServiceContext, pairs: Iterable[tuple[Any, Any]]) -> list[PlanBalance]:
    """:class:`PlanBalance` of each ``(plan_id, holder)`` pair, in order, for many plans at once: the distinct
    plans in one multicall per chunk, then one ``balanceOfBatch`` per credits contract (and chunk).

    Raises:
        ValidationError: bad id or address, or a plan has no credits contract.
        PlanNotFoundError: one of the plans does not exist.
    """
    wanted = [(parse_id(p), to_address(h, "holder")) for p, h in pairs]
    known = {pid: ctx.recall(("plan", pid)) for pid, _ in wanted}
    plans = {pid: plan for pid, plan in known.items() if plan is not None}
    missing = [pid for pid in known if pid not in plans]
    fetched = read_plans(ctx, missing, hooks=False) if missing else []
    remember_plans(ctx, fetched)
    plans.update((plan.plan_id, plan) for plan in fetched)
    by_contract: dict[str, list[int]] = {}
    for i, (pid, _) in enumerate(wanted):
        by_contract.setdefault(_credits_contract(plans[pid]), []).append(i)
    found = [0] * len(wanted)
    for nft, rows in by_contract.items():
        amounts = balances_of_batch(ctx.w3, nft, [wanted[i][1] for i in rows], [wanted[i][0] for i in rows])
        for i, amount in zip(rows, amounts):
            found[i] = amount
    names = {pid: _plan_name(ctx, pid) for pid in plans} if ctx.rest is not None else {}
    return [PlanBalance.from_plan(plans[pid], h, found[i], plan_name=names.get(pid, ""))
            for i, (pid, h) in enumerate(wanted)]
