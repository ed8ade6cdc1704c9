"""``nvm-chain plans get-*-config`` and ``set-*``: price and credits configs for --price-config/--credits-config
(CLI layer).

They print the CURRENT API shape as JSON by default (camelCase keys, uint256 as decimal strings): exactly what
``--price-config``/``--credits-config`` read back. Price helpers are fee-inclusive by default: they read the
configured network's fee receiver and rates, and ``--amount`` is the gross price the buyer pays (the Nevermined fee
is split off it as the last receiver), so the plan passes the protocol's fee check. ``--no-fees`` prints
payments-py's raw shape (``amounts=[amount]``, ``receivers=[receiver]``) without touching any network.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from nvm_chain.cli.context import open_client, settings
from nvm_chain.cli.output import say
from nvm_chain.cli.plans_common import UNITS, command, credits_config, dump, show

ZERO = "0x" + "00" * 20

FEES_HELP = ("--fees (default): read the configured network's fee schedule and split the Nevermined fee off "
             "--amount (the gross price). --no-fees: payments-py's raw shape, no network needed.")


def _fees_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--fees/--no-fees", "fees", default=True, show_default=True, help=FEES_HELP)(fn)


def _price(ctx: click.Context, fees: bool, raw: Callable[[], Any], inclusive: Callable[[Any], Any],
           client: Any = None) -> None:
    """Print the raw price (``--no-fees``) or the fee-inclusive one built by the PlansAPI instance method."""
    base = raw()  # validates the input before any network is touched
    if not fees:
        show(ctx, default_format="json", data=dump(base))
        return
    client = client or open_client(ctx, account=False)
    schedule = client.plans.fee_schedule()
    config = inclusive(client.plans)
    if schedule.enabled and len(config.amounts) > len(base.amounts):
        say(f"fee-inclusive for {settings(ctx).network}: the last receiver is the Nevermined fee receiver "
            f"{schedule.fee_receiver} ({config.amounts[-1]} base units); the amounts sum to the gross price. "
            "Use --no-fees for the raw payments-py shape")
    elif not schedule.enabled:
        say(f"{settings(ctx).network} has no fee receiver set: no fee added")
    show(ctx, default_format="json", data=dump(config))


def _raw_configs():
    from nvm_chain.protocol import configs

    return configs


# ---------------------------------------------------------------------------------------------- prices


@command("get-free-price-config")
def get_free_price_config(ctx: click.Context, **_: Any) -> None:
    """A free price (no amounts, no receivers, so no fee). Needs no network."""
    show(ctx, default_format="json", data=dump(_raw_configs().get_free_price_config()))


@command("get-fiat-price-config")
@click.option("--amount", type=UNITS, required=True, help="Gross price in 6-decimal units (2000000 = 2.00).")
@click.option("--receiver", required=True, help="Address that is paid.")
@click.option("--currency", default="USD", show_default=True, help="ISO-4217 code, e.g. USD or EUR.")
@_fees_option
def get_fiat_price_config(ctx: click.Context, amount: int, receiver: str, currency: str, fees: bool, **_: Any) -> None:
    """A fiat (Stripe) price; fee-inclusive with the fiat fee rate unless --no-fees."""
    c = _raw_configs()
    _price(ctx, fees, lambda: c.get_fiat_price_config(amount, receiver, currency),
           lambda plans: plans.get_fiat_price_config(amount, receiver, currency))


@command("get-crypto-price-config")
@click.option("--amount", type=UNITS, required=True, help="Gross price in the token's base units.")
@click.option("--receiver", required=True, help="Address that is paid.")
@click.option("--token-address", default=ZERO, show_default="native token", help="ERC-20 token address.")
@_fees_option
def get_crypto_price_config(ctx: click.Context, amount: int, receiver: str, token_address: str, fees: bool,
                            **_: Any) -> None:
    """A crypto price in an ERC-20 token or (no --token-address) the native token."""
    c = _raw_configs()
    _price(ctx, fees, lambda: c.get_crypto_price_config(amount, receiver, token_address),
           lambda plans: plans.get_crypto_price_config(amount, receiver, token_address))


@command("get-native-token-price-config")
@click.option("--amount", type=UNITS, required=True, help="Gross price in wei.")
@click.option("--receiver", required=True, help="Address that is paid.")
@_fees_option
def get_native_token_price_config(ctx: click.Context, amount: int, receiver: str, fees: bool, **_: Any) -> None:
    """A price in the native token (ETH), in wei."""
    c = _raw_configs()
    _price(ctx, fees, lambda: c.get_native_token_price_config(amount, receiver),
           lambda plans: plans.get_native_token_price_config(amount, receiver))


@command("get-erc20-price-config")
@click.option("--amount", type=UNITS, required=True, help="Gross price in the token's base units.")
@click.option("--receiver", required=True, help="Address that is paid.")
@click.option("--token-address", required=True, help="ERC-20 token address.")
@_fees_option
def get_erc20_price_config(ctx: click.Context, amount: int, receiver: str, token_address: str, fees: bool,
                           **_: Any) -> None:
    """A price in an ERC-20 token."""
    c = _raw_configs()
    _price(ctx, fees, lambda: c.get_erc20_price_config(amount, token_address, receiver),
           lambda plans: plans.get_erc20_price_config(amount, token_address, receiver))


@command("get-eurc-price-config")
@click.option("--amount", type=UNITS, required=True, help="Gross price in EURC base units (6 decimals).")
@click.option("--receiver", required=True, help="Address that is paid.")
@click.option("--eurc-address", default=None, help="EURC token (default: Base mainnet EURC).")
@_fees_option
def get_eurc_price_config(ctx: click.Context, amount: int, receiver: str, eurc_address: str | None, fees: bool,
                          **_: Any) -> None:
    """A price in EURC."""
    c = _raw_configs()
    token = eurc_address or c.EURC_TOKEN_ADDRESS
    _price(ctx, fees, lambda: c.get_eurc_price_config(amount, receiver, token),
           lambda plans: plans.get_eurc_price_config(amount, receiver, token))


@command("get-pay-as-you-go-price-config")
@click.option("--amount", type=UNITS, required=True, help="Gross price per request in the token's base units.")
@click.option("--receiver", required=True, help="Address that is paid.")
@click.option("--token-address", default=ZERO, show_default="native token", help="ERC-20 token address.")
@_fees_option
def get_pay_as_you_go_price_config(ctx: click.Context, amount: int, receiver: str, token_address: str, fees: bool,
                                   **_: Any) -> None:
    """A pay-as-you-go price, paid per request through the network's PayAsYouGoTemplate (read from the address
    book, so even --no-fees needs --network / --address-book)."""
    c = _raw_configs()
    client = open_client(ctx, account=False)
    template = client.book["PayAsYouGoTemplate"]
    _price(ctx, fees, lambda: c.get_pay_as_you_go_price_config(amount, receiver, token_address, template),
           lambda plans: plans.get_pay_as_you_go_price_config(amount, receiver, token_address), client)


# ---------------------------------------------------------------------------------------------- credits


@command("get-fixed-credits-config")
@click.option("--credits-granted", type=UNITS, required=True, help="Credits each purchase grants.")
@click.option("--credits-per-request", type=UNITS, default="1", show_default=True,
              help="Credits every request burns.")
def get_fixed_credits_config(ctx: click.Context, credits_granted: int, credits_per_request: int, **_: Any) -> None:
    """Credits that never expire; each request burns a fixed amount. onchainMirror is true (payments-py: false),
    so orders mint the credits on chain; `set-onchain-mirror --no-onchain-mirror` keeps them in the backend."""
    config = _raw_configs().get_fixed_credits_config(credits_granted, credits_per_request)
    show(ctx, default_format="json", data=dump(config))


@command("get-dynamic-credits-config")
@click.option("--credits-granted", type=UNITS, required=True, help="Credits each purchase grants.")
@click.option("--min-credits-per-request", type=UNITS, default="1", show_default=True)
@click.option("--max-credits-per-request", type=UNITS, default="1", show_default=True)
def get_dynamic_credits_config(ctx: click.Context, credits_granted: int, min_credits_per_request: int,
                               max_credits_per_request: int, **_: Any) -> None:
    """Credits that never expire; a request burns between min and max credits."""
    config = _raw_configs().get_dynamic_credits_config(credits_granted, min_credits_per_request,
                                                       max_credits_per_request)
    show(ctx, default_format="json", data=dump(config))


@command("get-pay-as-you-go-credits-config")
def get_pay_as_you_go_credits_config(ctx: click.Context, **_: Any) -> None:
    """Placeholder credits of a pay-as-you-go plan (nothing is minted upfront)."""
    show(ctx, default_format="json", data=dump(_raw_configs().get_pay_as_you_go_credits_config()))


@command("get-expirable-duration-config")
@click.option("--duration-of-plan", type=UNITS, required=True, help="Seconds of access per purchase.")
def get_expirable_duration_config(ctx: click.Context, duration_of_plan: int, **_: Any) -> None:
    """A time plan: access for --duration-of-plan seconds after each purchase."""
    show(ctx, default_format="json", data=dump(_raw_configs().get_expirable_duration_config(duration_of_plan)))


@command("get-non-expirable-duration-config")
def get_non_expirable_duration_config(ctx: click.Context, **_: Any) -> None:
    """Access that never expires (duration 0)."""
    show(ctx, default_format="json", data=dump(_raw_configs().get_non_expirable_duration_config()))


# ---------------------------------------------------------------------------------------------- modifiers


@command("set-redemption-type")
@click.option("--credits-config", "credits", required=True, help="Inline JSON or a .json file.")
@click.option("--redemption-type", required=True,
              help="0 ONLY_GLOBAL_ROLE, 1 ONLY_OWNER, 2 ONLY_PLAN_ROLE, 3 OWNER_OR_GLOBAL_ROLE, 4 ONLY_SUBSCRIBER "
                   "(number or name).")
def set_redemption_type(ctx: click.Context, credits: str, redemption_type: str, **_: Any) -> None:
    """The credits config with another redemption type (who may burn the subscribers' credits)."""
    config = credits_config(credits)
    changed = _raw_configs().set_redemption_type(config, redemption_type.strip().upper())
    show(ctx, default_format="json", data=dump(changed))


@command("set-onchain-mirror")
@click.option("--credits-config", "credits", required=True, help="Inline JSON or a .json file.")
@click.option("--onchain-mirror/--no-onchain-mirror", default=True, show_default=True,
              help="True: orders mint the credits on chain (what an on-chain client needs).")
def set_onchain_mirror(ctx: click.Context, credits: str, onchain_mirror: bool, **_: Any) -> None:
    """The credits config with onchainMirror set (the field payments-py called proofRequired before PR #176)."""
    config = credits_config(credits)
    show(ctx, default_format="json", data=dump(_raw_configs().set_onchain_mirror(config, onchain_mirror)))


@command("set-proof-required")
@click.option("--credits-config", "credits", required=True, help="Inline JSON or a .json file.")
@click.option("--proof-required/--no-proof-required", default=True, show_default=True)
def set_proof_required(ctx: click.Context, credits: str, proof_required: bool, **_: Any) -> None:
    """Deprecated: the old name of set-onchain-mirror (proofRequired became onchainMirror)."""
    say("note: set-proof-required is deprecated (payments-py renamed proofRequired to onchainMirror): "
        "use set-onchain-mirror [--onchain-mirror/--no-onchain-mirror]")
    config = credits_config(credits)
    show(ctx, default_format="json", data=dump(_raw_configs().set_onchain_mirror(config, proof_required)))


COMMANDS = [
    get_free_price_config, get_fiat_price_config, get_crypto_price_config, get_native_token_price_config,
    get_erc20_price_config, get_eurc_price_config, get_pay_as_you_go_price_config,
    get_fixed_credits_config, get_dynamic_credits_config, get_pay_as_you_go_credits_config,
    get_expirable_duration_config, get_non_expirable_duration_config,
    set_redemption_type, set_onchain_mirror, set_proof_required,
]
