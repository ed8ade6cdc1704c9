"""``nvm-chain plans`` writes: register, order, mint, burn, redeem, burner permissions (CLI layer).

Every transaction goes through ``execute`` (so --dry-run simulates and sends nothing); every order is confirmed
with ``confirm_spend`` (--yes, --max-amount) for the plan's total × purchases before anything is signed.
"""

from __future__ import annotations

from typing import Any

import click

from nvm_chain.cli.context import confirm, confirm_spend, execute, open_client, settings
from nvm_chain.cli.output import say
from nvm_chain.cli.plans_common import (
    UINT_OR_HEX,
    UNITS,
    command,
    credits_config,
    dump,
    flat,
    load_json,
    price_config,
    show,
    token_unit,
    with_warnings,
)

JSON_INPUT = "Inline JSON or the path of a .json file."


def _tx_table(data: dict[str, Any]) -> dict[str, Any]:
    """A result's table view: flat fields, the transaction reduced to its hash, block and gas."""
    out = flat({k: v for k, v in data.items() if k not in ("tx", "approveTx")})
    if data.get("approveTx"):
        out["approveTxHash"] = data["approveTx"]["txHash"]
    tx = data["tx"]
    out.update(txHash=tx["txHash"], blockNumber=tx["blockNumber"], gasUsed=tx["gasUsed"])
    return out


def _show_result(ctx: click.Context, result: Any) -> None:
    if result is None:  # --dry-run: execute() printed the simulated transaction
        return
    data = dump(result)
    show(ctx, data, table=_tx_table(data))


# ---------------------------------------------------------------------------------------------- registration


def _registration(name: str, method: str, doc: str, *, access_limit: bool = False,
                  credits_required: bool = True) -> click.Command:
    def register(ctx: click.Context, plan_metadata: str | None, price_config_: str, credits_config_: str | None,
                 nonce: int | None, access_limit: str | None = None, **_: Any) -> None:
        metadata = None if plan_metadata is None else load_json(plan_metadata, "--plan-metadata")
        price = price_config(price_config_)
        credits = None if credits_config_ is None else credits_config(credits_config_)
        client = open_client(ctx)
        plans = client.plans
        extra = {"access_limit": access_limit} if access_limit is not None else {}
        result = with_warnings(lambda: execute(
            ctx, lambda: getattr(plans, method)(metadata, price, credits, nonce=nonce, **extra)))
        if metadata is not None:
            say("note: plan metadata is not stored on chain; it is echoed in the result only")
        _show_result(ctx, result)

    register.__doc__ = doc
    params = [
        click.Option(["--plan-metadata"], help="Plan metadata, e.g. '{\"name\": \"Basic\"}'. Not stored on chain "
                                               "(off-chain data); checked and echoed. " + JSON_INPUT),
        click.Option(["--price-config", "price_config_"], required=True,
                     help="Current API shape (see get-*-price-config). " + JSON_INPUT),
        click.Option(["--credits-config", "credits_config_"], required=credits_required,
                     help=("Current API shape (see get-*-credits-config). " + JSON_INPUT +
                           ("" if credits_required else " Default: get-pay-as-you-go-credits-config."))),
        click.Option(["--nonce"], type=UINT_OR_HEX, help="Fixes the plan id (default: random 128 bits)."),
    ]
    if access_limit:
        params.append(click.Option(["--access-limit"], type=click.Choice(["credits", "time"]),
                                   help="Default: time when durationSecs > 0, else credits. Not stored on chain."))
    cmd = command(name, help=doc)(register)
    cmd.params[:0] = params
    return cmd


register_plan = _registration(
    "register-plan", "register_plan",
    "Register a plan on chain (AssetsRegistry.createPlan); the account becomes its owner. Prints the plan id.",
    access_limit=True)
register_credits_plan = _registration(
    "register-credits-plan", "register_credits_plan",
    "Register a credits plan: credits that never expire (durationSecs 0).")
register_time_plan = _registration(
    "register-time-plan", "register_time_plan",
    "Register a time plan: access that expires durationSecs after each order.")
register_credits_trial_plan = _registration(
    "register-credits-trial-plan", "register_credits_trial_plan",
    "Register a credits plan each account may order only once (OneTimeCreatorHook).")
register_time_trial_plan = _registration(
    "register-time-trial-plan", "register_time_trial_plan",
    "Register a time plan each account may order only once (OneTimeCreatorHook).")
register_pay_as_you_go_plan = _registration(
    "register-pay-as-you-go-plan", "register_pay_as_you_go_plan",
    "Register a pay-as-you-go plan (PayAsYouGoTemplate): each request is paid with order-pay-as-you-go-plan.",
    credits_required=False)


# ---------------------------------------------------------------------------------------------- orders


def _order(ctx: click.Context, plan_id: str, template: str | None, n: int, allow_offchain_credits: bool = False
           ) -> tuple[Any, Any]:
    """The client and the orderable plan, after the spend (plan total × n) is confirmed."""
    client = open_client(ctx)
    plan, total = client.plans.order_quote(plan_id, n, template, allow_offchain_credits=allow_offchain_credits)
    what = f"order of plan {plan.plan_id}" + (f" x{n}" if n > 1 else "")
    confirm_spend(ctx, what, total, token_unit(plan.price.token_address))
    return client, plan


@command("order-plan")
@click.argument("plan_id")
@click.option("--number-of-purchases", type=UNITS, default="1", show_default=True)
@click.option("--credits-receiver", help="Who gets the credits (default: the buyer).")
@click.option("--allow-offchain-credits", is_flag=True,
              help="Order a plan whose credits are kept off chain (onchainMirror false) without NVM_API_KEY: the "
                   "payment is taken and no credits appear on chain.")
def order_plan(ctx: click.Context, plan_id: str, number_of_purchases: int, credits_receiver: str | None,
               allow_offchain_credits: bool, **_: Any) -> None:
    """Buy a crypto plan (FixedPaymentTemplate.order) with the account's funds; a pay-as-you-go plan pays one
    request (PayAsYouGoTemplate.order) instead, as payments-py does.

    Spends the plan's price × --number-of-purchases (confirm with --yes when stdin is not a terminal; refused
    over --max-amount). ERC-20 plans approve PaymentsVault for exactly the missing allowance first. A plan whose
    credits are kept off chain is refused before signing unless NVM_API_KEY is set (the backend keeps that
    ledger) or --allow-offchain-credits is given.
    """
    client, plan = _order(ctx, plan_id, None, number_of_purchases, allow_offchain_credits)
    result = execute(ctx, lambda: client.plans.order_plan(plan.plan_id, number_of_purchases, credits_receiver,
                                                          allow_offchain_credits=allow_offchain_credits))
    _show_result(ctx, result)


@command("order-pay-as-you-go-plan")
@click.argument("plan_id")
def order_pay_as_you_go_plan(ctx: click.Context, plan_id: str, **_: Any) -> None:
    """Pay one request of a pay-as-you-go plan (PayAsYouGoTemplate.order); no credits are minted."""
    client, plan = _order(ctx, plan_id, "PayAsYouGoTemplate", 1)
    _show_result(ctx, execute(ctx, lambda: client.plans.order_pay_as_you_go_plan(plan.plan_id)))


@command("order-fiat-plan")
@click.argument("plan_id")
def order_fiat_plan(ctx: click.Context, plan_id: str, **_: Any) -> None:
    """Start a Stripe checkout for a fiat plan, through the Nevermined REST API (needs NVM_API_KEY).

    Prints the checkout URL; the backend grants the credits after the payment. Nothing happens on chain here.
    """
    from nvm_chain.errors import ConfigurationError
    from nvm_chain.protocol.models import format_id, parse_id

    pid = format_id(parse_id(plan_id))
    client = open_client(ctx, account=False)
    if client.rest is None:
        raise ConfigurationError("order-fiat-plan goes through the Nevermined REST API (Stripe checkout): set "
                                 "NVM_API_KEY to your Nevermined API key (it is never taken from a flag)")
    if settings(ctx).dry_run:
        show(ctx, {"dryRun": True, "wouldPost": "/api/v1/fiat/stripe/payment", "planId": pid})
        say("dry run: no checkout was created")
        return
    checkout = client.rest.order_fiat_plan(pid)
    data = {"planId": pid, **checkout.model_dump(mode="json", by_alias=True, exclude={"raw"})}
    show(ctx, data)
    say("open the checkout URL to pay; the credits arrive after the payment (granted by the backend)")


# ---------------------------------------------------------------------------------------------- credits


@command("mint-plan-credits")
@click.argument("plan_id")
@click.option("--credits-amount", type=UNITS, required=True)
@click.option("--credits-receiver", required=True)
def mint_plan_credits(ctx: click.Context, plan_id: str, credits_amount: int, credits_receiver: str,
                      **_: Any) -> None:
    """Mint credits of the plan (the plan owner or a CREDITS_MINTER_ROLE holder)."""
    client = open_client(ctx)
    _show_result(ctx, execute(ctx, lambda: client.plans.mint_plan_credits(plan_id, credits_amount,
                                                                          credits_receiver)))


@command("mint-plan-expirable")
@click.argument("plan_id")
@click.option("--credits-amount", type=UNITS, required=True)
@click.option("--credits-receiver", required=True)
@click.option("--credits-duration", type=UNITS, default="0", show_default=True,
              help="Seconds until the credits expire (0: never).")
def mint_plan_expirable(ctx: click.Context, plan_id: str, credits_amount: int, credits_receiver: str,
                        credits_duration: int, **_: Any) -> None:
    """Mint expiring credits of a plan kept in an expirable credits contract (time plans)."""
    client = open_client(ctx)
    _show_result(ctx, execute(ctx, lambda: client.plans.mint_plan_expirable(plan_id, credits_amount,
                                                                            credits_receiver, credits_duration)))


def _burn_preview(ctx: click.Context, client: Any, plan_id: str, credits_amount: int, strict: bool) -> dict[str, Any]:
    """Show what the contract will burn before signing; refuse under --strict, confirm otherwise, when it differs
    from the request. Returns the facts for the --dry-run output."""
    from nvm_chain.errors import ClampedAmountError
    from nvm_chain.protocol.models import parse_id

    requested, will_burn = client.plans.burn_quote(plan_id, credits_amount)
    facts = {"requested": str(requested), "willBurn": str(will_burn)}
    if requested != will_burn:
        if strict:
            raise ClampedAmountError(parse_id(plan_id), requested, will_burn)
        say(f"note: {requested} credits requested, but the contract will burn {will_burn} (the plan's amount per "
            "request); --strict refuses this")
        confirm(ctx, f"burn {will_burn} credits instead of {requested}")
    return facts


@command("redeem-credits")
@click.argument("plan_or_request_id", metavar="PLAN_ID | AGENT_REQUEST_ID")
@click.option("--plan-id", help="The plan (payments-py's syntax; the argument is then the agent request id, "
                                "which only tags requests in the backend and is not used on chain).")
@click.option("--redeem-from", required=True, help="Holder whose credits are burned.")
@click.option("--credits-amount", "--credits-amount-to-redeem", "credits_amount", type=UNITS, required=True)
@click.option("--strict", is_flag=True, help="Refuse when the contract would burn another amount than requested.")
def redeem_credits(ctx: click.Context, plan_or_request_id: str, plan_id: str | None, redeem_from: str,
                   credits_amount: int, strict: bool, **_: Any) -> None:
    """Burn a holder's credits as the account (an agent or the plan owner), on chain.

    Either `redeem-credits PLAN_ID --redeem-from A --credits-amount N` or payments-py's `redeem-credits
    AGENT_REQUEST_ID --plan-id P --redeem-from A --credits-amount-to-redeem N`. The plan's redemption rule is
    checked first with reads; a refusal sends nothing. When the contract would burn another amount than
    requested (a fixed amount per request, or outside [min, max]) both are shown first and confirmed.
    """
    plan = plan_id if plan_id is not None else plan_or_request_id
    client = open_client(ctx)
    facts = _burn_preview(ctx, client, plan, credits_amount, strict)
    _show_result(ctx, execute(ctx, lambda: client.plans.redeem_credits(plan, redeem_from, credits_amount),
                              extra=facts))


@command("burn-credits")
@click.argument("plan_id")
@click.option("--credits-amount", type=UNITS, required=True)
@click.option("--strict", is_flag=True, help="Refuse when the contract would burn another amount than requested.")
def burn_credits(ctx: click.Context, plan_id: str, credits_amount: int, strict: bool, **_: Any) -> None:
    """Burn the account's own credits of the plan (what the contract will burn is shown first when it differs
    from the request)."""
    client = open_client(ctx)
    facts = _burn_preview(ctx, client, plan_id, credits_amount, strict)
    _show_result(ctx, execute(ctx, lambda: client.plans.burn_credits(plan_id, credits_amount), extra=facts))


def _burner_command(name: str, method: str, doc: str) -> click.Command:
    def change(ctx: click.Context, plan_id: str, burner: str, **_: Any) -> None:
        client = open_client(ctx)
        _show_result(ctx, execute(ctx, lambda: getattr(client.plans, method)(plan_id, burner)))

    cmd = command(name, help=doc)(change)
    cmd.params[:0] = [click.Argument(["plan_id"]),
                      click.Option(["--burner"], required=True, help="Address (e.g. the agent) to allow or revoke.")]
    return cmd


allow_burner = _burner_command(
    "allow-burner", "allow_burner",
    "Let an address redeem anyone's credits of your plan (allowBurn; for ONLY_PLAN_ROLE plans).")
revoke_burner = _burner_command("revoke-burner", "revoke_burner", "Withdraw a permission given with allow-burner.")


COMMANDS = [
    register_plan, register_credits_plan, register_time_plan, register_credits_trial_plan, register_time_trial_plan,
    register_pay_as_you_go_plan, order_plan, order_pay_as_you_go_plan, order_fiat_plan, mint_plan_credits,
    mint_plan_expirable, redeem_credits, burn_credits, allow_burner, revoke_burner,
]
