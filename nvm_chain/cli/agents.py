"""``nvm-chain agents``: register agents and manage the plans they list (payments-py ``AgentsAPI`` names).

Thin layer over :class:`nvm_chain.services.agents.AgentsAPI`: parse the flags, call the service, render the result. JSON
inputs (``--agent-metadata``, ``--agent-api``, ``--plan-metadata``, ``--price-config``, ``--credits-config``)
are inline JSON or the path of a ``.json`` file. IDs are printed as decimal strings. Writes go through
:func:`~nvm_chain.cli.context.execute`, so ``--dry-run`` simulates and prints the outcome without signing.

Agent and plan metadata have no on-chain home: they are validated and echoed (credentials in ``--agent-api``
are never printed) but not sent to the chain; ``AssetsRegistry`` stores the owner, one URL and the plan list.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import click

from nvm_chain.cli.context import execute, open_client, settings
from nvm_chain.cli.output import emit, say
from nvm_chain.cli.plans_common import pagination as paginate_flags
from nvm_chain.cli.plans_common import pagination_options
from nvm_chain.cli.settings import global_options

#: credentials of AgentAPIAttributes; validated and passed on, never printed
_SECRET_API_FIELDS = ("password", "token", "apiKey", "headers")


class JsonInput(click.ParamType):
    """Inline JSON (an object) or the path of a file holding it."""

    name = "JSON|FILE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value
        text = value.strip()
        source = "inline JSON"
        if not text.startswith(("{", "[")):
            path = Path(text).expanduser()
            if not path.is_file():
                self.fail(f"{value!r} is neither inline JSON nor an existing .json file", param, ctx)
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                self.fail(f"cannot read {path}: {exc}", param, ctx)
            source = str(path)
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            self.fail(f"{source} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", param, ctx)
        if not isinstance(data, dict):
            self.fail(f"{source} must hold a JSON object, not {type(data).__name__}", param, ctx)
        return data


JSON_INPUT = JsonInput()


def _plan_ids(value: str | None) -> list[str]:
    """``--plans 1,0x2, 3`` → ["1", "0x2", "3"] (each id is parsed by the service; empty → no plans)."""
    if not value:
        return []
    return [part.strip() for part in value.split(",") if part.strip()]


def _tx_fields(tx: Any) -> dict[str, Any]:
    if tx is None:
        return {"txHash": None}
    return {"txHash": tx.tx_hash, "blockNumber": tx.block_number, "gasUsed": tx.gas_used, "events": list(tx.events)}


def _public_api(api: Any) -> dict[str, Any]:
    """The agent API attributes without their credentials."""
    data = api.model_dump(mode="json", by_alias=True, exclude_none=True)
    for key in _SECRET_API_FIELDS:
        if key in data:
            data[key] = "(hidden)"
    return data


def _call_with_warnings(fn):
    """Run ``fn`` and show the library's warnings (e.g. OffchainCreditsWarning) as one stderr line each."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn()
    for w in caught:
        say(f"warning: {w.message}")
    return result


@click.group()
@global_options
def agents(**_) -> None:
    """Register agents and manage the plans they list (AssetsRegistry).

    Writes are signed with --account NAME (a keystore) or NVM_PRIVATE_KEY; --dry-run simulates only.
    """


@agents.command("register-agent")
@click.option("--agent-metadata", "agent_metadata", type=JSON_INPUT, required=True,
              help="AgentMetadata as inline JSON or a .json file ({\"name\": ...}); kept off chain.")
@click.option("--agent-api", "agent_api", type=JSON_INPUT, required=True,
              help="AgentAPIAttributes as inline JSON or a .json file; the first endpoint URL (else "
                   "agentDefinitionUrl) is stored on chain.")
@click.option("--plans", "plans", default="", metavar="ID,ID,...",
              help="Plan ids the agent lists (decimal or 0x-hex, comma-separated).")
@click.option("--seed", default=None, help="32-byte seed fixing the agent id (0x + 64 hex, or a uint256); "
                                           "random by default. It is published on chain.")
@global_options
@click.pass_context
def register_agent(ctx: click.Context, agent_metadata: dict, agent_api: dict, plans: str, seed: str | None,
                   **_) -> None:
    """Register an agent owned by your account, listing --plans."""
    client = open_client(ctx)
    result = execute(ctx, lambda: client.agents.register_agent(agent_metadata, agent_api, _plan_ids(plans),
                                                               seed=seed))
    if result is None:
        return
    emit({"agentId": str(result.agent_id), "url": result.url, "plans": [str(p) for p in result.plans],
          "owner": client.address, **_tx_fields(result.tx),
          "agentMetadata": result.agent_metadata.model_dump(mode="json", by_alias=True, exclude_none=True),
          "agentApi": _public_api(result.agent_api)}, settings(ctx).format)
    say("agent metadata and API attributes are not stored on chain (AssetsRegistry keeps the URL and plans)")


@agents.command("register-agent-and-plan")
@click.option("--agent-metadata", "agent_metadata", type=JSON_INPUT, required=True,
              help="AgentMetadata as inline JSON or a .json file; kept off chain.")
@click.option("--agent-api", "agent_api", type=JSON_INPUT, required=True,
              help="AgentAPIAttributes as inline JSON or a .json file.")
@click.option("--plan-metadata", "plan_metadata", type=JSON_INPUT, required=True,
              help="PlanMetadata as inline JSON or a .json file; kept off chain.")
@click.option("--price-config", "price_config", type=JSON_INPUT, required=True,
              help="PriceConfig (fee-inclusive; see `plans get-*-price-config`) as inline JSON or a .json file.")
@click.option("--credits-config", "credits_config", type=JSON_INPUT, required=True,
              help="CreditsConfig (see `plans get-*-credits-config`) as inline JSON or a .json file.")
@click.option("--access-limit", type=click.Choice(["credits", "time"]), default=None,
              help="Off chain; default: time when durationSecs > 0, else credits.")
@click.option("--seed", default=None, help="32-byte seed fixing both ids (0x + 64 hex, or a uint256); random by "
                                           "default. It is published on chain.")
@global_options
@click.pass_context
def register_agent_and_plan(ctx: click.Context, agent_metadata: dict, agent_api: dict, plan_metadata: dict,
                            price_config: dict, credits_config: dict, access_limit: str | None, seed: str | None,
                            **_) -> None:
    """Create a plan and an agent listing it, in one transaction."""
    client = open_client(ctx)
    result = execute(ctx, lambda: _call_with_warnings(lambda: client.agents.register_agent_and_plan(
        agent_metadata, agent_api, plan_metadata, price_config, credits_config, access_limit=access_limit,
        seed=seed)))
    if result is None:
        return
    emit({"agentId": str(result.agent_id), "planId": str(result.plan_id), "planCreated": result.plan_created,
          "url": result.url, "owner": client.address, "accessLimit": result.access_limit, **_tx_fields(result.tx),
          "priceConfig": result.price_config.model_dump(mode="json", by_alias=True),
          "creditsConfig": result.credits_config.model_dump(mode="json", by_alias=True)}, settings(ctx).format)
    if not result.plan_created:
        say(f"plan {result.plan_id} already existed (same configs, creator and seed) and was reused")


@agents.command("get-agent")
@click.argument("agent_id")
@global_options
@click.pass_context
def get_agent(ctx: click.Context, agent_id: str, **_) -> None:
    """Show an agent's on-chain record: owner, creator, URL, last update, plans."""
    agent = open_client(ctx, account=False).agents.get_agent(agent_id)
    emit(agent.model_dump(mode="json", by_alias=True), settings(ctx).format)


@agents.command("get-agent-plans")
@click.argument("agent_id")
@pagination_options
@global_options
@click.pass_context
def get_agent_plans(ctx: click.Context, agent_id: str, page: int | None, offset: int | None, sort_by: str | None,
                    sort_order: str | None, pagination: str | None, **_) -> None:
    """List the ids of the plans an agent lists (`{total, page, offset, plans}`; all of them in on-chain order
    unless paged)."""
    client = open_client(ctx, account=False)
    paging = paginate_flags(page, offset, sort_by, sort_order, pagination, default_all=True)
    listing = client.agents.get_agent_plans(agent_id, paging)
    plans = [str(p) for p in listing.plans]
    if settings(ctx).format == "json":
        from nvm_chain.protocol.models import parse_id

        emit({"agentId": str(parse_id(agent_id)), "total": listing.total, "page": listing.page,
              "offset": listing.offset, "plans": plans}, "json")
    else:
        emit([{"planId": p} for p in plans], "table")


def _plan_change(ctx: click.Context, method: str, plan_id: str, agent_id: str) -> None:
    client = open_client(ctx)
    result = execute(ctx, lambda: getattr(client.agents, method)(plan_id, agent_id))
    if result is None:
        return
    emit({"agentId": str(result.agent_id), "planId": str(result.plan_id), "changed": result.changed,
          **_tx_fields(result.tx)}, settings(ctx).format)
    if not result.changed:
        say("the agent already lists this plan; nothing was sent")


@agents.command("add-plan-to-agent")
@click.argument("plan_id")
@click.argument("agent_id")
@global_options
@click.pass_context
def add_plan_to_agent(ctx: click.Context, plan_id: str, agent_id: str, **_) -> None:
    """List PLAN_ID on agent AGENT_ID (plan first, as in payments-py). Agent owner only."""
    _plan_change(ctx, "add_plan_to_agent", plan_id, agent_id)


@agents.command("remove-plan-from-agent")
@click.argument("plan_id")
@click.argument("agent_id")
@global_options
@click.pass_context
def remove_plan_from_agent(ctx: click.Context, plan_id: str, agent_id: str, **_) -> None:
    """Remove PLAN_ID from agent AGENT_ID (plan first, as in payments-py). Agent owner only."""
    _plan_change(ctx, "remove_plan_from_agent", plan_id, agent_id)
