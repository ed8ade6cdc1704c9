"""Shared pieces of the ``nvm-chain plans`` commands: the leaf-command decorator, base-unit and JSON inputs,
the refusal of the stale config shapes of the old CLI docs, and rendering (CLI layer).

Library modules are imported inside the functions, so that loading the command group stays cheap.
"""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from nvm_chain.cli.context import settings
from nvm_chain.cli.output import emit, say
from nvm_chain.cli.settings import global_options


def command(name: str, **kwargs: Any) -> Callable[[Callable[..., Any]], click.Command]:
    """A leaf command that takes the global options too (so they also work after the subcommand)."""

    def wrap(fn: Callable[..., Any]) -> click.Command:
        return click.command(name, **kwargs)(global_options(click.pass_context(fn)))

    return wrap


def invalid(message: str) -> Exception:
    """The library's ValidationError (exit code 3: invalid input, nothing signed)."""
    from nvm_chain.errors import ValidationError

    return ValidationError(message)


# ---------------------------------------------------------------------------------------------- base units


class BaseUnits(click.ParamType):
    """A whole number of base units (decimal digits only). A decimal point, an exponent or a sign is refused
    with a ValidationError (exit code 3), not a usage error: the value was understood, and it is wrong."""

    name = "units"

    def __init__(self, hex_ok: bool = False, name: str = "units"):
        self.hex_ok = hex_ok
        self.name = name

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        from nvm_chain.protocol.models import to_uint256

        flag = param.opts[0] if param is not None and param.opts else "value"
        text = str(value).strip()
        if self.hex_ok and text[:2].lower() == "0x":
            return to_uint256(text, flag, hex_ok=True)
        if not (text.isascii() and text.isdigit()):
            hint = ""
            if any(c in text for c in ".eE,"):
                hint = " (no decimal point or exponent: 1.5 of a 6-decimal token is 1500000)"
            raise invalid(f"{flag} must be a whole number of base units{hint}, got {_shown(value)}")
        return to_uint256(text, flag, units=True)


UNITS = BaseUnits()
UINT_OR_HEX = BaseUnits(hex_ok=True, name="integer")


def _shown(value: Any) -> str:
    from nvm_chain.errors import shown

    return shown(value, limit=40)


# ---------------------------------------------------------------------------------------------- JSON inputs


def load_json(value: str, flag: str) -> dict[str, Any]:
    """An inline JSON object, or the JSON object in a file (any path that exists; ``-`` reads stdin), as the
    nvm CLI's ``parseJsonInput``.

    Raises:
        ValidationError: not JSON, not an object, or the file does not exist.
    """
    text = value.strip()
    if text.startswith(("{", "[")):
        raw, source = text, "inline JSON"
    elif text == "-":
        raw, source = sys.stdin.read(), "stdin"
    else:
        path = Path(text).expanduser()
        if not path.is_file():
            raise invalid(f"{flag} must be inline JSON ('{{...}}') or the path of a .json file; "
                          f"no such file: {_shown(text)}")
        try:
            raw, source = path.read_text(), str(path)
        except (OSError, UnicodeDecodeError) as exc:
            raise invalid(f"{flag}: cannot read {path}: {exc}") from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise invalid(f"{flag}: {source} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise invalid(f"{flag} must be a JSON object, got a {type(data).__name__} ({source})")
    return data


#: fields of the price/credits shapes of the old CLI docs (docs/rest.md#stale-cli-shapes) → what to use instead
STALE_PRICE = {
    "price": "use 'amounts' (list of base units) and 'receivers'",
    "amountOfCredits": "the credits a purchase grants go in the credits config ('amount', see --credits-config)",
}
STALE_CREDITS = {
    "subscriptionType": "credits vs time follows 'durationSecs' (0: credits that never expire, > 0: a time plan)",
    "accessType": "use 'durationSecs' (credits vs time) and 'redemptionType' (who may redeem: 0, 1, 2, 3 or 4)",
    "minCreditsToCharge": "use 'minAmount'",
    "maxCreditsToCharge": "use 'maxAmount'",
    "duration": "use 'durationSecs' (seconds; 0 = never expires)",
}
PRICE_SHAPE = ("tokenAddress, amounts, receivers, contractAddress, feeController, externalPriceAddress, "
               "templateAddress, isCrypto, currency")
CREDITS_SHAPE = ("isRedemptionAmountFixed, redemptionType, onchainMirror, durationSecs, amount, minAmount, "
                 "maxAmount, nftAddress")


def _refuse_stale(data: dict[str, Any], stale: dict[str, str], what: str, shape: str, helper: str) -> None:
    old = [key for key in stale if key in data]
    if not old:
        return
    fields = ", ".join(f"'{key}'" for key in old)
    fixes = "; ".join(f"'{key}': {stale[key]}" if len(old) > 1 else stale[key] for key in old)
    raise invalid(f"{what} field{'s' if len(old) > 1 else ''} {fields} {'are' if len(old) > 1 else 'is'} from the "
                  f"old docs: {fixes}. The current shape is {{{shape}}}; `nvm-chain plans {helper}` prints one")


def price_config(value: str, flag: str = "--price-config") -> Any:
    """A PriceConfig from inline JSON or a file; the stale shape of the old docs is refused by field name.

    Raises:
        ValidationError: stale or malformed config.
    """
    from nvm_chain.protocol.models import PriceConfig

    data = load_json(value, flag)
    _refuse_stale(data, STALE_PRICE, "price config", PRICE_SHAPE, "get-erc20-price-config")
    if "redemptionType" in data or "durationSecs" in data:
        raise invalid(f"{flag} holds a credits config (it has redemptionType/durationSecs): "
                      "pass it to --credits-config")
    return PriceConfig.model_validate(data)


def credits_config(value: str, flag: str = "--credits-config") -> Any:
    """A CreditsConfig from inline JSON or a file; the stale shape of the old docs is refused by field name.

    Raises:
        ValidationError: stale or malformed config.
    """
    from nvm_chain.protocol.models import CreditsConfig

    data = load_json(value, flag)
    _refuse_stale(data, STALE_CREDITS, "credits config", CREDITS_SHAPE, "get-fixed-credits-config")
    if "amounts" in data or "receivers" in data:
        raise invalid(f"{flag} holds a price config (it has amounts/receivers): pass it to --price-config")
    return CreditsConfig.model_validate(data)


# ---------------------------------------------------------------------------------------------- rendering


def dump(model: Any) -> Any:
    """The JSON shape of a result model: camelCase where the model has aliases, uint256 as decimal strings."""
    return model.model_dump(mode="json", by_alias=True)


def flat(data: Any, prefix: str = "") -> dict[str, Any]:
    """Nested mappings flattened to dotted keys (for a two-column table)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flat(value, name + "."))
        else:
            out[name] = value
    return out


def show(ctx: click.Context, data: Any, *, table: Any = None, columns: list[str] | None = None,
         default_format: str = "table") -> None:
    """Print ``data`` as JSON (--format json), else ``table`` (default: ``data`` flattened) as a table;
    without --format, ``default_format`` decides."""
    fmt = settings(ctx).format or default_format
    if fmt == "json":
        emit(data, "json")
    elif table is not None:
        emit(table, "table", columns=columns)
    else:
        emit(flat(data) if isinstance(data, dict) else data, "table", columns=columns)


def with_warnings(action: Callable[[], Any]) -> Any:
    """Run ``action``; the library's user warnings (e.g. off-chain credits) are printed on stderr, one line each."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        result = action()
    for warning in caught:
        if issubclass(warning.category, UserWarning):
            say(f"warning: {warning.message}")
    return result


def token_unit(token: str) -> str:
    """How a spend in ``token`` is named in the confirmation prompt."""
    from nvm_chain.protocol.models import ZERO

    return "wei (native token)" if token == ZERO else f"base units of token {token}"


def pagination_options(f: Any) -> Any:
    """payments-py's pagination flags: --page, --offset, --sort-by, --sort-order, or all at once as --pagination."""
    options = [
        click.option("--pagination", help='Pagination as JSON, e.g. \'{"page": 1, "offset": 10}\' (payments-py '
                                          "PaginationOptions; overrides the other flags)."),
        click.option("--sort-order", type=click.Choice(["asc", "desc"]), default=None,
                     help="desc (the default with paging) lists the newest first."),
        click.option("--sort-by", type=click.Choice(["created", "id"]), default=None,
                     help="created (registration or listing order, the default) or id."),
        click.option("--offset", type=click.IntRange(min=1, max=1000), default=None, help="Items per page."),
        click.option("--page", type=click.IntRange(min=1), default=None, help="Page number, from 1."),
    ]
    for option in options:
        f = option(f)
    return f


def pagination(page: int | None, offset: int | None, sort_by: str | None, sort_order: str | None,
                pagination: str | None, default_all: bool = False) -> dict[str, Any] | None:
    """The pagination the flags ask for; None (every item, natural order) when none is given and
    ``default_all``, else payments-py's defaults (page 1 of 10, newest first) for the unset ones."""
    if pagination is not None:
        return load_json(pagination, "--pagination")
    given = {k: v for k, v in (("page", page), ("offset", offset), ("sort_by", sort_by), ("sort_order", sort_order))
             if v is not None}
    if not given and default_all:
        return None
    return given
