"""``nvm-chain plans``: the ``nvm plans`` commands done on chain with the user's own key (CLI layer).

Reads are here; writes are in :mod:`nvm_chain.cli.plans_writes`, the price/credits config helpers in
:mod:`nvm_chain.cli.plans_configs`, shared input parsing and rendering in :mod:`nvm_chain.cli.plans_common`.
Command names and flags follow the nvm CLI where they make sense on chain. IDs print as decimal strings;
amounts are whole base units. JSON inputs (--price-config, --credits-config, --plan-metadata) are inline JSON or
the path of a .json file, in the current API shape (the shapes of the old CLI docs are refused by field name).
"""

from __future__ import annotations

from typing import Any

import click

from nvm_chain.cli import plans_configs, plans_writes
from nvm_chain.cli.context import open_client, settings
from nvm_chain.cli.output import progress_bar
from nvm_chain.cli.plans_common import command, dump, pagination_options, show, with_warnings
from nvm_chain.cli.plans_common import pagination as paginate_flags
from nvm_chain.cli.settings import global_options


@click.group(epilog="Amounts are whole base units of the plan's token; IDs are decimal (or 0x-hex) strings. "
                    "`nvm-chain --help` lists the exit codes.")
@global_options
def plans(**_: Any) -> None:
    """Register, order, mint, redeem and read payment plans on chain (the `nvm plans` commands)."""


def _account_or(client: Any, address: str | None, flag: str) -> str:
    if address is not None:
        return address
    if client.signer is None:
        raise click.UsageError(f"give {flag} ADDRESS, or configure an account (--account, NVM_PRIVATE_KEY)")
    return client.address


def _plan_row(plan: dict[str, Any]) -> dict[str, Any]:
    price, credits = plan["price"], plan["credits"]
    return {"planId": plan["planId"], "type": "time" if int(credits["durationSecs"]) else "credits",
            "token": price["tokenAddress"], "price": str(sum(int(a) for a in price["amounts"])),
            "credits": credits["amount"], "durationSecs": credits["durationSecs"],
            "template": price["templateAddress"]}


@command("get-plans")
@click.option("--creator", help="Plans registered by this address (default: the account).")
@pagination_options
@click.option("--from-block", type=click.IntRange(min=0), default=None,
              help="First block to scan for PlanRegistered events [default: the deployment block of the address "
                   "book; 0 scans the whole chain].")
def get_plans(ctx: click.Context, creator: str | None, page: int | None, offset: int | None, sort_by: str | None,
              sort_order: str | None, pagination: str | None, from_block: int | None, **_: Any) -> None:
    """Plans a creator registered, from the registry's PlanRegistered events (`{total, page, offset, plans}`;
    page 1 of 10, newest first, unless paged otherwise). Blocks scanned before are read from the on-disk index
    (under the state directory)."""
    client = open_client(ctx, account=False)
    who = _account_or(client, creator, "--creator")
    paging = paginate_flags(page, offset, sort_by, sort_order, pagination)
    with progress_bar("scanning PlanRegistered events", settings(ctx).format) as bar:
        listing = with_warnings(lambda: client.plans.get_plans_registered_by(who, from_block, pagination=paging,
                                                                            progress=bar))
    found = with_warnings(lambda: [dump(plan) for plan in client.plans.get_plans(listing.plans)])
    data = {"creator": who, "total": listing.total, "page": listing.page, "offset": listing.offset, "plans": found}
    show(ctx, data, table=[_plan_row(p) for p in found])


@command("get-plan")
@click.argument("plan_id")
def get_plan(ctx: click.Context, plan_id: str, **_: Any) -> None:
    """A plan as stored on chain: owner, price, credits config, hooks (plus its REST document as `metadata`
    when NVM_API_KEY is set). `name` is the plan's name from that document (null without it: names are not
    stored on chain)."""
    client = open_client(ctx, account=False)
    plan = with_warnings(lambda: client.plans.get_plan(plan_id))
    name = getattr(plan, "name", "") or None
    show(ctx, {"planId": str(plan.plan_id), "name": name, **dump(plan)})


@command("get-plan-balance")
@click.argument("plan_id")
@click.option("--account-address", help="Holder (default: the account).")
def get_plan_balance(ctx: click.Context, plan_id: str, account_address: str | None, **_: Any) -> None:
    """Credits a holder has in the plan, read from the plan's credits contract (expired credits excluded)."""
    client = open_client(ctx, account=False)
    holder = _account_or(client, account_address, "--account-address")
    show(ctx, dump(with_warnings(lambda: client.plans.get_plan_balance(plan_id, holder))))


@command("get-agents-associated-to-a-plan")
@click.argument("plan_id")
@pagination_options
@click.option("--from-block", type=click.IntRange(min=0), default=None,
              help="First block to scan for agent events [default: the deployment block of the address book; "
                   "0 scans the whole chain].")
def get_agents_associated_to_a_plan(ctx: click.Context, plan_id: str, page: int | None, offset: int | None,
                                    sort_by: str | None, sort_order: str | None, pagination: str | None,
                                    from_block: int | None, **_: Any) -> None:
    """Agents that list the plan now (agent events replayed, each confirmed with AssetsRegistry.getAgent); all of
    them in listing order unless paged. Blocks scanned before are read from the on-disk index."""
    from nvm_chain.protocol.models import parse_id

    client = open_client(ctx, account=False)
    pid = parse_id(plan_id)
    paging = paginate_flags(page, offset, sort_by, sort_order, pagination, default_all=True)
    with progress_bar("scanning agent events", settings(ctx).format) as bar:
        listing = with_warnings(lambda: client.plans.get_agents_associated_to_plan(
            pid, paging, from_block=from_block, progress=bar))
    agents = [dump(a) for a in client.agents.get_agents(listing.agents)]
    rows = [{"agentId": a["agentId"], "owner": a["owner"], "url": a["url"], "plans": len(a["plans"])}
            for a in agents]
    show(ctx, {"planId": str(pid), "total": listing.total, "page": listing.page, "offset": listing.offset,
               "agents": agents}, table=rows)


for _command in (get_plans, get_plan, get_plan_balance, get_agents_associated_to_a_plan,
                 *plans_writes.COMMANDS, *plans_configs.COMMANDS):
    plans.add_command(_command)
